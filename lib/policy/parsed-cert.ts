import { createHash } from 'node:crypto'
/**
 * A certificate parsed once for path validation and policy: the RFC 5280 §4.2.1 extensions this
 * library acts on, decoded, plus node's `X509Certificate` for signature checks and identity
 * helpers (`checkHost`, `checkIP`, `checkEmail`).
 */
import { X509Certificate } from 'node:crypto'
import { DecodeError } from '../errors.js'
import {
  children,
  content,
  decodeCertFields,
  decodeFail,
  decodeGeneralName,
  decodeOid,
  nameKey,
  nameRdnKeys,
  topTlv,
} from './der.js'
import type { GeneralName, RawCertExtension } from './der.js'

export type { GeneralName, RawCertExtension } from './der.js'

/** Extension OIDs (RFC 5280 §4.2.1). */
export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const

/** Extended key usage purposes (RFC 5280 §4.2.1.12). */
export const EkuOid = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const

/** keyUsage bit names in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const
export type KeyUsageBit = (typeof KEY_USAGE_BITS)[number]

/** One GeneralSubtree of a nameConstraints extension (minimum/maximum are not used, §4.2.1.10). */
export interface GeneralSubtree {
  readonly base: GeneralName
}

/** A certificate ready for path validation. Treat as read-only. */
export interface ParsedCert {
  /** The DER as given. */
  readonly der: Uint8Array
  /** node's view: `verify`, `publicKey`, `checkHost`, `checkIP`, `checkEmail`, `subjectAltName`. */
  readonly node: X509Certificate
  /** Subject / issuer as node prints them (one RDN per line). */
  readonly subject: string
  readonly issuer: string
  /** Subject and issuer Name DER, exactly as signed. */
  readonly subjectDer: Uint8Array
  readonly issuerDer: Uint8Array
  /** Canonical comparison keys of subject and issuer (simplified RFC 5280 §7.1). */
  readonly subjectKey: string
  readonly issuerKey: string
  readonly serialHex: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** SubjectPublicKeyInfo DER. */
  readonly spkiDer: Uint8Array
  readonly extensions: readonly RawCertExtension[]
  /** basicConstraints; undefined when absent. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen?: number } | undefined
  /** keyUsage bits that are set; undefined when the extension is absent. */
  readonly keyUsage: ReadonlySet<KeyUsageBit> | undefined
  /** extKeyUsage purposes; undefined when the extension is absent (not the same as empty). */
  readonly eku: readonly string[] | undefined
  /** subjectAltName entries; empty when absent. */
  readonly subjectAltNames: readonly GeneralName[]
  /** nameConstraints; undefined when absent. */
  readonly nameConstraints:
    | { readonly permitted: readonly GeneralSubtree[]; readonly excluded: readonly GeneralSubtree[] }
    | undefined
  /** Subject equals issuer (RFC 5280 §3.3 "self-issued"). */
  readonly isSelfIssued: boolean
}

function extValue(exts: readonly RawCertExtension[], oid: string): Uint8Array | undefined {
  return exts.find((e) => e.oid === oid)?.value
}

/** RFC 5280 §4.2.1.9: BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
function decodeBasicConstraints(v: Uint8Array): { ca: boolean; pathLen?: number } {
  const s = 'BasicConstraints'
  const top = topTlv(v, 0x30, s)
  const parts = children(v, top)
  let ca = false
  let k = 0
  if (parts[0]?.tag === 0x01) {
    const b = content(v, parts[0])
    if (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff)) decodeFail(s, parts[0].start, 'bad BOOLEAN')
    ca = b[0] === 0xff
    k = 1
  }
  const pl = parts[k]
  if (pl) {
    if (pl.tag !== 0x02) decodeFail(s, pl.start, 'pathLenConstraint is not an INTEGER')
    const b = content(v, pl)
    if (b.length === 0 || b.length > 4 || (b[0]! & 0x80) !== 0) decodeFail(s, pl.start, 'bad pathLenConstraint')
    let n = 0
    for (const x of b) n = n * 256 + x
    if (parts[k + 1]) decodeFail(s, parts[k + 1]!.start, 'extra element')
    return { ca, pathLen: n }
  }
  return { ca }
}

/** RFC 5280 §4.2.1.3: KeyUsage ::= BIT STRING { digitalSignature (0), ... decipherOnly (8) } */
function decodeKeyUsage(v: Uint8Array): Set<KeyUsageBit> {
  const top = topTlv(v, 0x03, 'KeyUsage')
  const b = content(v, top)
  if (b.length === 0 || b[0]! > 7) decodeFail('KeyUsage', 0, 'bad BIT STRING')
  const out = new Set<KeyUsageBit>()
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = b[1 + (bit >> 3)]
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) out.add(name)
  })
  return out
}

/** RFC 5280 §4.2.1.12: ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
function decodeEku(v: Uint8Array): string[] {
  const top = topTlv(v, 0x30, 'ExtKeyUsageSyntax')
  return children(v, top).map((t) => {
    if (t.tag !== 0x06) decodeFail('ExtKeyUsageSyntax', t.start, 'KeyPurposeId is not an OID')
    return decodeOid(content(v, t), t.contentStart)
  })
}

/** RFC 5280 §4.2.1.6: GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
function decodeGeneralNames(v: Uint8Array): GeneralName[] {
  const top = topTlv(v, 0x30, 'GeneralNames')
  return children(v, top).map((t) => decodeGeneralName(v, t))
}

/**
 * RFC 5280 §4.2.1.10:
 *   NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 *                                  excludedSubtrees  [1] GeneralSubtrees OPTIONAL }
 *   GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
 */
function decodeNameConstraints(v: Uint8Array): {
  permitted: GeneralSubtree[]
  excluded: GeneralSubtree[]
} {
  const s = 'NameConstraints'
  const top = topTlv(v, 0x30, s)
  const permitted: GeneralSubtree[] = []
  const excluded: GeneralSubtree[] = []
  for (const part of children(v, top)) {
    const into = part.tag === 0xa0 ? permitted : part.tag === 0xa1 ? excluded : undefined
    if (!into) decodeFail(s, part.start, 'unexpected element')
    for (const st of children(v, part)) {
      if (st.tag !== 0x30) decodeFail(s, st.start, 'GeneralSubtree is not a SEQUENCE')
      const [base] = children(v, st)
      if (!base) decodeFail(s, st.start, 'GeneralSubtree without base')
      into.push({ base: decodeGeneralName(v, base) })
    }
  }
  return { permitted, excluded }
}

/**
 * Parses a DER certificate for path validation.
 * @param der - one X.509 certificate.
 * @returns the parsed certificate.
 * @throws DecodeError (`ERR_SC_DECODE`) when node/OpenSSL cannot parse it, or the structure or
 *   one of the extensions this library interprets is malformed.
 */
export function parseCertificate(der: Uint8Array): ParsedCert {
  // Parsing costs ~100 µs (OpenSSL + our DER walk); the same certificates come back on every
  // connection (client credentials, CA names, path building), so keep recent ones by content.
  const id = createHash('sha256').update(der).digest('base64')
  const hit = PARSED.get(id)
  if (hit) {
    PARSED.delete(id)
    PARSED.set(id, hit)
    return hit
  }
  const parsed = parseUncached(der)
  if (PARSED.size >= PARSED_CACHE_SIZE) {
    const oldest = PARSED.keys().next()
    if (!oldest.done) PARSED.delete(oldest.value)
  }
  PARSED.set(id, parsed)
  return parsed
}

/** Parsed certificates by SHA-256 of their DER, least recently used first. */
const PARSED = new Map<string, ParsedCert>()
const PARSED_CACHE_SIZE = 512

function parseUncached(der: Uint8Array): ParsedCert {
  let node: X509Certificate
  try {
    node = new X509Certificate(der)
  } catch (e) {
    throw new DecodeError('Certificate', 0, 'not a parseable X.509 certificate', { cause: e })
  }
  const f = decodeCertFields(der)
  const bc = extValue(f.extensions, ExtensionOid.basicConstraints)
  const ku = extValue(f.extensions, ExtensionOid.keyUsage)
  const eku = extValue(f.extensions, ExtensionOid.extKeyUsage)
  const san = extValue(f.extensions, ExtensionOid.subjectAltName)
  const nc = extValue(f.extensions, ExtensionOid.nameConstraints)
  const subjectKey = nameKey(f.subjectDer)
  const issuerKey = nameKey(f.issuerDer)
  return {
    der,
    node,
    subject: node.subject,
    issuer: node.issuer,
    subjectDer: f.subjectDer,
    issuerDer: f.issuerDer,
    subjectKey,
    issuerKey,
    serialHex: f.serialHex,
    notBefore: f.notBefore,
    notAfter: f.notAfter,
    spkiDer: f.spkiDer,
    extensions: f.extensions,
    basicConstraints: bc ? decodeBasicConstraints(bc) : undefined,
    keyUsage: ku ? decodeKeyUsage(ku) : undefined,
    // Frozen: parsed certificates are cached and shared (identities hand this list out).
    eku: eku ? Object.freeze(decodeEku(eku)) : undefined,
    subjectAltNames: san ? decodeGeneralNames(san) : [],
    nameConstraints: nc ? decodeNameConstraints(nc) : undefined,
    isSelfIssued: subjectKey === issuerKey,
  }
}

/** RDN keys of a Name, re-exported for directoryName constraints and CA matching. */
export { nameKey, nameRdnKeys }

/** True when both byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Splits PEM text into DER certificates (every `CERTIFICATE` block; other blocks are ignored).
 * @throws DecodeError (`ERR_SC_DECODE`) when the text holds no certificate.
 */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = []
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g
  for (let m = re.exec(pem); m; m = re.exec(pem)) {
    out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')))
  }
  if (out.length === 0) throw new DecodeError('PEM', 0, 'no CERTIFICATE block')
  return out
}
