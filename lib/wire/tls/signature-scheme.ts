/**
 * TLS 1.3 SignatureScheme codepoints (RFC 8446 §4.2.3) and what each requires of the key.
 * RFC 9261 §5.2.2: a CertificateVerify in an authenticator MUST use a TLS 1.3 scheme; the
 * RSASSA-PKCS1-v1_5 schemes and legacy hash pairs are refused.
 *
 * ML-DSA (draft-ietf-tls-mldsa, IANA TLS SignatureScheme registry): mldsa44 0x0904, mldsa65
 * 0x0905, mldsa87 0x0906, pure ML-DSA (FIPS 204) over the signed content with an empty context.
 * Keys are RFC 9881 id-ML-DSA-44/65/87; key type names follow node's `asymmetricKeyType`.
 */

export type KeyType = 'ec' | 'ed25519' | 'ed448' | 'rsa' | 'rsa-pss' | 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87'
export type Curve = 'P-256' | 'P-384' | 'P-521'
export type HashName = 'sha256' | 'sha384' | 'sha512'

export interface SchemeInfo {
  readonly code: number
  readonly name: string
  /** Key type of the leaf's SubjectPublicKeyInfo; `rsa` = rsaEncryption, `rsa-pss` = RSASSA-PSS. */
  readonly keyType: KeyType
  readonly curve?: Curve
  /** Hash the scheme applies to the content before signing; null for EdDSA and ML-DSA. */
  readonly hash: HashName | null
  /** RSA-PSS salt length in bytes (= hash length, RFC 8446 §4.2.3). */
  readonly saltLength?: number
}

export const SignatureScheme = {
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  ecdsa_secp521r1_sha512: 0x0603,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
  ed25519: 0x0807,
  ed448: 0x0808,
  rsa_pss_pss_sha256: 0x0809,
  rsa_pss_pss_sha384: 0x080a,
  rsa_pss_pss_sha512: 0x080b,
  mldsa44: 0x0904,
  mldsa65: 0x0905,
  mldsa87: 0x0906,
  // Refused in authenticators (RFC 9261 §5.2.2), listed so they can be named in errors/tests.
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
  rsa_pkcs1_sha1: 0x0201,
  ecdsa_sha1: 0x0203,
} as const

const TABLE: readonly SchemeInfo[] = [
  { code: 0x0403, name: 'ecdsa_secp256r1_sha256', keyType: 'ec', curve: 'P-256', hash: 'sha256' },
  { code: 0x0503, name: 'ecdsa_secp384r1_sha384', keyType: 'ec', curve: 'P-384', hash: 'sha384' },
  { code: 0x0603, name: 'ecdsa_secp521r1_sha512', keyType: 'ec', curve: 'P-521', hash: 'sha512' },
  { code: 0x0804, name: 'rsa_pss_rsae_sha256', keyType: 'rsa', hash: 'sha256', saltLength: 32 },
  { code: 0x0805, name: 'rsa_pss_rsae_sha384', keyType: 'rsa', hash: 'sha384', saltLength: 48 },
  { code: 0x0806, name: 'rsa_pss_rsae_sha512', keyType: 'rsa', hash: 'sha512', saltLength: 64 },
  { code: 0x0807, name: 'ed25519', keyType: 'ed25519', hash: null },
  { code: 0x0808, name: 'ed448', keyType: 'ed448', hash: null },
  { code: 0x0809, name: 'rsa_pss_pss_sha256', keyType: 'rsa-pss', hash: 'sha256', saltLength: 32 },
  { code: 0x080a, name: 'rsa_pss_pss_sha384', keyType: 'rsa-pss', hash: 'sha384', saltLength: 48 },
  { code: 0x080b, name: 'rsa_pss_pss_sha512', keyType: 'rsa-pss', hash: 'sha512', saltLength: 64 },
  { code: 0x0904, name: 'mldsa44', keyType: 'ml-dsa-44', hash: null },
  { code: 0x0905, name: 'mldsa65', keyType: 'ml-dsa-65', hash: null },
  { code: 0x0906, name: 'mldsa87', keyType: 'ml-dsa-87', hash: null },
]

const BY_CODE = new Map<number, SchemeInfo>(TABLE.map((s) => [s.code, s]))

/**
 * Every scheme allowed in an authenticator's CertificateVerify, in our preference order. A
 * provider offers the subset it can verify (`CryptoProvider.schemes`); each key type has its own
 * schemes, so the order only matters among RSA-PSS hashes.
 */
export const TLS13_SCHEMES: readonly number[] = Object.freeze([
  0x0807, 0x0403, 0x0503, 0x0603, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0904,
  0x0905, 0x0906,
])

/** The ML-DSA schemes (draft-ietf-tls-mldsa), weakest first. */
export const ML_DSA_SCHEMES: readonly number[] = Object.freeze([0x0904, 0x0905, 0x0906])

/** The scheme's requirements, or undefined when it is not a TLS 1.3 scheme we allow. */
export function schemeInfo(code: number): SchemeInfo | undefined {
  return BY_CODE.get(code)
}

/** True for the schemes RFC 9261 §5.2.2 allows. */
export function isTls13Scheme(code: number): boolean {
  return BY_CODE.has(code)
}

/** Name of a scheme for messages (`0x0401` for unknown ones). */
export function schemeName(code: number): string {
  const known = BY_CODE.get(code)?.name
  if (known) return known
  for (const [k, v] of Object.entries(SignatureScheme)) if (v === code) return k
  return `0x${code.toString(16).padStart(4, '0')}`
}

/** True when a key of this type (and curve) can use the scheme. */
export function schemeMatchesKey(code: number, keyType: KeyType, curve?: Curve): boolean {
  const s = BY_CODE.get(code)
  if (!s || s.keyType !== keyType) return false
  return s.keyType !== 'ec' || s.curve === curve
}

/** Schemes (TLS 1.3, preference order) that a key of this type can use. */
export function schemesForKey(keyType: KeyType, curve?: Curve): number[] {
  return TLS13_SCHEMES.filter((c) => schemeMatchesKey(c, keyType, curve))
}
