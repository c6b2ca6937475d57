/**
 * Valid inputs the fuzzer mutates, built fresh on every run from a test PKI and real
 * ExportedAuthenticators objects (RFC 9261 §7) over a deterministic stand-in exporter:
 * CertificateRequests (types 13 and 17, CLIENT -00 §4.1.3), AUTHENTICATOR_REQUESTS payloads
 * (CLIENT -00 §4.1.1), full and empty authenticators (RFC 9261 §5.2), spontaneous server
 * authenticators (SERVER -02 §3.2) and whole HTTP/2 byte streams with extension frames
 * (RFC 9113 §4.1). Each seed carries its length-field and varint offsets for the smart mutators.
 */
import { createHmac } from 'node:crypto'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import type { Codepoints } from '../../lib/config.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import type { Credential } from '../../lib/ea/authenticators.js'
import type { AuthenticatorHash, Exporter } from '../../lib/ea/exporter.js'
import { createTestPki } from '../../lib/pki/test-pki.js'
import type { PkiKeyType, TestPki } from '../../lib/pki/test-pki.js'
import { purposeRequest } from '../../lib/cli/roles.js'
import type { IdentityRequest } from '../../lib/binding/attach-server.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { encodeExtensionFrame } from '../../lib/wire/h2/certificate-frame.js'
import { CLIENT_PREFACE } from '../../lib/wire/h2/frame-header.js'
import type { LengthField, Seed } from './mutators.js'

/** A deterministic exporter stand-in: both ends of one "connection" share `secret`. */
export function seededExporter(secret: string): Exporter {
  return (label, context, length) => {
    const out = Buffer.alloc(length)
    let block: Buffer = Buffer.alloc(0)
    for (let i = 0, at = 0; at < length; i++) {
      block = createHmac('sha256', secret).update(block).update(label).update(context).update(Uint8Array.of(i)).digest()
      block.copy(out, at)
      at += block.length
    }
    return out
  }
}

function u(b: Uint8Array, o: number, w: number): number {
  let v = 0
  for (let i = 0; i < w; i++) v = v * 256 + (b[o + i] ?? 0)
  return v
}

/** Length fields of a sequence of TLS handshake messages starting at `base` (RFC 8446 §4). */
export function handshakeLengths(b: Uint8Array, base = 0, end = b.length): LengthField[] {
  const out: LengthField[] = []
  let o = base
  while (o + 4 <= end) {
    const type = b[o]!
    const len = u(b, o + 1, 3)
    out.push({ offset: o + 1, width: 3 })
    const body = o + 4
    const stop = Math.min(end, body + len)
    if (type === 13 || type === 17) {
      // context<0..255>, extensions<2..2^16-1>; each extension type(2) len(2) data, whose body
      // usually starts with a u16 vector length (RFC 8446 §4.2).
      const ctx = b[body] ?? 0
      out.push({ offset: body, width: 1 })
      let e = body + 1 + ctx
      out.push({ offset: e, width: 2 })
      e += 2
      while (e + 4 <= stop) {
        const dl = u(b, e + 2, 2)
        out.push({ offset: e + 2, width: 2 })
        if (dl >= 2) out.push({ offset: e + 4, width: 2 })
        e += 4 + dl
      }
    } else if (type === 11) {
      const ctx = b[body] ?? 0
      out.push({ offset: body, width: 1 })
      let e = body + 1 + ctx
      out.push({ offset: e, width: 3 })
      e += 3
      while (e + 3 <= stop) {
        const cl = u(b, e, 3)
        out.push({ offset: e, width: 3 })
        e += 3 + cl
        if (e + 2 > stop) break
        out.push({ offset: e, width: 2 })
        e += 2 + u(b, e, 2)
      }
    } else if (type === 15) {
      out.push({ offset: body + 2, width: 2 })
    }
    o = body + len
  }
  return out
}

/** Varint offsets and nested length fields of an AUTHENTICATOR_REQUESTS payload. */
function requestListHints(b: Uint8Array, base = 0, end = b.length): { lengths: LengthField[]; varints: number[] } {
  const lengths: LengthField[] = []
  const varints: number[] = []
  let o = base
  while (o < end) {
    const size = 1 << ((b[o] ?? 0) >> 6)
    let v = (b[o] ?? 0) & 0x3f
    for (let i = 1; i < size; i++) v = v * 256 + (b[o + i] ?? 0)
    varints.push(o)
    lengths.push(...handshakeLengths(b, o + size, Math.min(end, o + size + v)))
    o += size + v
  }
  return { lengths, varints }
}

/** Hints for a stream of HTTP/2 frames (optionally after the client preface). */
function frameStreamHints(b: Uint8Array, cp: Codepoints, preface: boolean): { lengths: LengthField[]; varints: number[] } {
  const lengths: LengthField[] = []
  const varints: number[] = []
  let o = preface ? CLIENT_PREFACE.length : 0
  while (o + 9 <= b.length) {
    const len = u(b, o, 3)
    const type = b[o + 3]!
    lengths.push({ offset: o, width: 3 })
    const p = o + 9
    if (type === cp.frameAuthenticatorRequests) {
      const h = requestListHints(b, p, p + len)
      lengths.push(...h.lengths)
      varints.push(...h.varints)
    } else if (type === cp.frameClientCertificate || type === cp.frameServerCertificate) {
      lengths.push(...handshakeLengths(b, p, p + len))
    }
    o = p + len
  }
  return { lengths, varints }
}

function seed(name: string, bytes: Uint8Array, lengths: LengthField[] = [], varints: number[] = []): Seed {
  return { name, bytes, lengths, varints }
}

function frame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeExtensionFrame(type, payload, streamId, flags)
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

/** RFC 9113 §6.5.1 SETTINGS payload. */
function settingsPayload(entries: readonly (readonly [number, number])[]): Uint8Array {
  const out = Buffer.alloc(entries.length * 6)
  entries.forEach(([id, v], i) => {
    out.writeUInt16BE(id, i * 6)
    out.writeUInt32BE(v >>> 0, i * 6 + 2)
  })
  return Uint8Array.from(out)
}

/** HPACK block of `GET /` on localhost (RFC 7541 static indices, literal :authority). */
const GET_BLOCK = Uint8Array.from([0x82, 0x87, 0x84, 0x01, 0x09, ...Buffer.from('localhost')])

/** One simulated connection: both ends' RFC 9261 objects sharing an exporter, and their material. */
export interface Pair {
  readonly label: string
  readonly hash: AuthenticatorHash
  readonly exporter: Exporter
  /** Server-side object: validates client answers to `request`. */
  readonly server: ExportedAuthenticators
  /** Client-side object that built the answers (and validates spontaneous server ones). */
  readonly client: ExportedAuthenticators
  /** Requests the server sent (type 13), bytes as sent. */
  readonly requests: readonly Uint8Array[]
  /** Client answers to `requests[i]`: full and empty authenticators. */
  readonly answers: readonly { readonly request: Uint8Array; readonly bytes: Uint8Array; readonly kind: 'full' | 'empty' }[]
  /** Spontaneous server authenticators (validated by a client with no request). */
  readonly spontaneous: readonly Uint8Array[]
  /** Client-made (type 17) requests. */
  readonly clientRequests: readonly Uint8Array[]
  readonly credentials: readonly Credential[]
}

/** All seeds, by family. */
export interface Corpus {
  readonly codepoints: Codepoints
  readonly pairs: readonly Pair[]
  readonly requests: readonly Seed[]
  readonly requestLists: readonly Seed[]
  readonly authenticators: readonly Seed[]
  /** Client byte streams (preface first) and server byte streams. */
  readonly clientStreams: readonly Seed[]
  readonly serverStreams: readonly Seed[]
  /** Single frames with headers. */
  readonly frames: readonly Seed[]
}

function strip(r: IdentityRequest): Omit<IdentityRequest, 'label'> {
  const { label: _label, ...rest } = r
  return rest
}

function credentialOf(pki: TestPki, which: 'user' | 'device' | 'origin2'): Credential {
  const c = pki[which]
  return { chain: c.chainDer, key: nodeCrypto.importPrivateKey(c.keyPem) }
}

async function buildPair(keyType: PkiKeyType, hash: AuthenticatorHash, pki: TestPki): Promise<Pair> {
  const label = `${keyType}-${hash}`
  const exporter = seededExporter(`fuzz-${label}`)
  const server = new ExportedAuthenticators({ role: 'server', exporter, hash })
  const client = new ExportedAuthenticators({ role: 'client', exporter, hash })
  const user = credentialOf(pki, 'user')
  const device = credentialOf(pki, 'device')
  const origin2 = credentialOf(pki, 'origin2')
  const requests = [
    server.request(),
    server.request(strip(purposeRequest('user', pki.caPem))),
    server.request(strip(purposeRequest('device', pki.caPem))),
    server.request({ statusRequest: true, signedCertificateTimestamp: true, signatureAlgorithmsCert: [0x0403, 0x0804] }),
  ]
  const clientRequests = [
    client.request(),
    client.request({ serverName: 'other.localhost', ...strip(purposeRequest('device', pki.caPem)) }),
  ]
  const answers: { request: Uint8Array; bytes: Uint8Array; kind: 'full' | 'empty' }[] = [
    { request: requests[0]!, bytes: client.authenticate({ request: requests[0]!, credential: user }), kind: 'full' },
    { request: requests[1]!, bytes: client.authenticate({ request: requests[1]!, credential: user }), kind: 'full' },
    { request: requests[2]!, bytes: client.authenticate({ request: requests[2]!, credential: device }), kind: 'full' },
    { request: requests[3]!, bytes: client.authenticate({ request: requests[3]! }), kind: 'empty' },
  ]
  const spontaneous = [server.authenticate({ credential: origin2 })]
  // Sanity: every answer validates, so "no mutation validates" tests something. A fresh server
  // object is used for the check so the fuzzing object's context registry stays clean.
  const check = new ExportedAuthenticators({ role: 'server', exporter, hash })
  const checkClient = new ExportedAuthenticators({ role: 'client', exporter, hash })
  for (const a of answers) {
    const v = check.validate(a.bytes, { request: a.request })
    if (v.kind !== (a.kind === 'full' ? 'identity' : 'declined')) throw new Error(`corpus self-check failed for ${label}: ${v.kind}`)
  }
  for (const s of spontaneous) {
    if (checkClient.validate(s).kind !== 'identity') throw new Error(`corpus self-check failed for ${label} spontaneous`)
  }
  return { label, hash, exporter, server, client, requests, answers, spontaneous, clientRequests, credentials: [user, device] }
}

/** Builds the corpus (a second or so: two test PKIs). */
export async function buildCorpus(codepoints: Codepoints = DEFAULT_CODEPOINTS): Promise<Corpus> {
  const cp = codepoints
  const p256 = await createTestPki({ keyType: 'p256' })
  const ed = await createTestPki({ keyType: 'ed25519' })
  const pairs = [
    await buildPair('p256', 'sha256', p256),
    await buildPair('p256', 'sha384', p256),
    await buildPair('ed25519', 'sha256', ed),
  ]
  const requests: Seed[] = []
  const requestLists: Seed[] = []
  const authenticators: Seed[] = []
  const frames: Seed[] = []
  const clientStreams: Seed[] = []
  const serverStreams: Seed[] = []
  for (const p of pairs) {
    for (const [i, r] of [...p.requests, ...p.clientRequests].entries()) requests.push(seed(`${p.label}/request-${i}`, r, handshakeLengths(r)))
    const lists = [[p.requests[0]!], [p.requests[1]!, p.requests[2]!], [...p.requests]]
    for (const [i, l] of lists.entries()) {
      const payload = encodeAuthenticatorRequests(l)
      const h = requestListHints(payload)
      requestLists.push(seed(`${p.label}/requests-${i}`, payload, h.lengths, h.varints))
      const f = frame(cp.frameAuthenticatorRequests, 0, 0, payload)
      const fh = frameStreamHints(f, cp, false)
      frames.push(seed(`${p.label}/frame-requests-${i}`, f, fh.lengths, fh.varints))
    }
    for (const [i, a] of p.answers.entries()) {
      authenticators.push(seed(`${p.label}/answer-${i}-${a.kind}`, a.bytes, handshakeLengths(a.bytes)))
      const f = frame(cp.frameClientCertificate, 0, 0, a.bytes)
      frames.push(seed(`${p.label}/frame-answer-${i}`, f, frameStreamHints(f, cp, false).lengths))
    }
    for (const [i, s] of p.spontaneous.entries()) {
      authenticators.push(seed(`${p.label}/spontaneous-${i}`, s, handshakeLengths(s)))
      const f = frame(cp.frameServerCertificate, 0, 0, s)
      frames.push(seed(`${p.label}/frame-server-certificate-${i}`, f, frameStreamHints(f, cp, false).lengths))
    }
    // A client's inbound-to-server stream: preface, SETTINGS (both extension settings, N=2),
    // SETTINGS ACK, a GET, an answer, a PING, a header block split over CONTINUATION with an
    // extension frame after it, DATA, WINDOW_UPDATE.
    const settings = settingsPayload([
      [cp.settingClientCertAuth, 2],
      [cp.settingServerCertAuth, 1],
      [0x5, 0x10400],
    ])
    const client = cat(
      CLIENT_PREFACE,
      frame(0x4, 0, 0, settings),
      frame(0x4, 0x1, 0, new Uint8Array(0)),
      frame(0x1, 0x5, 1, GET_BLOCK),
      frame(cp.frameClientCertificate, 0, 0, p.answers[0]!.bytes),
      frame(0x6, 0, 0, new Uint8Array(8)),
      frame(0x1, 0x1, 3, GET_BLOCK.subarray(0, 3)),
      frame(0x9, 0x4, 3, GET_BLOCK.subarray(3)),
      frame(cp.frameClientCertificate, 0, 0, p.answers[3]!.bytes),
      frame(0x0, 0x1, 5, Uint8Array.from(Buffer.from('hello'))),
      frame(0x8, 0, 0, Uint8Array.of(0, 0, 0x10, 0)),
    )
    const ch = frameStreamHints(client, cp, true)
    clientStreams.push(seed(`${p.label}/client-stream`, client, ch.lengths, ch.varints))
    const server = cat(
      frame(0x4, 0, 0, settings),
      frame(cp.frameServerCertificate, 0, 0, p.spontaneous[0]!),
      frame(cp.frameAuthenticatorRequests, 0, 0, encodeAuthenticatorRequests([p.requests[1]!, p.requests[2]!])),
      frame(0x1, 0x4, 1, Uint8Array.of(0x88)),
      frame(0x0, 0x1, 1, Uint8Array.from(Buffer.from('ok'))),
      frame(0x7, 0, 0, Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0)),
    )
    const sh = frameStreamHints(server, cp, false)
    serverStreams.push(seed(`${p.label}/server-stream`, server, sh.lengths, sh.varints))
  }
  return { codepoints: cp, pairs, requests, requestLists, authenticators, clientStreams, serverStreams, frames }
}
