import { UsageError } from '../../errors.js'
import { HandshakeType, openHandshake } from './handshake.js'
import { readExtensions } from './extensions.js'
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

/**
 * Encodes a Certificate message (header included). Sizes are computed first and the bytes written
 * in one pass: this runs once per authenticator, on the hot path.
 * @throws UsageError (`ERR_SC_USAGE`) when a field does not fit its length prefix
 */
export function encodeCertificate(value: Certificate): Uint8Array {
  if (value.context.length > 0xff) throw new UsageError('certificate_request_context longer than 255 bytes')
  let listLen = 0
  for (const e of value.entries) {
    if (e.certData.length === 0 || e.certData.length > 0xffffff) throw new UsageError('cert_data length out of range')
    let extLen = 0
    const seen = new Set<number>()
    for (const x of e.extensions) {
      if ((x.type & 0xffff) !== x.type) throw new UsageError(`extension type ${x.type} out of range`)
      if (seen.has(x.type)) throw new UsageError(`duplicate extension type ${x.type}`)
      seen.add(x.type)
      if (x.data.length > 0xffff) throw new UsageError('extension_data longer than 65535 bytes')
      extLen += 4 + x.data.length
    }
    if (extLen > 0xffff) throw new UsageError('entry extensions longer than 65535 bytes')
    listLen += 3 + e.certData.length + 2 + extLen
  }
  const bodyLen = 1 + value.context.length + 3 + listLen
  if (listLen > 0xffffff || bodyLen > 0xffffff) throw new UsageError('certificate_list too long')
  const out = new Uint8Array(4 + bodyLen)
  let at = 0
  const u16 = (v: number): void => {
    out[at++] = v >>> 8
    out[at++] = v & 0xff
  }
  const u24 = (v: number): void => {
    out[at++] = v >>> 16
    out[at++] = (v >>> 8) & 0xff
    out[at++] = v & 0xff
  }
  out[at++] = HandshakeType.certificate
  u24(bodyLen)
  out[at++] = value.context.length
  out.set(value.context, at)
  at += value.context.length
  u24(listLen)
  for (const e of value.entries) {
    u24(e.certData.length)
    out.set(e.certData, at)
    at += e.certData.length
    let extLen = 0
    for (const x of e.extensions) extLen += 4 + x.data.length
    u16(extLen)
    for (const x of e.extensions) {
      u16(x.type)
      u16(x.data.length)
      out.set(x.data, at)
      at += x.data.length
    }
  }
  return out
}
