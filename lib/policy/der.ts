/**
 * A small, strict DER reader for the parts of X.509 certificates that path validation needs
 * (RFC 5280 §4.1 and the extensions of §4.2.1), plus OID and Name helpers.
 *
 * Why not @peculiar/x509's typed extensions: it has no nameConstraints type, re-encodes names
 * (we need the issuer/subject bytes exactly as signed) and throws plain `Error`s. Parsing the few
 * structures here ourselves keeps every failure a `DecodeError` with an offset.
 */
import { DecodeError } from '../errors.js'

/** One DER TLV: `tag` (single byte, low-tag-number form), content at [contentStart, end). */
export interface Tlv {
  readonly tag: number
  readonly start: number
  readonly contentStart: number
  readonly end: number
}

const STRUCTURE = 'Certificate'

function fail(offset: number, detail: string, structure = STRUCTURE): never {
  throw new DecodeError(structure, offset, detail)
}

/**
 * Reads one TLV at `offset`, not going past `limit` (X.690 §8.1, DER: definite, minimal lengths).
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function readTlv(b: Uint8Array, offset: number, limit: number = b.length): Tlv {
  if (offset + 2 > limit) fail(offset, 'truncated TLV header')
  const tag = b[offset]!
  if ((tag & 0x1f) === 0x1f) fail(offset, 'high tag numbers are not used in certificates')
  let len = b[offset + 1]!
  let p = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) fail(offset + 1, 'unsupported length form')
    if (p + n > limit) fail(p, 'truncated length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!
    if (b[p] === 0 || len < 0x80) fail(offset + 1, 'non-minimal length (not DER)')
    p += n
  }
  if (p + len > limit) fail(offset, `content of ${len} bytes runs past its container`)
  return { tag, start: offset, contentStart: p, end: p + len }
}

/** The TLVs directly inside a constructed TLV, in order. */
export function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  let p = parent.contentStart
  while (p < parent.end) {
    const t = readTlv(b, p, parent.end)
    out.push(t)
    p = t.end
  }
  return out
}

/** Content bytes of a TLV (a view, not a copy). */
export function content(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.contentStart, t.end)
}

/** The whole TLV's bytes (a view). */
export function whole(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end)
}

function expectTag(t: Tlv | undefined, tag: number, what: string, at: number): Tlv {
  if (!t) fail(at, `missing ${what}`)
  if (t.tag !== tag) fail(t.start, `${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`)
  return t
}

/** Dotted text of OBJECT IDENTIFIER content octets (X.690 §8.19). */
export function decodeOid(body: Uint8Array, at = 0): string {
  if (body.length === 0) fail(at, 'empty OBJECT IDENTIFIER')
  const arcs: bigint[] = []
  let v = 0n
  let fresh = true
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (fresh && c === 0x80) fail(at + i, 'non-minimal OID arc')
    v = (v << 7n) | BigInt(c & 0x7f)
    fresh = false
    if ((c & 0x80) === 0) {
      arcs.push(v)
      v = 0n
      fresh = true
    }
  }
  if (!fresh) fail(at + body.length, 'truncated OID arc')
  const first = arcs[0]!
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n]
  return [...head, ...arcs.slice(1)].join('.')
}

/**
 * OBJECT IDENTIFIER content octets (no tag, no length) of a dotted OID, the form RFC 8446 §4.2.5
 * carries in `certificate_extension_oid`.
 * @throws DecodeError (`ERR_SC_DECODE`) for text that is not a valid OID.
 */
export function encodeOid(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) fail(0, `not an OID: ${dotted}`, 'OID')
  const parts = dotted.split('.').map((s) => BigInt(s))
  const a0 = parts[0]!
  const a1 = parts[1]!
  if (a0 < 2n && a1 >= 40n) fail(0, `second arc too large: ${dotted}`, 'OID')
  const arcs = [a0 * 40n + a1, ...parts.slice(2)]
  const out: number[] = []
  for (const arc of arcs) {
    const groups: number[] = []
    let v = arc
    do {
      groups.unshift(Number(v & 0x7fn))
      v >>= 7n
    } while (v > 0n)
    for (let i = 0; i < groups.length - 1; i++) groups[i] = groups[i]! | 0x80
    out.push(...groups)
  }
  return Uint8Array.from(out)
}

/** DER TLV with a definite length (X.690 §8.1.3). */
export function encodeTlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length
  const len: number[] = []
  if (n < 0x80) len.push(n)
  else {
    const bytes: number[] = []
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
    len.push(0x80 | bytes.length, ...bytes)
  }
  const out = new Uint8Array(1 + len.length + n)
  out[0] = tag
  out.set(len, 1)
  out.set(body, 1 + len.length)
  return out
}

// ---------------------------------------------------------------------------------------------
// Names (RFC 5280 §4.1.2.4, comparison per §7.1)

/** String types whose values we compare after case folding and whitespace collapsing. */
export const STRING_TAGS: ReadonlySet<number> = new Set([0x0c /* UTF8 */, 0x13 /* Printable */, 0x16 /* IA5 */, 0x14, 0x1e, 0x1c])

/** Text of a directory string value (UTF-8, Printable, IA5, Teletex as UTF-8, BMP as UTF-16BE). */
export function decodeString(tag: number, body: Uint8Array): string {
  if (tag === 0x1e) {
    // BMPString: UTF-16BE
    let s = ''
    for (let i = 0; i + 1 < body.length; i += 2) s += String.fromCharCode((body[i]! << 8) | body[i + 1]!)
    return s
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(body)
}

/**
 * Relative distinguished names of a Name, each as a canonical key (attribute type + value, value
 * case-folded with whitespace collapsed for string types, multi-valued RDNs sorted). Two Names
 * match when their key lists are equal — a simplified RFC 5280 §7.1 / RFC 4518 comparison.
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function nameRdnKeys(nameDer: Uint8Array): string[] {
  const top = readTlv(nameDer, 0)
  if (top.tag !== 0x30 || top.end !== nameDer.length) fail(0, 'Name is not one SEQUENCE', 'Name')
  return children(nameDer, top).map((rdn) => {
    if (rdn.tag !== 0x31) fail(rdn.start, 'RDN is not a SET', 'Name')
    const avas = children(nameDer, rdn).map((ava) => {
      if (ava.tag !== 0x30) fail(ava.start, 'AttributeTypeAndValue is not a SEQUENCE', 'Name')
      const [type, value] = children(nameDer, ava)
      const t = expectTag(type, 0x06, 'attribute type', ava.start)
      if (!value) fail(ava.start, 'attribute value missing', 'Name')
      const oid = decodeOid(content(nameDer, t), t.contentStart)
      const body = content(nameDer, value)
      const v = STRING_TAGS.has(value.tag)
        ? 's:' + decodeString(value.tag, body).trim().replace(/\s+/g, ' ').toLowerCase()
        : 'x:' + value.tag.toString(16) + Buffer.from(body).toString('hex')
      return `${oid}=${JSON.stringify(v)}`
    })
    return avas.sort().join('+')
  })
}

/** One canonical string for a Name (see {@link nameRdnKeys}). */
export function nameKey(nameDer: Uint8Array): string {
  return nameRdnKeys(nameDer).join(',')
}

// ---------------------------------------------------------------------------------------------
// GeneralName (RFC 5280 §4.2.1.6)

/** A GeneralName as path validation sees it. */
export type GeneralName =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'email'; readonly value: string }
  | { readonly type: 'uri'; readonly value: string }
  /** 4 or 16 bytes in a SAN; 8 or 32 (address then mask) in name constraints. */
  | { readonly type: 'ip'; readonly bytes: Uint8Array }
  | { readonly type: 'dn'; readonly der: Uint8Array }
  | { readonly type: 'other'; readonly tag: number; readonly oid?: string }

const ascii = new TextDecoder('latin1')

/** Decodes one GeneralName TLV. */
export function decodeGeneralName(b: Uint8Array, t: Tlv): GeneralName {
  const body = content(b, t)
  switch (t.tag) {
    case 0x81:
      return { type: 'email', value: ascii.decode(body) }
    case 0x82:
      return { type: 'dns', value: ascii.decode(body) }
    case 0x86:
      return { type: 'uri', value: ascii.decode(body) }
    case 0x87:
      return { type: 'ip', bytes: Uint8Array.from(body) }
    case 0xa4: {
      // [4] is EXPLICIT (Name is a CHOICE): one Name SEQUENCE inside.
      const [inner] = children(b, t)
      const n = expectTag(inner, 0x30, 'directoryName', t.start)
      return { type: 'dn', der: Uint8Array.from(whole(b, n)) }
    }
    case 0xa0: {
      // otherName: type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY
      const [id] = children(b, t)
      const i = expectTag(id, 0x06, 'otherName type-id', t.start)
      return { type: 'other', tag: t.tag, oid: decodeOid(content(b, i), i.contentStart) }
    }
    default:
      return { type: 'other', tag: t.tag }
  }
}

// ---------------------------------------------------------------------------------------------
// Certificate (RFC 5280 §4.1)

/** A certificate extension as carried (RFC 5280 §4.1.2.9). */
export interface RawCertExtension {
  readonly oid: string
  readonly critical: boolean
  /** extnValue contents (the DER inside the OCTET STRING). */
  readonly value: Uint8Array
}

/** The TBSCertificate fields path validation needs, with bytes exactly as signed. */
export interface CertFields {
  readonly version: number
  readonly serialHex: string
  readonly issuerDer: Uint8Array
  readonly subjectDer: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
  readonly spkiDer: Uint8Array
  readonly extensions: readonly RawCertExtension[]
}

function decodeTime(b: Uint8Array, t: Tlv): Date {
  const s = ascii.decode(content(b, t))
  // RFC 5280 §4.1.2.5.1/.2: YYMMDDHHMMSSZ (UTCTime) or YYYYMMDDHHMMSSZ (GeneralizedTime).
  let m: RegExpExecArray | null
  let year: number
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1])
    year = yy >= 50 ? 1900 + yy : 2000 + yy
  } else if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    year = Number(m[1])
  } else {
    fail(t.start, 'validity time is neither UTCTime nor GeneralizedTime in Z form')
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se))
  if (Number.isNaN(date.getTime()) || date.getUTCMonth() !== mo - 1) fail(t.start, 'invalid date')
  return date
}

/**
 * Splits a DER certificate into the fields path validation uses. Checks the outer structure
 * (Certificate, TBSCertificate, Validity, Extensions) and rejects trailing bytes and duplicate
 * extensions (RFC 5280 §4.2: at most one instance of an extension).
 * @throws DecodeError (`ERR_SC_DECODE`)
 */
export function decodeCertFields(der: Uint8Array): CertFields {
  const cert = readTlv(der, 0)
  if (cert.tag !== 0x30) fail(0, 'Certificate is not a SEQUENCE')
  if (cert.end !== der.length) fail(cert.end, 'trailing bytes after Certificate')
  const [tbs, sigAlg, sig, extra] = children(der, cert)
  expectTag(tbs, 0x30, 'tbsCertificate', cert.contentStart)
  expectTag(sigAlg, 0x30, 'signatureAlgorithm', cert.contentStart)
  expectTag(sig, 0x03, 'signatureValue', cert.contentStart)
  if (extra) fail(extra.start, 'unexpected element after signatureValue')
  const f = children(der, tbs!)
  let i = 0
  let version = 1
  if (f[0]?.tag === 0xa0) {
    const [v] = children(der, f[0])
    const vt = expectTag(v, 0x02, 'version', f[0].start)
    const body = content(der, vt)
    if (body.length !== 1 || body[0]! > 2) fail(vt.start, 'unknown version')
    version = body[0]! + 1
    i = 1
  }
  const serial = expectTag(f[i++], 0x02, 'serialNumber', tbs!.contentStart)
  expectTag(f[i++], 0x30, 'signature', tbs!.contentStart)
  const issuer = expectTag(f[i++], 0x30, 'issuer', tbs!.contentStart)
  const validity = expectTag(f[i++], 0x30, 'validity', tbs!.contentStart)
  const subject = expectTag(f[i++], 0x30, 'subject', tbs!.contentStart)
  const spki = expectTag(f[i++], 0x30, 'subjectPublicKeyInfo', tbs!.contentStart)
  const [nb, na, vExtra] = children(der, validity)
  if (!nb || !na || vExtra) fail(validity.start, 'Validity must hold exactly two times')
  const extensions: RawCertExtension[] = []
  for (; i < f.length; i++) {
    const t = f[i]!
    if (t.tag === 0x81 || t.tag === 0x82) continue // issuerUniqueID / subjectUniqueID
    if (t.tag !== 0xa3) fail(t.start, `unexpected TBSCertificate element 0x${t.tag.toString(16)}`)
    if (version !== 3) fail(t.start, 'extensions in a certificate that is not v3')
    if (i !== f.length - 1) fail(t.start, 'extensions must be the last TBSCertificate element')
    const [seq, more] = children(der, t)
    const s = expectTag(seq, 0x30, 'Extensions', t.start)
    if (more) fail(more.start, 'extra element after Extensions')
    const seen = new Set<string>()
    for (const e of children(der, s)) {
      if (e.tag !== 0x30) fail(e.start, 'Extension is not a SEQUENCE')
      const parts = children(der, e)
      const id = expectTag(parts[0], 0x06, 'extnID', e.start)
      let critical = false
      let k = 1
      if (parts[1]?.tag === 0x01) {
        const body = content(der, parts[1])
        if (body.length !== 1 || (body[0] !== 0 && body[0] !== 0xff)) fail(parts[1].start, 'bad BOOLEAN')
        critical = body[0] === 0xff
        k = 2
      }
      const val = expectTag(parts[k], 0x04, 'extnValue', e.start)
      if (parts[k + 1]) fail(parts[k + 1]!.start, 'extra element in Extension')
      const oid = decodeOid(content(der, id), id.contentStart)
      if (seen.has(oid)) fail(e.start, `duplicate extension ${oid}`)
      seen.add(oid)
      extensions.push({ oid, critical, value: Uint8Array.from(content(der, val)) })
    }
  }
  return {
    version,
    serialHex: Buffer.from(content(der, serial)).toString('hex'),
    issuerDer: Uint8Array.from(whole(der, issuer)),
    subjectDer: Uint8Array.from(whole(der, subject)),
    notBefore: decodeTime(der, nb),
    notAfter: decodeTime(der, na),
    spkiDer: Uint8Array.from(whole(der, spki)),
    extensions,
  }
}

/** Parses a whole-buffer DER value and returns its top TLV. */
export function topTlv(b: Uint8Array, tag: number, structure: string): Tlv {
  const t = readTlv(b, 0)
  if (t.tag !== tag) fail(0, `expected tag 0x${tag.toString(16)}`, structure)
  if (t.end !== b.length) fail(t.end, 'trailing bytes', structure)
  return t
}

/** Fails with a DecodeError for `structure` (re-exported for the extension parsers). */
export function decodeFail(structure: string, offset: number, detail: string): never {
  fail(offset, detail, structure)
}
