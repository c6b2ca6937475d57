import type { Curve, HashName, KeyType } from '../wire/tls/signature-scheme.js'

/** What a provider learned about a certificate's public key. */
export interface PublicKeyInfo {
  readonly keyType: KeyType
  readonly curve?: Curve
}

/**
 * A private key imported into one provider. `schemes` lists the TLS 1.3 schemes (our preference
 * order) that this key can sign with in this provider.
 */
export interface SigningKey {
  readonly provider: string
  readonly keyType: KeyType
  readonly curve?: Curve
  readonly schemes: readonly number[]
}

/** An incremental hash (see {@link CryptoProvider.runningHash}). */
export interface RunningHash {
  update(data: Uint8Array): void
  /** Writes the hash of everything so far into `out` at `offset`; hashing can go on. */
  peekInto(out: Uint8Array, offset: number): void
  /** Writes the final hash into `out` at `offset`; the object must not be used again. */
  finishInto(out: Uint8Array, offset: number): void
}

/**
 * The cryptography RFC 9261 needs, behind one interface so the binding can use `node:crypto`
 * (fast, default) and tests can cross-check against a pure-JS implementation.
 *
 * Every call is synchronous, and the byte arguments the RFC 9261 layer passes (data to hash,
 * signed content, signatures) are often views of buffers it reuses: they hold their bytes for
 * the duration of the call only. A provider that keeps one must copy it.
 */
export interface CryptoProvider {
  readonly name: string
  /** TLS 1.3 schemes this provider can sign and verify. */
  readonly schemes: readonly number[]
  digest(hash: HashName, data: Uint8Array): Uint8Array
  /**
   * Optional: writes the digest of `data` into `out` at `offset`, allocating no result buffer.
   * The RFC 9261 hot path uses it for its four hashes per operation when present, and
   * `digest` + copy otherwise.
   */
  digestInto?(hash: HashName, data: Uint8Array, out: Uint8Array, offset: number): void
  /**
   * Optional: an incremental hash whose intermediate value can be read. RFC 9261 hashes
   * `HC || request || Certificate` and then the same bytes plus the CertificateVerify; for long
   * transcripts (RSA, ML-DSA chains) hashing the prefix once is cheaper than twice.
   */
  runningHash?(hash: HashName): RunningHash
  /** Hash of the concatenation of `parts`, without building it (transcripts, RFC 9261 §5.2.2). */
  digestParts(hash: HashName, parts: readonly Uint8Array[]): Uint8Array
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array
  /** Constant-time equality (false when lengths differ). */
  equal(a: Uint8Array, b: Uint8Array): boolean
  randomBytes(n: number): Uint8Array
  /**
   * Key type and curve of a DER X.509 certificate's public key. Throws `DecodeError` for bytes
   * that are not a certificate and `UnsupportedError` for key types we do not handle.
   */
  publicKeyInfo(certDer: Uint8Array): PublicKeyInfo
  /**
   * Verifies a TLS 1.3 signature (DER ECDSA, raw EdDSA, RSA-PSS with salt = hash length) made with
   * the key of `certDer`. Does not check that the scheme matches the key: callers do. Returns
   * false on any verification failure, including malformed signatures.
   */
  verify(scheme: number, certDer: Uint8Array, content: Uint8Array, signature: Uint8Array): boolean
  /** Imports a PKCS#8 / SEC1 / PKCS#1 PEM or PKCS#8 DER private key. */
  importPrivateKey(key: string | Uint8Array): SigningKey
  /** Signs as TLS 1.3 does for the scheme (DER for ECDSA). Throws UsageError on key mismatch. */
  sign(scheme: number, key: SigningKey, content: Uint8Array): Uint8Array
}
