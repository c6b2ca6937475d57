import { ByteReader } from '../byte-reader.js'
import { ByteWriter } from '../byte-writer.js'
import { UsageError } from '../../errors.js'

/**
 * RFC 8446 §4.2:
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 * An extension block MUST NOT contain two extensions of the same type.
 */
export interface Extension {
  readonly type: number
  readonly data: Uint8Array
}

/** Extension codepoints that RFC 9261 requests and certificate entries may carry. */
export const ExtensionType = {
  server_name: 0x0000,
  status_request: 0x0005,
  signature_algorithms: 0x000d,
  signed_certificate_timestamp: 0x0012,
  certificate_authorities: 0x002f,
  oid_filters: 0x0030,
  signature_algorithms_cert: 0x0032,
} as const

/**
 * Reads an extension block `Extension extensions<min..2^16-1>` (RFC 8446 §4.2). Duplicate types
 * and bad inner lengths are DecodeErrors.
 */
export function readExtensions(r: ByteReader, min: number, structure: string): Extension[] {
  const block = r.subReader(2, min, 0xffff, 'extensions', structure)
  const out: Extension[] = []
  const seen = new Set<number>()
  while (!block.isAtEnd) {
    const at = block.offset
    const type = block.u16('extension_type')
    const data = block.vector(2, 0, 0xffff, 'extension_data')
    if (seen.has(type)) {
      throw block.failAt(at, `duplicate extension type 0x${type.toString(16).padStart(4, '0')}`)
    }
    seen.add(type)
    out.push({ type, data })
  }
  return out
}

/** Writes an extension block; refuses duplicates (a caller bug). */
export function writeExtensions(w: ByteWriter, extensions: readonly Extension[]): void {
  const seen = new Set<number>()
  w.vector(2, (x) => {
    for (const e of extensions) {
      if (seen.has(e.type)) throw new UsageError(`duplicate extension type ${e.type}`)
      seen.add(e.type)
      x.u16(e.type)
      x.vector(2, (y) => y.bytes(e.data), 'extension_data')
    }
  }, 'extensions')
}

/** RFC 8446 §4.2.3: `SignatureScheme supported_signature_algorithms<2..2^16-2>`. */
export function decodeSignatureSchemeList(data: Uint8Array, base: number, structure: string): number[] {
  // Fast path for a well-formed list; anything else goes through the reader for its error.
  const n = data.length
  if (n >= 4 && n % 2 === 0 && u16at(data, 0) === n - 2) {
    const out: number[] = []
    for (let i = 2; i < n; i += 2) out.push(u16at(data, i))
    return out
  }
  const r = new ByteReader(data, structure, base)
  const list = r.subReader(2, 2, 0xfffe, 'supported_signature_algorithms', structure)
  if (list.remaining % 2 !== 0) list.fail('odd length signature scheme list')
  const out: number[] = []
  while (!list.isAtEnd) out.push(list.u16('SignatureScheme'))
  r.end()
  return out
}

export function encodeSignatureSchemeList(schemes: readonly number[]): Uint8Array {
  if (schemes.length === 0) throw new UsageError('signature scheme list must not be empty')
  const len = schemes.length * 2
  if (len > 0xffff) throw new UsageError(`vector of ${len} bytes does not fit a 2-byte length`)
  const out = new Uint8Array(2 + len)
  out[0] = len >>> 8
  out[1] = len & 0xff
  for (let i = 0; i < schemes.length; i++) {
    const v = schemes[i]!
    if ((v & 0xffff) !== v) throw new UsageError(`uint16 value ${v} out of range`)
    out[2 + 2 * i] = v >>> 8
    out[3 + 2 * i] = v & 0xff
  }
  return out
}

/**
 * RFC 8446 §4.2.4:
 *   opaque DistinguishedName<1..2^16-1>;
 *   struct { DistinguishedName authorities<3..2^16-1>; } CertificateAuthoritiesExtension;
 */
export function decodeCertificateAuthorities(data: Uint8Array, base: number, structure: string): Uint8Array[] {
  const r = new ByteReader(data, structure, base)
  const list = r.subReader(2, 3, 0xffff, 'authorities', structure)
  const out: Uint8Array[] = []
  while (!list.isAtEnd) out.push(list.vector(2, 1, 0xffff, 'DistinguishedName'))
  r.end()
  return out
}

export function encodeCertificateAuthorities(names: readonly Uint8Array[]): Uint8Array {
  if (names.length === 0) throw new UsageError('certificate_authorities must not be empty')
  const w = new ByteWriter()
  w.vector(2, (x) => {
    for (const n of names) {
      if (n.length === 0) throw new UsageError('empty DistinguishedName')
      x.vector(2, (y) => y.bytes(n), 'DistinguishedName')
    }
  }, 'authorities')
  return w.finish()
}

/**
 * RFC 8446 §4.2.5:
 *   struct { opaque certificate_extension_oid<1..2^8-1>;
 *            opaque certificate_extension_values<0..2^16-1>; } OIDFilter;
 *   struct { OIDFilter filters<0..2^16-1>; } OIDFilterExtension;
 * `oid` holds the DER content octets of the OBJECT IDENTIFIER (no tag/length); `values` the DER
 * encoding of the extension value to match (e.g. an ExtendedKeyUsage SEQUENCE).
 */
export interface OidFilter {
  readonly oid: Uint8Array
  readonly values: Uint8Array
}

export function decodeOidFilters(data: Uint8Array, base: number, structure: string): OidFilter[] {
  const r = new ByteReader(data, structure, base)
  const list = r.subReader(2, 0, 0xffff, 'filters', structure)
  const out: OidFilter[] = []
  while (!list.isAtEnd) {
    const oid = list.vector(1, 1, 0xff, 'certificate_extension_oid')
    const values = list.vector(2, 0, 0xffff, 'certificate_extension_values')
    out.push({ oid, values })
  }
  r.end()
  return out
}

export function encodeOidFilters(filters: readonly OidFilter[]): Uint8Array {
  const w = new ByteWriter()
  w.vector(2, (x) => {
    for (const f of filters) {
      if (f.oid.length === 0) throw new UsageError('empty OID in oid_filters')
      x.vector(1, (y) => y.bytes(f.oid), 'certificate_extension_oid')
      x.vector(2, (y) => y.bytes(f.values), 'certificate_extension_values')
    }
  }, 'filters')
  return w.finish()
}

/**
 * RFC 6066 §3: `ServerName server_name_list<1..2^16-1>`, each `NameType name_type; HostName
 * host_name<1..2^16-1>` (name_type 0 = host_name). Other name types are skipped; only one name of
 * each type is allowed.
 */
export function decodeServerNameList(data: Uint8Array, base: number, structure: string): string[] {
  const r = new ByteReader(data, structure, base)
  const list = r.subReader(2, 1, 0xffff, 'server_name_list', structure)
  const out: string[] = []
  const types = new Set<number>()
  while (!list.isAtEnd) {
    const at = list.offset
    const nameType = list.u8('name_type')
    const name = list.vector(2, 1, 0xffff, 'HostName')
    if (types.has(nameType)) throw list.failAt(at, `duplicate server name type ${nameType}`)
    types.add(nameType)
    if (nameType === 0) out.push(new TextDecoder('utf-8', { fatal: false }).decode(name))
  }
  r.end()
  return out
}

export function encodeServerNameList(names: readonly string[]): Uint8Array {
  if (names.length !== 1) throw new UsageError('server_name carries exactly one host name')
  const w = new ByteWriter()
  w.vector(2, (x) => {
    for (const n of names) {
      // RFC 6066 §3: HostName<1..2^16-1>; an empty name would not decode.
      if (n.length === 0) throw new UsageError('empty server_name host name')
      x.u8(0)
      x.vector(2, (y) => y.bytes(new TextEncoder().encode(n)), 'HostName')
    }
  })
  return w.finish()
}

/** Big-endian uint16 at `at` (callers have checked the bounds). */
export function u16at(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!
}

/**
 * The fast reader behind the hot-path decoders: the extension block `b[at..end)` (contents of
 * `Extension extensions<..>`, length prefix already consumed) as a list, or undefined when it is
 * not well formed in any way (bad inner length, duplicate type). Callers then run the reference
 * reader, which reports the precise error; so this function needs no messages of its own.
 */
export function scanExtensions(b: Uint8Array, at: number, end: number): Extension[] | undefined {
  const out: Extension[] = []
  while (at < end) {
    if (end - at < 4) return undefined
    const type = u16at(b, at)
    const len = u16at(b, at + 2)
    at += 4
    if (len > end - at) return undefined
    // The pairwise duplicate check is quadratic: long blocks go to the reference reader's Set.
    if (out.length === 16) return undefined
    for (let i = 0; i < out.length; i++) if (out[i]!.type === type) return undefined
    out.push({ type, data: b.subarray(at, at + len) })
    at += len
  }
  return out
}
