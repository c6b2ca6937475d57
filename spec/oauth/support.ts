/**
 * Certificate and token builders for the OAuth specs: self-signed P-256 certificates made with
 * @peculiar/x509 over WebCrypto keys, with the subject given as RDNs in DER order (each value
 * with its ASN.1 string type) so DN-matching specs control exactly what is encoded; JWTs signed
 * with jose.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { KeyObject, webcrypto } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'

type CryptoKeyPair = webcrypto.CryptoKeyPair
type CryptoKey = webcrypto.CryptoKey

/** One attribute value with its string type (`utf8String`, `printableString`, `ia5String`…). */
export type Rdn = Record<string, ({ utf8String: string } | { printableString: string } | { ia5String: string })[]>

/** Options of {@link makeCert}. */
export interface CertOptions {
  /** RDNs in DER order (most significant first, e.g. C then O then CN). */
  readonly subject?: readonly Rdn[]
  readonly dns?: readonly string[]
  readonly ips?: readonly string[]
  readonly emails?: readonly string[]
  readonly uris?: readonly string[]
  /** Reuse a key pair (same public key, different certificate). */
  readonly keys?: CryptoKeyPair
}

/** A certificate and its key pair. */
export interface MadeCert {
  readonly der: Uint8Array
  readonly keys: CryptoKeyPair
  /** Public key as a JWK (no x5c). */
  readonly jwk: JWK
  /** Standard base64 DER, as in a JWK's `x5c`. */
  readonly x5c: string
}

let serial = 1

/** A fresh self-signed P-256 certificate. */
export async function makeCert(options: CertOptions = {}): Promise<MadeCert> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = options.keys ?? ((await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair)
  const names = [
    ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ]
  const subject = options.subject ?? [{ '2.5.4.3': [{ utf8String: 'client' }] }]
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: new x509.Name(subject as x509.JsonNameParams),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: alg,
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : [],
  })
  const der = new Uint8Array(cert.rawData)
  const jwk = await exportJWK(KeyObject.from(keys.publicKey))
  return { der, keys, jwk, x5c: Buffer.from(der).toString('base64') }
}

/** An AS signing key and its public JWK Set. */
export interface Issuer {
  readonly privateKey: CryptoKey | KeyObject
  readonly publicKey: CryptoKey | KeyObject
  readonly jwks: { keys: JWK[] }
  sign(claims: JWTPayload, options?: { expiresAt?: Date; issuedAt?: Date; kid?: string; typ?: string }): Promise<string>
}

export const ISSUER = 'https://as.example'
export const AUDIENCE = 'https://rs.example'
/** The specs' clock. */
export const NOW = new Date('2026-06-01T12:00:00Z')

/** A fresh ES256 issuer with kid `k1`. */
export async function makeIssuer(kid = 'k1'): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  return {
    privateKey,
    publicKey,
    jwks: { keys: [jwk] },
    sign: (claims, o = {}) => {
      const iat = Math.floor((o.issuedAt ?? new Date(NOW.getTime() - 60_000)).getTime() / 1000)
      const exp = Math.floor((o.expiresAt ?? new Date(NOW.getTime() + 3_600_000)).getTime() / 1000)
      return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'client-1', iat, exp, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? kid, typ: o.typ ?? 'at+jwt' })
        .sign(privateKey)
    },
  }
}
