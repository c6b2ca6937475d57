/**
 * Certificate builders for the policy specs: small wrappers over `issueCertificate` of the test
 * PKI, plus raw DER for the extensions it does not type (IP/email/URI name constraints, unknown
 * critical extensions). Clock: every certificate here is valid for a year from `T0 - 1 h`.
 */
import { issueCertificate } from '../../lib/pki/test-pki.js'
import type {
  IssueCertificateOptions,
  PkiKeyType,
  RawExtension,
  TestCredential,
} from '../../lib/pki/test-pki.js'

export { EKU } from '../../lib/pki/test-pki.js'
export type { TestCredential } from '../../lib/pki/test-pki.js'

/** Reference time of the specs. */
export const T0 = new Date('2026-01-15T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR
export const NOT_BEFORE = new Date(T0.getTime() - HOUR)
export const NOT_AFTER = new Date(T0.getTime() + 365 * DAY)

/** A self-signed root CA. */
export function root(cn: string, keyType: PkiKeyType = 'p256', more: Partial<IssueCertificateOptions> = {}): Promise<TestCredential> {
  return issueCertificate({
    subject: `CN=${cn}, O=policy spec`,
    keyType,
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign'],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    ...more,
  })
}

/** An intermediate CA under `issuer`. */
export function intermediate(
  cn: string,
  issuer: TestCredential,
  more: Partial<IssueCertificateOptions> = {},
): Promise<TestCredential> {
  return issueCertificate({
    subject: `CN=${cn}, O=policy spec`,
    issuer,
    keyType: issuer.keyType === 'rsa-pss' ? 'rsa' : issuer.keyType,
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign'],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    ...more,
  })
}

/** An end-entity certificate under `issuer` (keyUsage digitalSignature unless overridden). */
export function leaf(
  cn: string,
  issuer: TestCredential,
  more: Partial<IssueCertificateOptions> = {},
): Promise<TestCredential> {
  return issueCertificate({
    subject: `CN=${cn}, O=policy spec`,
    issuer,
    keyType: issuer.keyType === 'rsa-pss' ? 'rsa' : issuer.keyType,
    basicConstraints: { ca: false },
    keyUsage: ['digitalSignature'],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    ...more,
  })
}

// --- raw DER ------------------------------------------------------------------------------

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Uint8Array.from([tag, ...len, ...body])
}
const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]))
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A GeneralName base for name constraints. IP as `'10.0.0.0/8'` or `'fd00::/8'`. */
export type ConstraintName = { dns: string } | { ip: string } | { email: string } | { uri: string }

function ipWithMask(cidr: string): Uint8Array {
  const [addr, bitsText] = cidr.split('/') as [string, string]
  const bits = Number(bitsText)
  let bytes: number[]
  if (addr.includes(':')) {
    const [head, tail] = addr.split('::') as [string, string | undefined]
    const h = head ? head.split(':') : []
    const t = tail ? tail.split(':') : []
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
    bytes = groups.flatMap((g) => {
      const v = parseInt(g, 16)
      return [v >> 8, v & 0xff]
    })
  } else {
    bytes = addr.split('.').map(Number)
  }
  const mask = bytes.map((_, i) => {
    const b = Math.max(0, Math.min(8, bits - 8 * i))
    return (0xff << (8 - b)) & 0xff
  })
  return Uint8Array.from([...bytes, ...mask])
}

function generalName(n: ConstraintName): Uint8Array {
  if ('dns' in n) return tlv(0x82, ascii(n.dns))
  if ('email' in n) return tlv(0x81, ascii(n.email))
  if ('uri' in n) return tlv(0x86, ascii(n.uri))
  return tlv(0x87, ipWithMask(n.ip))
}

/** A critical nameConstraints extension (RFC 5280 §4.2.1.10) over any of the supported forms. */
export function nameConstraintsExtension(
  permitted: readonly ConstraintName[],
  excluded: readonly ConstraintName[] = [],
): RawExtension {
  const subtrees = (tag: number, names: readonly ConstraintName[]): Uint8Array[] =>
    names.length === 0 ? [] : [tlv(tag, cat(names.map((n) => tlv(0x30, generalName(n)))))]
  return {
    oid: '2.5.29.30',
    critical: true,
    value: tlv(0x30, cat([...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded)])),
  }
}

/** An extension no validator knows, critical or not (value: an empty SEQUENCE). */
export function unknownExtension(critical: boolean): RawExtension {
  return { oid: '1.3.6.1.4.1.55555.1.1', critical, value: Uint8Array.from([0x30, 0x00]) }
}

/** A copy of `der` with the last byte (inside the signature) flipped. */
export function corruptSignature(der: Uint8Array): Uint8Array {
  const out = Uint8Array.from(der)
  out[out.length - 1] = out[out.length - 1]! ^ 0x01
  return out
}
