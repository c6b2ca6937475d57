/**
 * What a proxy does to header fields on the way through, as pure functions (no sockets): drop
 * hop-by-hop fields (RFC 9110 §7.6.1), append a Forwarded element (RFC 7239 §4), remove every
 * incoming copy of the identity fields and write our own (RFC 9440 §2 and the identity-forwarding
 * digest's Decision), and keep HTTP/2's connection-specific rule for responses (RFC 9113 §8.2.2).
 */
import { DEFAULT_HEADER_NAMES } from './config.js'
import type { HeaderNames } from './config.js'
import {
  serializeByteSequence,
  serializeByteSequenceList,
  serializeDictionary,
  serializeInnerList,
} from './structured-fields.js'

/**
 * RFC 9110 §7.6.1: Connection and the fields it lists, plus Proxy-Connection, Keep-Alive, TE,
 * Transfer-Encoding and Upgrade. `http2-settings` is HTTP/1.1's h2c upgrade field (RFC 7540 §3.2),
 * also per hop. `expect` is answered here (Node sends 100 Continue), not forwarded.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
])

/** Field names a Connection header lists (RFC 9110 §7.6.1: those are per hop too). */
function connectionListed(values: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const v of values) for (const t of v.split(',')) if (t.trim()) out.add(t.trim().toLowerCase())
  return out
}

/** RFC 7239 §4: a value is a token or a quoted-string. */
function forwardedValue(v: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`
}

/** What the Forwarded element says about this hop. */
export interface ForwardedHop {
  /** Client address (IPv6 gets brackets and quotes, RFC 7239 §6). */
  readonly for?: string | undefined
  /** The gateway's own address or an obfuscated name (RFC 7239 §6.3 `_name`). */
  readonly by?: string | undefined
  readonly host?: string | undefined
  readonly proto: 'https' | 'http'
}

/** RFC 7239 §4 forwarded-element, e.g. `for=127.0.0.1;proto=https;host=example.com`. */
export function forwardedElement(hop: ForwardedHop): string {
  const node = (a: string): string => (a.includes(':') && !a.startsWith('[') && !a.startsWith('_') ? `[${a}]` : a)
  const parts: string[] = []
  if (hop.by) parts.push(`by=${forwardedValue(node(hop.by))}`)
  if (hop.for) parts.push(`for=${forwardedValue(node(hop.for))}`)
  if (hop.host) parts.push(`host=${forwardedValue(hop.host)}`)
  parts.push(`proto=${hop.proto}`)
  return parts.join(';')
}

/** An identity to forward: its label and chain as presented (leaf first). */
export interface ForwardedIdentity {
  readonly label: string
  readonly chain: readonly Uint8Array[]
}

/**
 * Lower-cased names of every identity field, removed from what clients send: the configured names
 * and the defaults too (a backend that still reads a default name must not see a client's copy).
 */
export function identityFieldNames(names: HeaderNames): ReadonlySet<string> {
  let set = fieldNameSets.get(names)
  if (!set) {
    set = new Set([...Object.values(names), ...Object.values(DEFAULT_HEADER_NAMES)].map((n) => n.toLowerCase()))
    fieldNameSets.set(names, set)
  }
  return set
}

/** One set per resolved HeaderNames object (it is built per request otherwise). */
const fieldNameSets = new WeakMap<HeaderNames, ReadonlySet<string>>()

/** Inputs of {@link upstreamRequestHeaders}. */
export interface UpstreamHeaderInput {
  /** The client's fields as name/value pairs (Node's rawHeaders pairs), pseudo-headers included. */
  readonly raw: readonly string[]
  /** The request's authority (`:authority`, or Host for HTTP/1.1). */
  readonly authority: string | undefined
  readonly hop: ForwardedHop
  readonly names: HeaderNames
  /** Secondary identities the route's policy accepted (never others). */
  readonly identities: readonly ForwardedIdentity[]
  /** The TLS handshake client certificate chain when the policy accepted it (RFC 9440). */
  readonly handshake?: readonly Uint8Array[] | undefined
  /** Extra fields to add last (e.g. the signed assertion). */
  readonly extra?: readonly (readonly [string, string])[]
}

/**
 * Request fields for the upstream as a flat [name, value, ...] list: pseudo-headers, hop-by-hop
 * fields and every incoming identity field removed (a client can never inject an identity), Host
 * set from the authority, cookies joined for HTTP/1.1 (RFC 9113 §8.2.3), Forwarded appended
 * (RFC 7239 §4: "appended to the list"), then the identity fields the gateway vouches for.
 */
export function upstreamRequestHeaders(i: UpstreamHeaderInput): string[] {
  const identityNames = identityFieldNames(i.names)
  const connection: string[] = []
  for (let k = 0; k < i.raw.length; k += 2) if (i.raw[k]!.toLowerCase() === 'connection') connection.push(i.raw[k + 1]!)
  const listed = connectionListed(connection)
  const out: string[] = []
  const cookies: string[] = []
  const forwarded: string[] = []
  for (let k = 0; k < i.raw.length; k += 2) {
    const name = i.raw[k]!.toLowerCase()
    const value = i.raw[k + 1]!
    if (name.startsWith(':') || name === 'host') continue
    if (HOP_BY_HOP.has(name) || listed.has(name) || identityNames.has(name)) continue
    if (name === 'cookie') cookies.push(value)
    else if (name === 'forwarded') forwarded.push(value)
    else out.push(name, value)
  }
  if (i.authority) out.push('host', i.authority)
  if (cookies.length > 0) out.push('cookie', cookies.join('; '))
  forwarded.push(forwardedElement(i.hop))
  out.push('forwarded', forwarded.join(', '))
  out.push(...identityFields(i.identities, i.handshake, i.names))
  for (const [n, v] of i.extra ?? []) out.push(n.toLowerCase(), v)
  return out
}

/**
 * Serialized members per chain: an identity's chain array lives as long as its connection and
 * is sent with every request on it, so it is base64-encoded once.
 */
const serialized = new WeakMap<readonly Uint8Array[], { leaf: string; rest: string }>()

function serializedChain(chain: readonly Uint8Array[]): { leaf: string; rest: string } {
  let v = serialized.get(chain)
  if (!v) {
    v = { leaf: serializeByteSequence(chain[0]!), rest: serializeInnerList(chain.slice(1)) }
    serialized.set(chain, v)
  }
  return v
}

/**
 * The identity fields: `Secondary-Client-Cert` (Dictionary label → leaf DER) and
 * `Secondary-Client-Cert-Chain` (label → Inner List of the rest of the chain, TLS order), and RFC
 * 9440's `Client-Cert` (Byte Sequence) / `Client-Cert-Chain` (List) for the handshake
 * certificate. Labels were checked as sf-keys at configuration time.
 */
export function identityFields(
  identities: readonly ForwardedIdentity[],
  handshake: readonly Uint8Array[] | undefined,
  names: HeaderNames,
): string[] {
  const out: string[] = []
  if (identities.length > 0) {
    const s = identities.map((x) => serializedChain(x.chain))
    out.push(names.secondaryClientCert.toLowerCase(), serializeDictionary(identities.map((x, i) => [x.label, s[i]!.leaf])))
    out.push(names.secondaryClientCertChain.toLowerCase(), serializeDictionary(identities.map((x, i) => [x.label, s[i]!.rest])))
  }
  if (handshake && handshake.length > 0) {
    out.push(names.clientCert.toLowerCase(), serializeByteSequence(handshake[0]!))
    if (handshake.length > 1) out.push(names.clientCertChain.toLowerCase(), serializeByteSequenceList(handshake.slice(1)))
  }
  return out
}

/**
 * Response fields for the client: hop-by-hop fields and those the upstream's Connection lists
 * removed (RFC 9110 §7.6.1; on HTTP/2 they are malformed, RFC 9113 §8.2.2).
 */
export function clientResponseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const conn = h['connection']
  const listed = connectionListed(conn === undefined ? [] : Array.isArray(conn) ? conn : [conn])
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined) continue
    const n = name.toLowerCase()
    if (n.startsWith(':') || HOP_BY_HOP.has(n) || listed.has(n)) continue
    out[n] = value
  }
  return out
}
