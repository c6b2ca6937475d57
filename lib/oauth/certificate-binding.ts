/**
 * Certificate-bound access tokens (RFC 8705 §3): the `x5t#S256` confirmation method and the
 * resource server's check that a token's binding matches a certificate of the connection.
 * Digest: shared/spec/oauth-mtls-rfc8705.md §3 and §6 (our secondary-certificate profile).
 *
 * RFC 8705 §3.1:
 * > x5t#S256: The X.509 Certificate SHA-256 Thumbprint ... base64url-encoded SHA-256 hash
 * > (a.k.a. digest, fingerprint) of the DER encoding of the X.509 certificate.
 *
 * The profile of digest §6 lets a token bound to a certificate presented later through an
 * RFC 9261 exported authenticator ("secondary") be accepted too; the thumbprint is unchanged,
 * only which certificates of the connection count differs (`accept`).
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * The RFC 8705 §3.1 `x5t#S256` thumbprint: base64url (RFC 4648 §5, no padding) of SHA-256 over
 * the certificate's DER.
 * @param certDer - one DER X.509 certificate (the end-entity certificate).
 * @returns 43 base64url characters.
 */
export function x5tS256(certDer: Uint8Array): string {
  return createHash('sha256').update(certDer).digest('base64url')
}

const B64URL_43 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/**
 * Decodes an `x5t#S256` value strictly: exactly 43 base64url characters, no padding, whitespace
 * or `+`/`/`, and canonical (the unused low bits of the last character are zero), giving 32 bytes.
 * @param value - the claim value.
 * @returns the 32-byte SHA-256 digest, or undefined when the value is not in that form.
 */
export function decodeX5tS256(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !B64URL_43.test(value)) return undefined
  const bytes = Buffer.from(value, 'base64url')
  return bytes.length === 32 ? new Uint8Array(bytes) : undefined
}

/** Which certificates of a connection may satisfy a binding (digest §6 "which certificate"). */
export type CertificateSource = 'handshake' | 'secondary' | 'any'

/** The certificates proven on one connection (end-entity DER of each). */
export interface ConnectionCertificates {
  /** The client certificate of the TLS handshake, if one was sent. */
  readonly handshake?: Uint8Array | undefined
  /**
   * End-entity certificates of validated, non-empty exported authenticators on this connection
   * (never from another connection, digest §6 "replay / scope").
   */
  readonly secondary: readonly Uint8Array[]
}

/** Token claims as far as the binding is concerned (a JWT payload or an introspection response). */
export interface ConfirmationClaims {
  /** RFC 7800 confirmation; RFC 8705 §3.1 puts `x5t#S256` in it. */
  readonly cnf?: unknown
}

/** Why a binding check failed. */
export type BindingFailure =
  /** No `cnf` claim, or no `x5t#S256` member in it. */
  | 'no-cnf'
  /** `cnf` is not an object, or `x5t#S256` is not 43 canonical base64url characters. */
  | 'malformed-cnf'
  /** No certificate of an accepted kind on the connection. */
  | 'no-certificate'
  /** Certificates were there but none has the token's thumbprint. */
  | 'mismatch'

/** Outcome of {@link checkCertificateBinding}. */
export type BindingResult =
  | { readonly ok: true; readonly matched: 'handshake'; readonly certificate: Uint8Array; readonly thumbprint: string }
  | {
      readonly ok: true
      readonly matched: 'secondary'
      /** Index into `certs.secondary`. */
      readonly index: number
      readonly certificate: Uint8Array
      readonly thumbprint: string
    }
  | { readonly ok: false; readonly reason: BindingFailure }

/** Options of {@link checkCertificateBinding}. */
export interface BindingOptions {
  /**
   * `'handshake'`: RFC 8705 proper (only the TLS handshake certificate); `'secondary'`: only
   * exported-authenticator certificates; `'any'`: either (digest §6).
   */
  readonly accept: CertificateSource
}

/**
 * Resource-server check of RFC 8705 §3: does a certificate of this connection have the token's
 * `cnf.x5t#S256` thumbprint? Thumbprints are compared in constant time (`timingSafeEqual` on the
 * 32-byte digests), and every accepted certificate is hashed and compared, match or not.
 * A failure maps to HTTP 401 `error="invalid_token"` (RFC 8705 §3, RFC 6750 §3.1).
 * @param claims - the verified token claims.
 * @param certs - the connection's certificates.
 * @param options - which certificates count.
 * @returns which certificate matched, or the named failure.
 */
export function checkCertificateBinding(
  claims: ConfirmationClaims,
  certs: ConnectionCertificates,
  options: BindingOptions,
): BindingResult {
  const cnf = claims.cnf
  if (cnf === undefined || cnf === null) return { ok: false, reason: 'no-cnf' }
  if (typeof cnf !== 'object' || Array.isArray(cnf)) return { ok: false, reason: 'malformed-cnf' }
  const raw = (cnf as Record<string, unknown>)['x5t#S256']
  if (raw === undefined) return { ok: false, reason: 'no-cnf' }
  const want = decodeX5tS256(raw)
  if (!want) return { ok: false, reason: 'malformed-cnf' }

  const candidates: { readonly source: 'handshake' | 'secondary'; readonly index: number; readonly der: Uint8Array }[] = []
  if (options.accept !== 'secondary' && certs.handshake !== undefined) {
    candidates.push({ source: 'handshake', index: 0, der: certs.handshake })
  }
  if (options.accept !== 'handshake') {
    certs.secondary.forEach((der, index) => candidates.push({ source: 'secondary', index, der }))
  }
  if (candidates.length === 0) return { ok: false, reason: 'no-certificate' }

  let found: (typeof candidates)[number] | undefined
  for (const c of candidates) {
    const got = createHash('sha256').update(c.der).digest()
    const equal = timingSafeEqual(got, want)
    if (equal && found === undefined) found = c
  }
  if (!found) return { ok: false, reason: 'mismatch' }
  const thumbprint = raw as string
  return found.source === 'handshake'
    ? { ok: true, matched: 'handshake', certificate: found.der, thumbprint }
    : { ok: true, matched: 'secondary', index: found.index, certificate: found.der, thumbprint }
}
