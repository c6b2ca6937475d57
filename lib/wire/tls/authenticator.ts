import { DecodeError } from '../../errors.js'
import { HandshakeType, splitHandshakeMessages } from './handshake.js'
import { decodeCertificate } from './certificate.js'
import { decodeCertificateRequest } from './certificate-request.js'
import { decodeCertificateVerify } from './certificate-verify.js'
import { decodeFinished } from './finished.js'
import type { Certificate } from './certificate.js'
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
