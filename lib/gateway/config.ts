/**
 * Gateway configuration: routes (path prefix → upstream, per-route needs, public routes), header
 * names and limits, from programmatic options or a JSON file. Everything is checked here, once, so
 * a bad label or upstream is a start-up error (`ERR_SC_USAGE`) and never a per-request surprise.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { UsageError } from '../errors.js'
import { createCertificatePolicy } from '../policy/certificate-policy.js'
import type { CertificatePolicyFn } from '../policy/certificate-policy.js'
import { encodeOid, encodeTlv } from '../policy/der.js'
import type { IdentityNeed, IdentityRequirement } from '../binding/require-identities.js'
import type { OidFilter } from '../wire/tls/extensions.js'
import { assertSfKey } from './structured-fields.js'

/** Names of the request header fields the gateway writes (and always removes from clients). */
export interface HeaderNames {
  /** RFC 8941 Dictionary label → Byte Sequence of the leaf DER. Default `Secondary-Client-Cert`. */
  readonly secondaryClientCert: string
  /** Dictionary label → Inner List of intermediates (TLS order). Default `Secondary-Client-Cert-Chain`. */
  readonly secondaryClientCertChain: string
  /** RFC 9440 §2.2 handshake client certificate. Default `Client-Cert`. */
  readonly clientCert: string
  /** RFC 9440 §2.3 handshake chain. Default `Client-Cert-Chain`. */
  readonly clientCertChain: string
  /** Signed identity assertion (compact JWS). Default `Secondary-Identity-Assertion`. */
  readonly assertion: string
}

export const DEFAULT_HEADER_NAMES: HeaderNames = Object.freeze({
  secondaryClientCert: 'Secondary-Client-Cert',
  secondaryClientCertChain: 'Secondary-Client-Cert-Chain',
  clientCert: 'Client-Cert',
  clientCertChain: 'Client-Cert-Chain',
  assertion: 'Secondary-Identity-Assertion',
})

/** Timeouts and sizes. */
export interface GatewayLimits {
  /** Time to wait for the upstream's response headers (then 504). Default 30 s. */
  readonly upstreamHeadersTimeoutMs: number
  /** Longest silence inside the upstream's response body (then the stream is reset). Default 30 s. */
  readonly upstreamBodyTimeoutMs: number
  /** TCP/TLS connect timeout to the upstream (then 504). Default 5 s. */
  readonly upstreamConnectTimeoutMs: number
  /** HTTP/1.1 keep-alive connections per upstream origin. Default 64. */
  readonly upstreamConnections: number
  /** How long a request is held while the client is asked for identities. Default 10 s. */
  readonly identityTimeoutMs: number
  /** SIGTERM / close(): how long in-flight requests may take before connections are cut. Default 10 s. */
  readonly drainTimeoutMs: number
}

export const DEFAULT_LIMITS: GatewayLimits = Object.freeze({
  upstreamHeadersTimeoutMs: 30000,
  upstreamBodyTimeoutMs: 30000,
  upstreamConnectTimeoutMs: 5000,
  upstreamConnections: 64,
  identityTimeoutMs: 10000,
  drainTimeoutMs: 10000,
})

/** One identity a route needs, as configuration gives it (strings, file names). */
export interface NeedConfig {
  /** Dictionary key in the forwarded headers, so it must be an RFC 8941 sf-key. */
  readonly label: string
  readonly purpose?: 'device' | 'user' | 'any'
  /** Regular expression the end-entity subject must match (Node's one-RDN-per-line text). */
  readonly subject?: string
  /** Regular expression some issuer of the validated path must match. */
  readonly issuer?: string
  /** CA certificates (PEM text, or file names in a config file) to name in certificate_authorities. */
  readonly anchors?: readonly string[]
  /** oid_filters: extension OID → OIDs its value lists (e.g. EKU `2.5.29.37` → [clientAuth]). */
  readonly oidFilters?: Readonly<Record<string, readonly string[]>>
}

/** One route as configuration gives it. */
export interface RouteConfig {
  /** Path prefix ('/api' matches '/api', '/api/x', '/api?q', not '/apix'). Default '/'. */
  readonly prefix?: string
  /** `http://host:port[/base]`, `https://…` or `h2c://host:port[/base]`. */
  readonly upstream: string
  /** Served to every client, no identities asked for or forwarded. */
  readonly public?: boolean
  /** Needs: labels (`device`, `user`) or full need objects. Empty or absent with `public`: none. */
  readonly require?: readonly (string | NeedConfig)[]
  /** EKU preset for this route. Default: the gateway's. */
  readonly policy?: 'frank' | 'rfc5280'
  /** Trust anchors for this route's identities (PEM text, or file names in a file). Default: the gateway's. */
  readonly anchors?: readonly string[]
  /** Remove the prefix before forwarding. Default false. */
  readonly stripPrefix?: boolean
  /** CA certificates (PEM) for an https:// upstream. Default: Node's bundled roots. */
  readonly upstreamCa?: string
}

/** What a JSON config file holds. */
export interface GatewayFileConfig {
  readonly routes?: readonly RouteConfig[]
  readonly headers?: Partial<HeaderNames>
  readonly limits?: Partial<GatewayLimits>
  readonly policy?: 'frank' | 'rfc5280'
}

export type UpstreamKind = 'http' | 'https' | 'h2c'

/** A route ready to serve. */
export interface ResolvedRoute {
  readonly prefix: string
  readonly upstream: { readonly kind: UpstreamKind; readonly origin: string; readonly basePath: string }
  /** undefined: a public route. */
  readonly requirement: IdentityRequirement | undefined
  readonly policy: CertificatePolicyFn
  readonly stripPrefix: boolean
  readonly upstreamCa: string | undefined
  /** Labels of the needs, in order (for logs). */
  readonly labels: readonly string[]
}

function regex(s: string | undefined, where: string): RegExp | undefined {
  if (s === undefined) return undefined
  try {
    return new RegExp(s)
  } catch (e) {
    throw new UsageError(`${where}: not a regular expression: ${s}`, { cause: e })
  }
}

/** RFC 8446 §4.2.5 OIDFilter for an extension whose value is a SEQUENCE OF OBJECT IDENTIFIER. */
function oidFilter(oid: string, values: readonly string[], where: string): OidFilter {
  try {
    return {
      oid: encodeOid(oid),
      values: encodeTlv(0x30, concat(values.map((v) => encodeTlv(0x06, encodeOid(v))))),
    }
  } catch (e) {
    throw new UsageError(`${where}: bad OID in oidFilters`, { cause: e })
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * Parses an upstream URL. `h2c://` means HTTP/2 with prior knowledge over cleartext TCP.
 * @throws UsageError (`ERR_SC_USAGE`) for anything else
 */
export function parseUpstream(s: string): ResolvedRoute['upstream'] {
  let u: URL
  try {
    u = new URL(s)
  } catch (e) {
    throw new UsageError(`upstream is not a URL: ${s}`, { cause: e })
  }
  const kind = u.protocol === 'http:' ? 'http' : u.protocol === 'https:' ? 'https' : u.protocol === 'h2c:' ? 'h2c' : undefined
  if (!kind) throw new UsageError(`upstream must be http://, https:// or h2c://, got ${s}`)
  if (u.search || u.hash || u.username || u.password) throw new UsageError(`upstream must be scheme://host:port[/path], got ${s}`)
  const port = u.port || (kind === 'https' ? '443' : '80')
  const origin = `${kind === 'https' ? 'https' : 'http'}://${u.hostname}:${port}`
  return { kind, origin, basePath: u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '') }
}

function normPrefix(p: string | undefined, where: string): string {
  const prefix = p ?? '/'
  if (!prefix.startsWith('/')) throw new UsageError(`${where}: prefix must start with '/', got '${prefix}'`)
  return prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix
}

/** Everything `resolveRoutes` needs besides the routes. */
export interface RouteDefaults {
  /** Anchors (PEM) for identities when a route names none. */
  readonly anchors: readonly string[]
  readonly policy: 'frank' | 'rfc5280'
  readonly identityTimeoutMs: number
  /** Reads a file named in a config file (anchors): default: none allowed (PEM text expected). */
  readonly readFile?: (name: string) => string
}

function pemOrFile(v: string, readFile: ((name: string) => string) | undefined, where: string): string {
  if (v.includes('-----BEGIN')) return v
  if (!readFile) throw new UsageError(`${where}: expected PEM text`)
  return readFile(v)
}

/**
 * Checks and resolves routes, longest prefix first.
 * @throws UsageError (`ERR_SC_USAGE`) for a label that is not an sf-key, a duplicate label or
 *   prefix, a bad upstream, regex or OID, a protected route without anchors
 */
export function resolveRoutes(routes: readonly RouteConfig[], d: RouteDefaults): ResolvedRoute[] {
  if (routes.length === 0) throw new UsageError('no routes: give --upstream or a config file with routes')
  const seen = new Set<string>()
  const policies = new Map<string, CertificatePolicyFn>()
  const out = routes.map((r, i): ResolvedRoute => {
    const where = `route ${i + 1}`
    const prefix = normPrefix(r.prefix, where)
    if (seen.has(prefix)) throw new UsageError(`${where}: duplicate prefix ${prefix}`)
    seen.add(prefix)
    if (typeof r.upstream !== 'string') throw new UsageError(`${where}: upstream missing`)
    const upstream = parseUpstream(r.upstream)
    const anchors = (r.anchors ?? d.anchors).map((a) => pemOrFile(a, d.readFile, where))
    const preset = r.policy ?? d.policy
    if (preset !== 'frank' && preset !== 'rfc5280') throw new UsageError(`${where}: policy must be frank or rfc5280`)
    const key = `${preset}\0${anchors.join('\0')}`
    let policy = policies.get(key)
    if (!policy) {
      policy = anchors.length > 0
        ? createCertificatePolicy({ anchors, preset })
        : async (_identity, purpose) => ({ accept: false, reason: 'no-path', detail: 'no trust anchors configured', purpose }) as never
      policies.set(key, policy)
    }
    const needs: IdentityNeed[] = []
    if (!r.public) {
      for (const n of r.require ?? []) {
        const c: NeedConfig = typeof n === 'string' ? { label: n } : n
        if (!c || typeof c.label !== 'string') throw new UsageError(`${where}: every need has a label`)
        assertSfKey(c.label, where)
        if (needs.some((x) => x.label === c.label)) throw new UsageError(`${where}: duplicate label ${c.label}`)
        if (c.purpose !== undefined && !['device', 'user', 'any'].includes(c.purpose)) {
          throw new UsageError(`${where}: purpose must be device, user or any`)
        }
        const subject = regex(c.subject, where)
        const issuer = regex(c.issuer, where)
        const oidFilters = c.oidFilters
          ? Object.entries(c.oidFilters).map(([oid, values]) => oidFilter(oid, values, where))
          : undefined
        needs.push({
          label: c.label,
          ...(c.purpose ? { purpose: c.purpose } : {}),
          ...(subject ? { subject } : {}),
          ...(issuer ? { issuer } : {}),
          ...(c.anchors ? { requestAnchors: c.anchors.map((a) => pemOrFile(a, d.readFile, where)) } : {}),
          ...(oidFilters ? { oidFilters } : {}),
        })
      }
      if (needs.length > 0 && anchors.length === 0) throw new UsageError(`${where}: a protected route needs trust anchors (--ca)`)
    }
    const requirement: IdentityRequirement | undefined =
      needs.length > 0 ? { needs, policy, requestAnchors: anchors, timeoutMs: d.identityTimeoutMs } : undefined
    return {
      prefix,
      upstream,
      requirement,
      policy,
      stripPrefix: r.stripPrefix ?? false,
      upstreamCa: r.upstreamCa !== undefined ? pemOrFile(r.upstreamCa, d.readFile, where) : undefined,
      labels: needs.map((n) => n.label),
    }
  })
  return out.sort((a, b) => b.prefix.length - a.prefix.length)
}

/** The route for a request path (longest matching prefix), or undefined. */
export function matchRoute(routes: readonly ResolvedRoute[], path: string): ResolvedRoute | undefined {
  const q = path.indexOf('?')
  const p = q >= 0 ? path.slice(0, q) : path
  return routes.find((r) => r.prefix === '/' || p === r.prefix || p.startsWith(r.prefix + '/'))
}

/**
 * Header names, checked: RFC 9110 §5.1 tokens, distinct; lower-cased for comparisons.
 * @throws UsageError (`ERR_SC_USAGE`)
 */
export function resolveHeaderNames(h: Partial<HeaderNames> | undefined): HeaderNames {
  const names = { ...DEFAULT_HEADER_NAMES, ...(h ?? {}) }
  const vals = Object.values(names).map((v) => String(v).toLowerCase())
  for (const v of vals) {
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(v)) throw new UsageError(`header name is not a token: ${v}`)
  }
  if (new Set(vals).size !== vals.length) throw new UsageError('header names must be distinct')
  return names
}

/** Limits with defaults, checked positive. */
export function resolveLimits(l: Partial<GatewayLimits> | undefined): GatewayLimits {
  const out = { ...DEFAULT_LIMITS, ...(l ?? {}) }
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`limit ${k} must be a positive number`)
  }
  return out
}

/**
 * Reads a JSON config file; file names inside it (anchors, upstreamCa, need anchors) are relative
 * to the file.
 * @throws UsageError (`ERR_SC_USAGE`) when unreadable or not the expected shape
 */
export function loadConfigFile(path: string): { config: GatewayFileConfig; readFile: (name: string) => string } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read config ${path}`, { cause: e })
  }
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`config ${path} is not JSON`, { cause: e })
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new UsageError(`config ${path} must be an object`)
  const c = config as GatewayFileConfig
  if (c.routes !== undefined && !Array.isArray(c.routes)) throw new UsageError(`config ${path}: routes must be a list`)
  const base = dirname(resolve(path))
  return {
    config: c,
    readFile: (name) => {
      try {
        return readFileSync(resolve(base, name), 'utf8')
      } catch (e) {
        throw new UsageError(`cannot read ${name} named in ${path}`, { cause: e })
      }
    },
  }
}
