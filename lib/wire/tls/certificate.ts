import { ByteWriter } from '../byte-writer.js'
import { HandshakeType, openHandshake } from './handshake.js'
import { readExtensions, writeExtensions } from './extensions.js'
import type { Extension } from './extensions.js'

/**
 * RFC 9261 §5.2.1 (layout of RFC 8446 §4.4.2), handshake type 11:
 *   struct {
 *     opaque cert_data<1..2^24-1>;
 *     Extension extensions<0..2^16-1>;
 *   } CertificateEntry;
 *   struct {
 *     opaque certificate_request_context<0..2^8-1>;
 *     CertificateEntry certificate_list<0..2^24-1>;
 *   } Certificate;
 * Only X.509 certificates are used (RFC 9261 §5.2.1), so `cert_data` is DER.
 */
export interface CertificateEntry {
  readonly certData: Uint8Array
  readonly extensions: readonly Extension[]
}

export interface Certificate {
  readonly context: Uint8Array
  readonly entries: readonly CertificateEntry[]
}

const STRUCTURE = 'Certificate'

/**
 * Decodes a complete Certificate message (header included). An empty certificate_list is
 * syntactically valid; RFC 9261 validation rejects it.
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  const { body } = openHandshake(bytes, [HandshakeType.certificate], STRUCTURE)
  const context = body.vector(1, 0, 0xff, 'certificate_request_context')
  const list = body.subReader(3, 0, 0xffffff, 'certificate_list')
  body.end()
  const entries: CertificateEntry[] = []
  while (!list.isAtEnd) {
    const certData = list.vector(3, 1, 0xffffff, 'cert_data')
    const extensions = readExtensions(list, 0, `${STRUCTURE}.CertificateEntry`)
    entries.push({ certData, extensions })
  }
  return { context, entries }
}

/** Encodes a Certificate message (header included). */
export function encodeCertificate(value: Certificate): Uint8Array {
  const size = value.entries.reduce((n, e) => n + e.certData.length + 16, 16)
  const w = new ByteWriter(size)
  w.u8(HandshakeType.certificate)
  w.vector(3, (b) => {
    b.vector(1, (c) => c.bytes(value.context), 'certificate_request_context')
    b.vector(3, (c) => {
      for (const e of value.entries) {
        c.vector(3, (d) => d.bytes(e.certData), 'cert_data')
        writeExtensions(c, e.extensions)
      }
    }, 'certificate_list')
  }, 'handshake body')
  return w.finish()
}
