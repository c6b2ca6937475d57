import { DecodeError } from '../../errors.js'
import { HandshakeType, splitHandshakeMessages } from './handshake.js'
import { decodeCertificate } from './certificate.js'
import { decodeCertificateRequest } from './certificate-request.js'
import { decodeCertificateVerify } from './certificate-verify.js'
import { decodeFinished } from './finished.js'
import type { Certificate, CertificateEntry } from './certificate.js'
import type { Extension } from './extensions.js'
import { scanExtensions, u16at } from './extensions.js'
import type { CertificateVerify } from './certificate-verify.js'
import type { Finished } from './finished.js'

/**
 * RFC 9261 §5.2: an authenticator is `Certificate || CertificateVerify || Finished`, or, to
 * decline a request, a lone `Finished` (the empty authenticator, §5.2.4). Raw message bytes are
 * kept because the transcript hashes them exactly as received.
 */
export type Authenticator =
  | {
      readonly kind: 'full'
      readonly certificate: Certificate
      readonly certificateVerify: CertificateVerify
      readonly finished: Finished
      readonly rawCertificate: Uint8Array
      readonly rawCertificateVerify: Uint8Array
      readonly rawFinished: Uint8Array
    }
  | { readonly kind: 'empty'; readonly finished: Finished; readonly rawFinished: Uint8Array }

const STRUCTURE = 'Authenticator'

/**
 * Splits and decodes an authenticator. Exactly `[Finished]` or `[Certificate, CertificateVerify,
 * Finished]` is accepted (validator checklist item 4).
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function decodeAuthenticator(bytes: Uint8Array): Authenticator {
  const s = scanWellFormed(bytes)
  if (s === undefined) return decodeAuthenticatorReference(bytes)
  if (s.kind === 'empty') return { kind: 'empty', finished: { verifyData: s.verifyData }, rawFinished: bytes }
  return {
    kind: 'full',
    certificate: { context: s.context, entries: s.entries },
    certificateVerify: { algorithm: s.algorithm, signature: bytes.subarray(s.certificateEnd + 8, s.verifyEnd) },
    finished: { verifyData: bytes.subarray(s.verifyEnd + 4) },
    rawCertificate: bytes.subarray(0, s.certificateEnd),
    rawCertificateVerify: bytes.subarray(s.certificateEnd, s.verifyEnd),
    rawFinished: bytes.subarray(s.verifyEnd),
  }
}

/**
 * What the validator needs of an authenticator: the decoded fields and the message boundaries as
 * offsets (RFC 9261 §5.2: Certificate at 0, CertificateVerify at `certificateEnd`, Finished at
 * `verifyEnd`), without views of the raw messages. Of a full authenticator the signature is
 * `bytes[certificateEnd + 8, verifyEnd)` and the Finished verify_data `bytes[verifyEnd + 4, end)`
 * (the validator reads both from its transcript copy). Internal to the RFC 9261 layer.
 */
export type AuthenticatorScan =
  | {
      readonly kind: 'full'
      readonly context: Uint8Array
      readonly entries: readonly CertificateEntry[]
      readonly algorithm: number
      readonly certificateEnd: number
      readonly verifyEnd: number
    }
  | { readonly kind: 'empty'; readonly verifyData: Uint8Array }

/**
 * {@link decodeAuthenticator} for the validator: the same checks and errors, a lighter result.
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function scanAuthenticator(bytes: Uint8Array): AuthenticatorScan {
  const s = scanWellFormed(bytes)
  if (s !== undefined) return s
  const a = decodeAuthenticatorReference(bytes)
  if (a.kind === 'empty') return { kind: 'empty', verifyData: a.finished.verifyData }
  return {
    kind: 'full',
    context: a.certificate.context,
    entries: a.certificate.entries,
    algorithm: a.certificateVerify.algorithm,
    certificateEnd: a.rawCertificate.length,
    verifyEnd: a.rawCertificate.length + a.rawCertificateVerify.length,
  }
}

const NO_ENTRY_EXTENSIONS: readonly Extension[] = Object.freeze([])

const u24at = (b: Uint8Array, at: number): number => (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!

/**
 * The number of CertificateEntry items in `b[at, end)` from their length fields (RFC 8446
 * §4.4.2: cert_data<1..2^24-1>, extensions<0..2^16-1>), or -1 when a length runs past `end`.
 * The caller checks every field again as it reads the entries.
 */
function countEntries(b: Uint8Array, at: number, end: number): number {
  let n = 0
  while (at < end) {
    if (end - at < 3) return -1
    at += 3 + u24at(b, at)
    if (end - at < 2) return -1
    at += 2 + u16at(b, at)
    n++
  }
  return at === end ? n : -1
}

/**
 * Decode of a well-formed authenticator, building only the result objects; undefined
 * at the first anomaly of any kind, so that {@link decodeAuthenticatorReference} runs and reports
 * the precise error. Both give identical results for every input that this one accepts
 * (spec/wire/tls/fast-decoders.spec.ts checks it on random and mutated inputs).
 */
function scanWellFormed(b: Uint8Array): AuthenticatorScan | undefined {
  const n = b.length
  if (n < 4) return undefined
  const t0 = b[0]
  const len0 = u24at(b, 1)
  if (4 + len0 > n) return undefined
  if (t0 === HandshakeType.finished) {
    if (4 + len0 !== n) return undefined
    return { kind: 'empty', verifyData: b.subarray(4, n) }
  }
  if (t0 !== HandshakeType.certificate) return undefined
  // Certificate: context<0..255>, certificate_list<0..2^24-1> filling the body exactly.
  const certEnd = 4 + len0
  let at = 4
  if (at >= certEnd) return undefined
  const ctxLen = b[at]!
  at += 1
  if (ctxLen > certEnd - at) return undefined
  const context = b.subarray(at, at + ctxLen)
  at += ctxLen
  if (certEnd - at < 3) return undefined
  const listLen = u24at(b, at)
  at += 3
  if (listLen !== certEnd - at) return undefined
  // Entries are counted first (lengths only) so the list is allocated at its size: a pushed-to
  // empty array grows a 16-slot store, ≈ 110 bytes of garbage more per authenticator.
  const count = countEntries(b, at, certEnd)
  if (count < 0) return undefined
  const entries = new Array<CertificateEntry>(count)
  let k = 0
  while (at < certEnd) {
    if (certEnd - at < 3) return undefined
    const dl = u24at(b, at)
    at += 3
    if (dl === 0 || dl > certEnd - at) return undefined
    const certData = b.subarray(at, at + dl)
    at += dl
    if (certEnd - at < 2) return undefined
    const el = u16at(b, at)
    at += 2
    if (el > certEnd - at) return undefined
    // Most entries carry no extensions: one shared frozen list instead of an array per entry.
    const extensions = el === 0 ? NO_ENTRY_EXTENSIONS : scanExtensions(b, at, at + el)
    if (extensions === undefined) return undefined
    at += el
    entries[k++] = { certData, extensions }
  }
  // CertificateVerify: algorithm(2), signature<0..2^16-1> filling the body exactly.
  if (n - certEnd < 4 || b[certEnd] !== HandshakeType.certificate_verify) return undefined
  const cvLen = u24at(b, certEnd + 1)
  const cvEnd = certEnd + 4 + cvLen
  if (cvEnd > n || cvLen < 4) return undefined
  const algorithm = u16at(b, certEnd + 4)
  const sigLen = u16at(b, certEnd + 6)
  if (sigLen !== cvLen - 4) return undefined
  // Finished: the rest, exactly one message.
  if (n - cvEnd < 4 || b[cvEnd] !== HandshakeType.finished) return undefined
  if (cvEnd + 4 + u24at(b, cvEnd + 1) !== n) return undefined
  return {
    kind: 'full',
    context,
    entries,
    algorithm,
    certificateEnd: certEnd,
    verifyEnd: cvEnd,
  }
}

/**
 * The reference decoder: message by message through the bounds-checked readers, with the
 * structure and absolute offset of the first problem in the DecodeError.
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function decodeAuthenticatorReference(bytes: Uint8Array): Authenticator {
  const msgs = splitHandshakeMessages(bytes, STRUCTURE)
  const types = msgs.map((m) => m.type)
  const rebase = (e: unknown, base: number): never => {
    if (e instanceof DecodeError) throw new DecodeError(e.structure, e.offset + base, e.detail, { cause: e })
    throw e
  }
  const decode = <T>(fn: (b: Uint8Array) => T, raw: Uint8Array, base: number): T => {
    try {
      return fn(raw)
    } catch (e) {
      return rebase(e, base)
    }
  }
  if (msgs.length === 1 && types[0] === HandshakeType.finished) {
    const f = msgs[0]!
    return { kind: 'empty', finished: decode(decodeFinished, f.raw, f.offset), rawFinished: f.raw }
  }
  if (
    msgs.length === 3 &&
    types[0] === HandshakeType.certificate &&
    types[1] === HandshakeType.certificate_verify &&
    types[2] === HandshakeType.finished
  ) {
    const [c, v, f] = msgs as [typeof msgs[0] & object, typeof msgs[0] & object, typeof msgs[0] & object]
    return {
      kind: 'full',
      certificate: decode(decodeCertificate, c.raw, c.offset),
      certificateVerify: decode(decodeCertificateVerify, v.raw, v.offset),
      finished: decode(decodeFinished, f.raw, f.offset),
      rawCertificate: c.raw,
      rawCertificateVerify: v.raw,
      rawFinished: f.raw,
    }
  }
  throw new DecodeError(STRUCTURE, 0, `unexpected message sequence [${types.join(', ')}]`)
}

/**
 * RFC 9261 §7.2 `get context`: the certificate_request_context of a request or a full
 * authenticator; null for an empty authenticator, which carries none.
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function authenticatorContext(bytes: Uint8Array): Uint8Array | null {
  const t = bytes[0]
  if (t === HandshakeType.certificate_request || t === HandshakeType.client_certificate_request) {
    return decodeCertificateRequest(bytes).context
  }
  const a = decodeAuthenticator(bytes)
  return a.kind === 'full' ? a.certificate.context : null
}
