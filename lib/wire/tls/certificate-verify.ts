import { ByteWriter } from '../byte-writer.js'
import { HandshakeType, openHandshake } from './handshake.js'

/**
 * RFC 9261 §5.2.2 (layout of RFC 8446 §4.4.3), handshake type 15:
 *   struct {
 *     SignatureScheme algorithm;
 *     opaque signature<0..2^16-1>;
 *   } CertificateVerify;
 */
export interface CertificateVerify {
  readonly algorithm: number
  readonly signature: Uint8Array
}

/** @throws DecodeError (`ERR_SC_DECODE`) */
export function decodeCertificateVerify(bytes: Uint8Array): CertificateVerify {
  const { body } = openHandshake(bytes, [HandshakeType.certificate_verify], 'CertificateVerify')
  const algorithm = body.u16('algorithm')
  const signature = body.vector(2, 0, 0xffff, 'signature')
  body.end()
  return { algorithm, signature }
}

export function encodeCertificateVerify(value: CertificateVerify): Uint8Array {
  const w = new ByteWriter(value.signature.length + 8)
  w.u8(HandshakeType.certificate_verify)
  w.vector(3, (b) => {
    b.u16(value.algorithm)
    b.vector(2, (c) => c.bytes(value.signature), 'signature')
  })
  return w.finish()
}
