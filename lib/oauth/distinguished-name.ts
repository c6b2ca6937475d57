/**
 * RFC 4514 distinguished-name strings, for `tls_client_auth_subject_dn` (RFC 8705 §2.1.2):
 * parse the registered string into an RDN sequence and compare it with a certificate's subject.
 *
 * Comparison (digest oauth-mtls-rfc8705 §2.1, a simplified RFC 4517 `distinguishedNameMatch`):
 * - the string is turned into a DER Name (RDNs reversed: RFC 4514 §2.1 writes the last RDN
 *   first), string values as UTF8String, `#hex` values as the given BER;
 * - both Names are reduced with the certificate code's canonical keys (`nameRdnKeys`,
 *   lib/policy/der.ts): attribute types by OID (so `CN`, `cn` and `2.5.4.3` are the same);
 *   string values of any string type (UTF8, Printable, IA5, Teletex, BMP, Universal) compared
 *   after trimming, collapsing inner whitespace runs to one space and lower-casing (an
 *   approximation of RFC 4518 caseIgnoreMatch preparation; no Unicode normalisation);
 *   non-string values compared as exact BER; the AVAs of a multi-valued RDN compared as a set;
 * - RDN order and count are significant.
 */
import { DecodeError } from '../errors.js'
import { STRING_TAGS, children, content, decodeOid, decodeString, encodeOid, encodeTlv, nameRdnKeys, readTlv, whole } from '../policy/der.js'

/** Attribute type names we accept (RFC 4514 §3 table, plus names common in certificates). */
export const ATTRIBUTE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  CN: '2.5.4.3',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
  STREET: '2.5.4.9',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  TITLE: '2.5.4.12',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  POSTALCODE: '2.5.4.17',
  DNQUALIFIER: '2.5.4.46',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  BUSINESSCATEGORY: '2.5.4.15',
  E: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
})

/** One attribute of an RDN: type OID and either a string or a BER-encoded value (`#hex`). */
export type AttributeValueAssertion =
  | { readonly type: string; readonly kind: 'string'; readonly value: string }
  | { readonly type: string; readonly kind: 'ber'; readonly value: Uint8Array }

/** RDNs in DER order (the first RDN is the most significant, e.g. `C=` or `DC=com`). */
export type RdnSequence = readonly (readonly AttributeValueAssertion[])[]

const STRUCTURE = 'DistinguishedName'
const SPECIAL = new Set(['"', '+', ',', ';', '<', '>', '\\', ' ', '#', '='])

/**
 * Parses an RFC 4514 string. Liberal where RFC 4514 §4 allows: spaces around `,`, `+` and `=`
 * are ignored; attribute types are case-insensitive and may be `OID.`-prefixed dotted OIDs.
 * @param text - e.g. `CN=client-1, O=Example\, Inc., C=SE`.
 * @returns the RDN sequence in DER order.
 * @throws DecodeError (`ERR_SC_DECODE`, structure `DistinguishedName`, offset = character index)
 *   for syntax errors, unknown attribute names, bad escapes, invalid UTF-8 or empty input.
 */
export function parseDistinguishedName(text: string): RdnSequence {
  let i = 0
  const fail = (detail: string, at = i): never => {
    throw new DecodeError(STRUCTURE, at, detail)
  }
  const skipSpaces = (): void => {
    while (text[i] === ' ') i++
  }
  const rdns: AttributeValueAssertion[][] = []
  let rdn: AttributeValueAssertion[] = []
  skipSpaces()
  if (i === text.length) fail('empty distinguished name')
  for (;;) {
    // attributeType
    skipSpaces()
    const typeStart = i
    while (i < text.length && text[i] !== '=' && text[i] !== ',' && text[i] !== '+') i++
    const rawType = text.slice(typeStart, i).trim()
    if (text[i] !== '=') fail(`expected '=' after attribute type`)
    const type = attributeOid(rawType, typeStart, fail)
    i++ // '='
    skipSpaces()
    rdn.push(text[i] === '#' ? { type, kind: 'ber', value: hexValue() } : { type, kind: 'string', value: stringValue() })
    skipSpaces()
    if (i === text.length) break
    const sep = text[i]
    i++
    if (sep === '+') continue
    if (sep === ',') {
      rdns.push(rdn)
      rdn = []
      continue
    }
    fail(`unexpected '${sep}'`, i - 1)
  }
  rdns.push(rdn)
  return rdns.reverse()

  function hexValue(): Uint8Array {
    const start = i
    i++ // '#'
    while (i < text.length && /[0-9A-Fa-f]/.test(text[i]!)) i++
    const hex = text.slice(start + 1, i)
    if (hex.length === 0 || hex.length % 2 !== 0) fail('hexstring needs an even, non-zero number of digits', start)
    return new Uint8Array(Buffer.from(hex, 'hex'))
  }

  function stringValue(): string {
    const bytes: number[] = []
    let lastSignificant = 0 // length of `bytes` up to the last escaped or non-space character
    while (i < text.length && text[i] !== ',' && text[i] !== '+') {
      const ch = text[i]!
      if (ch === '\\') {
        const next = text[i + 1]
        if (next !== undefined && /[0-9A-Fa-f]/.test(next) && /[0-9A-Fa-f]/.test(text[i + 2] ?? '')) {
          bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
          i += 3
        } else if (next !== undefined && SPECIAL.has(next)) {
          bytes.push(next.charCodeAt(0))
          i += 2
        } else {
          fail('bad escape')
        }
        lastSignificant = bytes.length
        continue
      }
      // RFC 4514 §3: these must be escaped inside a value ('=' and '#' need not be).
      if (ch === '"' || ch === ';' || ch === '<' || ch === '>') fail(`unescaped '${ch}' in value`)
      const cp = text.codePointAt(i)!
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'))
      i += cp > 0xffff ? 2 : 1
      if (ch !== ' ') lastSignificant = bytes.length
    }
    // Unescaped trailing spaces are not part of the value (RFC 4514 §3 trailchar; §4 liberal).
    const kept = Uint8Array.from(bytes.slice(0, lastSignificant))
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(kept)
    } catch {
      return fail('value is not valid UTF-8')
    }
  }
}

function attributeOid(raw: string, at: number, fail: (detail: string, at?: number) => never): string {
  const name = raw.toUpperCase().startsWith('OID.') ? raw.slice(4) : raw
  if (/^[0-2](\.(0|[1-9][0-9]*))+$/.test(name)) return name
  if (name === '') fail('empty attribute type', at)
  const oid = ATTRIBUTE_TYPES[name.toUpperCase()]
  if (oid === undefined) fail(`unknown attribute type '${name}'`, at)
  return oid!
}

/**
 * DER Name (RFC 5280 §4.1.2.4) of an RDN sequence: string values as UTF8String, BER values as
 * given (each must be one TLV).
 * @throws DecodeError (`ERR_SC_DECODE`) when a BER value is not a single TLV.
 */
export function encodeDistinguishedName(rdns: RdnSequence): Uint8Array {
  const set = rdns.map((rdn) =>
    encodeTlv(
      0x31,
      concat(
        rdn.map((ava) => {
          const value = ava.kind === 'string' ? encodeTlv(0x0c, new TextEncoder().encode(ava.value)) : ava.value
          return encodeTlv(0x30, concat([encodeTlv(0x06, encodeOid(ava.type)), value]))
        }),
      ),
    ),
  )
  return encodeTlv(0x30, concat(set))
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let p = 0
  for (const part of parts) {
    out.set(part, p)
    p += part.length
  }
  return out
}

/**
 * True when the RFC 4514 string names the same entity as a DER Name (see the module comment for
 * the normalisation).
 * @param text - registered subject DN string.
 * @param nameDer - a certificate's subject Name DER.
 * @throws DecodeError (`ERR_SC_DECODE`) when `text` does not parse or `nameDer` is malformed.
 */
export function distinguishedNameMatches(text: string, nameDer: Uint8Array): boolean {
  const want = nameRdnKeys(encodeDistinguishedName(parseDistinguishedName(text)))
  const got = nameRdnKeys(nameDer)
  return want.length === got.length && want.every((k, i) => k === got[i])
}

/** Short names used when formatting: RFC 4514 §3's table, then the other names we parse. */
const SHORT_NAMES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>()
  for (const [name, oid] of Object.entries(ATTRIBUTE_TYPES)) if (!m.has(oid)) m.set(oid, name)
  return m
})()

/** RFC 4514 §2.4 escaping of one string value. */
function escapeValue(v: string): string {
  let out = ''
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!
    if (ch === '\0') out += '\\00'
    else if ('"+,;<>\\'.includes(ch)) out += '\\' + ch
    else if ((ch === '#' || ch === ' ') && i === 0) out += '\\' + ch
    else if (ch === ' ' && i === v.length - 1) out += '\\ '
    else out += ch
  }
  return out
}

/**
 * The RFC 4514 string of a DER Name (RFC 5280 §4.1.2.4): RDNs from the last to the first
 * (RFC 4514 §2.1), `,` between RDNs and `+` inside a multi-valued one, short names from the RFC
 * 4514 §3 table (and the other names {@link parseDistinguishedName} accepts), dotted OIDs
 * otherwise; directory strings as text with §2.4 escapes, any other value as `#` + its BER hex.
 * This is the subject format of `Identity.subject`, problem bodies and the CLI, and
 * `parseDistinguishedName` reads it back ({@link distinguishedNameMatches} holds).
 * @param nameDer - a Name, e.g. a certificate's subject.
 * @returns e.g. `CN=user,O=h2sc test`; the empty string for an empty Name.
 * @throws DecodeError (`ERR_SC_DECODE`) for a malformed Name.
 */
export function formatDistinguishedName(nameDer: Uint8Array): string {
  const top = readTlv(nameDer, 0)
  if (top.tag !== 0x30 || top.end !== nameDer.length) throw new DecodeError('Name', 0, 'Name is not one SEQUENCE')
  const rdns = children(nameDer, top).map((rdn) => {
    if (rdn.tag !== 0x31) throw new DecodeError('Name', rdn.start, 'RDN is not a SET')
    return children(nameDer, rdn)
      .map((ava) => {
        const [type, value] = ava.tag === 0x30 ? children(nameDer, ava) : []
        if (!type || type.tag !== 0x06 || !value) throw new DecodeError('Name', ava.start, 'bad AttributeTypeAndValue')
        const oid = decodeOid(content(nameDer, type), type.contentStart)
        const name = SHORT_NAMES.get(oid) ?? oid
        const text = STRING_TAGS.has(value.tag)
          ? escapeValue(decodeString(value.tag, content(nameDer, value)))
          : '#' + Buffer.from(whole(nameDer, value)).toString('hex')
        return `${name}=${text}`
      })
      .join('+')
  })
  return rdns.reverse().join(',')
}
