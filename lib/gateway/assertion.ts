/**
 * The signed identity assertion (`Secondary-Identity-Assertion`): a compact JWS (RFC 7515 §7.1)
 * carrying a JWT (RFC 7519) over what the gateway accepted on the client's connection, so a
 * backend can verify identities without trusting the network path between it and the gateway.
 *
 *   header:  { alg, kid, typ: 'secondary-identity+jwt' }
 *   payload: { iss, aud, iat, exp (≤ 60 s after iat), jti,
 *              identities: { <label>: { sub, 'x5t#S256', roles } },
 *              cnf?: { 'x5t#S256' } }   // RFC 8705 §3.1 style, see below
 *
 * `x5t#S256` is the base64url SHA-256 of the leaf DER (RFC 8705 §3.1). When the request carries a
 * bearer JWT whose `cnf.x5t#S256` names one of the accepted identities, the assertion repeats it
 * in `cnf` (the gateway saw the key holder of that certificate on this connection); the token
 * itself is neither verified nor changed here. The public key is published as a JWKS (RFC 7517
 * §5) on the admin listener.
 */
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, importPKCS8 } from 'jose'
import type { JWK } from 'jose'
import { UsageError } from '../errors.js'
import { x5tS256 } from '../oauth/certificate-binding.js'

/** Options of the assertion. */
export interface AssertionOptions {
  /** Signing key, PEM (PKCS#8, SEC1 or PKCS#1): EC P-256/P-384 (ES256/ES384), Ed25519 (EdDSA), RSA (PS256). */
  readonly key: string | Buffer
  /** `iss`. Default 'h2sc-gateway'. */
  readonly issuer?: string
  /** `aud`. Default: the upstream origin of the route. */
  readonly audience?: string
  /** Lifetime in seconds, 1..60. Default 60. */
  readonly ttlSeconds?: number
}

/** What the assertion is made from, per request. */
export interface AssertionInput {
  readonly identities: readonly { readonly label: string; readonly subject: string; readonly leaf: Uint8Array; readonly roles: readonly string[] }[]
  readonly audience: string
  /** The request's Authorization field, to find a bearer token's `cnf`. */
  readonly authorization?: string | undefined
}

/** Signs assertions and publishes the key. */
export interface AssertionSigner {
  readonly kid: string
  readonly alg: string
  jwks(): { keys: JWK[] }
  sign(input: AssertionInput): Promise<string>
}

function algOf(key: ReturnType<typeof createPrivateKey>): string {
  const t = key.asymmetricKeyType
  if (t === 'ed25519') return 'EdDSA'
  if (t === 'rsa') return 'PS256'
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return 'ES256'
    if (curve === 'secp384r1') return 'ES384'
  }
  throw new UsageError(`assertion key type not supported: ${String(t)}`)
}

/**
 * Loads the key and prepares the JWKS.
 * @throws UsageError (`ERR_SC_USAGE`) for an unreadable or unsupported key, or a ttl outside 1..60 s
 */
export async function createAssertionSigner(o: AssertionOptions): Promise<AssertionSigner> {
  const ttl = o.ttlSeconds ?? 60
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 60) throw new UsageError('assertion ttlSeconds must be 1..60')
  let priv: ReturnType<typeof createPrivateKey>
  try {
    priv = createPrivateKey(o.key)
  } catch (e) {
    throw new UsageError('assertion key is not a private key', { cause: e })
  }
  const alg = algOf(priv)
  const pkcs8 = priv.export({ format: 'pem', type: 'pkcs8' }).toString()
  const signingKey = await importPKCS8(pkcs8, alg)
  const pub = await exportJWK(createPublicKey(priv))
  const kid = await calculateJwkThumbprint(pub)
  const jwk: JWK = { ...pub, kid, alg, use: 'sig' }
  const issuer = o.issuer ?? 'h2sc-gateway'
  return {
    kid,
    alg,
    jwks: () => ({ keys: [jwk] }),
    async sign(input) {
      const identities: Record<string, { sub: string; 'x5t#S256': string; roles: string[] }> = {}
      const thumbprints = new Set<string>()
      for (const i of input.identities) {
        const t = x5tS256(i.leaf)
        thumbprints.add(t)
        identities[i.label] = { sub: i.subject, 'x5t#S256': t, roles: [...i.roles] }
      }
      let cnf: { 'x5t#S256': string } | undefined
      const m = /^Bearer\s+(\S+)$/i.exec(input.authorization ?? '')
      if (m) {
        try {
          const claims = decodeJwt(m[1]!) as { cnf?: { 'x5t#S256'?: unknown } }
          const t = claims.cnf?.['x5t#S256']
          if (typeof t === 'string' && thumbprints.has(t)) cnf = { 'x5t#S256': t }
        } catch {
          // Not a JWT: nothing to bind.
        }
      }
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ identities, ...(cnf ? { cnf } : {}) })
        .setProtectedHeader({ alg, kid, typ: 'secondary-identity+jwt' })
        .setIssuer(issuer)
        .setAudience(o.audience ?? input.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + ttl)
        .setJti(randomUUID())
        .sign(signingKey)
    },
  }
}
