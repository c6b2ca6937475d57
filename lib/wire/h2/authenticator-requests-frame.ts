import { DecodeError, UsageError } from '../../errors.js'
import { decodeVarint, encodeVarint, varintSize } from '../varint.js'

const STRUCTURE = 'AUTHENTICATOR_REQUESTS'

/**
 * Payload of the AUTHENTICATOR_REQUESTS frame (CLIENT -00 §4.1.1, §4.1.3):
 *   AUTHENTICATOR_REQUESTS Frame {
 *     Length (24), Type (8) = 0xTBD, Unused Flags (8), Reserved (1), Stream Identifier (31),
 *     Authenticator Request (..) ...,
 *   }
 *   Authenticator Request {
 *     Length (i),
 *     ClientCertificateRequest (..),
 *   }
 * `Length (i)` is a QUIC variable-length integer (RFC 9000 §16). The frame carries one or more
 * requests; an empty payload is malformed (CLIENT -00 §4.1.1).
 *
 * Each request is returned as opaque bytes (a view into `payload`, no copy); decoding the TLS
 * handshake message inside is `wire/tls/certificate-request.ts`'s job. A zero-length entry is
 * rejected here because no TLS handshake message is empty (it always has a 4-byte header).
 *
 * @returns the requests in wire order (at least one).
 * @throws DecodeError (`ERR_SC_DECODE`, structure `AUTHENTICATOR_REQUESTS`) on an empty
 *   payload, a truncated varint, a length running past the payload, or a zero-length entry.
 */
export function decodeAuthenticatorRequests(payload: Uint8Array): Uint8Array[] {
  if (payload.length === 0) throw new DecodeError(STRUCTURE, 0, 'empty payload: at least one request is required')
  const out: Uint8Array[] = []
  let offset = 0
  while (offset < payload.length) {
    const { value: length, size } = decodeVarint(payload, offset, STRUCTURE)
    if (length === 0) throw new DecodeError(STRUCTURE, offset, 'zero-length authenticator request')
    const start = offset + size
    if (length > payload.length - start) {
      throw new DecodeError(
        STRUCTURE,
        offset,
        `request length ${length} runs past the payload (${payload.length - start} bytes left)`,
      )
    }
    out.push(payload.subarray(start, start + length))
    offset = start + length
  }
  return out
}

/**
 * Encodes the AUTHENTICATOR_REQUESTS payload: each request prefixed by its shortest QUIC varint
 * length (CLIENT -00 §4.1.3). The frame header is added by `encodeExtensionFrame`.
 * @throws UsageError (`ERR_SC_USAGE`) for an empty list or an empty request.
 */
export function encodeAuthenticatorRequests(requests: readonly Uint8Array[]): Uint8Array {
  if (requests.length === 0) throw new UsageError('AUTHENTICATOR_REQUESTS needs at least one request')
  let total = 0
  for (const r of requests) {
    if (r.length === 0) throw new UsageError('an authenticator request cannot be empty')
    total += varintSize(r.length) + r.length
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const r of requests) {
    const prefix = encodeVarint(r.length)
    out.set(prefix, offset)
    offset += prefix.length
    out.set(r, offset)
    offset += r.length
  }
  return out
}

/** Size of the payload `encodeAuthenticatorRequests` would produce (for frame-size checks). */
export function authenticatorRequestsSize(requests: readonly Uint8Array[]): number {
  let total = 0
  for (const r of requests) total += varintSize(r.length) + r.length
  return total
}
