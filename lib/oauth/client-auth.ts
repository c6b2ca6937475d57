/**
 * OAuth client authentication by certificate (RFC 8705 §2) at an authorization server:
 * `tls_client_auth` (PKI method, §2.1) and `self_signed_tls_client_auth` (§2.2), run on the
 * handshake certificate or, in our profile, on a secondary certificate (digest §6).
 *
 * What this module does NOT do: chain validation. For `tls_client_auth` the caller must already
 * have validated the certificate to the AS's client-auth trust anchors (TLS `authorized`, or
 * `policy/chain.ts` for exported authenticators); RFC 8705 §7.4 advises a small set of anchors.
 * A failure maps to `invalid_client` (RFC 6749 §5.2).
 */
import { createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { parseCertificate, type GeneralName } from '../policy/parsed-cert.js'
import type { CertificateSource, ConnectionCertificates } from './certificate-binding.js'
import { distinguishedNameMatches } from './distinguished-name.js'

/** The five `tls_client_auth` metadata forms (RFC 8705 §2.1.2), without the prefix. */
export const TLS_CLIENT_AUTH_FORMS = ['subject_dn', 'san_dns', 'san_uri', 'san_ip', 'san_email'] as const
export type TlsClientAuthForm = (typeof TLS_CLIENT_AUTH_FORMS)[number]

/** A JWK as registered (RFC 7517), with `x5c` (RFC 7517 §4.7: standard base64 DER, leaf first). */
export interface RegisteredJwk {
  readonly kty?: string
  readonly kid?: string
  readonly use?: string
  readonly x5c?: readonly string[]
  readonly [member: string]: unknown
}

/** Client registration metadata used here (RFC 7591 §2, RFC 8705 §2.1.2, §2.2.2). */
export interface MtlsClientMetadata {
  readonly client_id?: string
  readonly token_endpoint_auth_method?: string
  readonly tls_client_auth_subject_dn?: string
  readonly tls_client_auth_san_dns?: string
  readonly tls_client_auth_san_uri?: string
  readonly tls_client_auth_san_ip?: string
  readonly tls_client_auth_san_email?: string
  /** Inline JWK Set. (`jwks_uri` must be fetched by the caller and passed here.) */
  readonly jwks?: { readonly keys: readonly RegisteredJwk[] }
}

/** Why client authentication failed. */
export type ClientAuthFailure =
  /** `token_endpoint_auth_method` is not one of the two RFC 8705 methods. */
  | 'unsupported-method'
  /** No `tls_client_auth_*` value registered. */
  | 'no-metadata'
  /** More than one `tls_client_auth_*` value registered (§2.1.2: exactly one). */
  | 'ambiguous-metadata'
  /** The registered value is unusable (bad DN string, bad IP text, non-string). */
  | 'bad-metadata'
  /** No certificate of an accepted kind. */
  | 'no-certificate'
  /** The certificate does not parse. */
  | 'bad-certificate'
  /** `tls_client_auth_subject_dn` differs from the certificate subject. */
  | 'subject-mismatch'
  /** No SAN entry of the registered kind equals the registered value. */
  | 'san-mismatch'
  /** `self_signed_tls_client_auth` without a (non-empty) `jwks`. */
  | 'no-jwks'
  /** No registered JWK matches the certificate. */
  | 'key-mismatch'

/** Outcome of client authentication. `certificate` is the one that matched (bind tokens to it). */
export type ClientAuthResult =
  | {
      readonly ok: true
      readonly method: 'tls_client_auth'
      readonly matchedBy: TlsClientAuthForm
      readonly certificate: Uint8Array
      readonly source?: 'handshake' | 'secondary'
    }
  | {
      readonly ok: true
      readonly method: 'self_signed_tls_client_auth'
      /** `x5c`: DER equal to the JWK's `x5c[0]`; `public-key`: same key as a JWK without `x5c`. */
      readonly matchedBy: 'x5c' | 'public-key'
      /** Index into `jwks.keys`. */
      readonly keyIndex: number
      readonly certificate: Uint8Array
      readonly source?: 'handshake' | 'secondary'
    }
  | { readonly ok: false; readonly reason: ClientAuthFailure }

/**
 * Parses an IPv4 (dotted decimal, no leading zeros) or IPv6 (RFC 4291 §2.2 text, RFC 5952 or
 * not, optional embedded IPv4, no zone) address into 4 or 16 bytes.
 * @returns the bytes, or undefined when `text` is not such an address.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const kind = isIP(text)
  if (kind === 4) {
    const parts = text.split('.')
    if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return undefined
    return Uint8Array.from(parts.map(Number))
  }
  if (kind !== 6 || text.includes('%')) return undefined
  let head = text
  let v4: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    const tail = parseIpAddress(text.slice(lastColon + 1))
    if (!tail || tail.length !== 4) return undefined
    v4 = [...tail]
    head = text.slice(0, lastColon + 1) + '0:0' // placeholder for two groups
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined]
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const l = groups(left)
  const r = groups(right)
  const words = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r]
  if (words.length !== 8) return undefined
  const out = new Uint8Array(16)
  words.forEach((w, i) => {
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  })
  if (v4.length === 4) out.set(v4, 12)
  return out
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** RFC 5321 §2.4 / digest §2.1: local part exact, domain case-insensitive. */
function emailEqual(a: string, b: string): boolean {
  const at1 = a.lastIndexOf('@')
  const at2 = b.lastIndexOf('@')
  if (at1 < 0 || at2 < 0) return a === b
  return a.slice(0, at1) === b.slice(0, at2) && a.slice(at1 + 1).toLowerCase() === b.slice(at2 + 1).toLowerCase()
}

function sanMatches(form: Exclude<TlsClientAuthForm, 'subject_dn'>, value: string, sans: readonly GeneralName[]): boolean | 'bad-metadata' {
  switch (form) {
    case 'san_dns': {
      // Case-insensitive, exact; no wildcard matching (digest §2.1: RFC 8705 defines none).
      const want = value.toLowerCase()
      return sans.some((n) => n.type === 'dns' && n.value.toLowerCase() === want)
    }
    case 'san_uri':
      return sans.some((n) => n.type === 'uri' && n.value === value)
    case 'san_email':
      return sans.some((n) => n.type === 'email' && emailEqual(n.value, value))
    case 'san_ip': {
      // RFC 8705 §2.1.2 / RFC 5952 §8: compare addresses in binary, never as text.
      const want = parseIpAddress(value)
      if (!want) return 'bad-metadata'
      return sans.some((n) => n.type === 'ip' && bytesEqual(n.bytes, want))
    }
  }
}

/**
 * `tls_client_auth` (RFC 8705 §2.1.2): exactly one `tls_client_auth_*` value is registered and
 * the (already chain-validated) certificate matches it. Subject DNs are compared per
 * `distinguished-name.ts` (RDN order significant, types by OID, string values trimmed,
 * whitespace-collapsed, case-insensitive); `san_dns` case-insensitively without wildcards;
 * `san_uri` exactly; `san_email` with a case-insensitive domain; `san_ip` as 4/16 bytes.
 * @param metadata - the client's registration.
 * @param certDer - the end-entity certificate.
 * @returns ok with the form that matched, or the failure.
 */
export function matchTlsClientAuth(metadata: MtlsClientMetadata, certDer: Uint8Array): ClientAuthResult {
  const present = TLS_CLIENT_AUTH_FORMS.filter((f) => metadata[`tls_client_auth_${f}`] !== undefined)
  if (present.length === 0) return { ok: false, reason: 'no-metadata' }
  if (present.length > 1) return { ok: false, reason: 'ambiguous-metadata' }
  const form = present[0]!
  const value: unknown = metadata[`tls_client_auth_${form}`]
  if (typeof value !== 'string' || value === '') return { ok: false, reason: 'bad-metadata' }
  let cert: ReturnType<typeof parseCertificate>
  try {
    cert = parseCertificate(certDer)
  } catch {
    return { ok: false, reason: 'bad-certificate' }
  }
  if (form === 'subject_dn') {
    let equal: boolean
    try {
      equal = distinguishedNameMatches(value, cert.subjectDer)
    } catch {
      return { ok: false, reason: 'bad-metadata' }
    }
    return equal
      ? { ok: true, method: 'tls_client_auth', matchedBy: form, certificate: certDer }
      : { ok: false, reason: 'subject-mismatch' }
  }
  const m = sanMatches(form, value, cert.subjectAltNames)
  if (m === 'bad-metadata') return { ok: false, reason: 'bad-metadata' }
  return m ? { ok: true, method: 'tls_client_auth', matchedBy: form, certificate: certDer } : { ok: false, reason: 'san-mismatch' }
}

function jwkPublicKey(jwk: RegisteredJwk): KeyObject | undefined {
  if (jwk.kty !== 'EC' && jwk.kty !== 'RSA' && jwk.kty !== 'OKP') return undefined
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    return key.type === 'public' ? key : createPublicKey(key)
  } catch {
    return undefined
  }
}

function x5cLeaf(jwk: RegisteredJwk): Uint8Array | undefined {
  const first = jwk.x5c?.[0]
  // RFC 7517 §4.7: base64 (not base64url) DER.
  if (typeof first !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(first)) return undefined
  return new Uint8Array(Buffer.from(first, 'base64'))
}

/** Options of {@link matchSelfSignedTlsClientAuth}. */
export interface SelfSignedOptions {
  /**
   * Only JWKs with `x5c` count, matched by certificate DER (the stricter reading of RFC 8705
   * §2.2, digest §2.2). Default false: a JWK without `x5c` matches a certificate with the same
   * public key.
   */
  readonly requireX5c?: boolean
}

/**
 * `self_signed_tls_client_auth` (RFC 8705 §2.2): the certificate matches one of the client's
 * registered JWKs. A JWK with `x5c` matches when `x5c[0]` is the same DER as the certificate and
 * the JWK's own key members (if any) are that certificate's key (RFC 7517 §4.7); a JWK without
 * `x5c` matches when its public key equals the certificate's (node `KeyObject.equals`), unless
 * `requireX5c`. The certificate chain is not validated (§2.2).
 * @param metadata - the client's registration with `jwks`.
 * @param certDer - the presented end-entity certificate.
 * @param options - matching strictness.
 * @returns ok with the JWK index and how it matched, or the failure.
 */
export function matchSelfSignedTlsClientAuth(
  metadata: MtlsClientMetadata,
  certDer: Uint8Array,
  options: SelfSignedOptions = {},
): ClientAuthResult {
  const keys = metadata.jwks?.keys
  if (!Array.isArray(keys) || keys.length === 0) return { ok: false, reason: 'no-jwks' }
  let certKey: KeyObject
  try {
    certKey = new X509Certificate(certDer).publicKey
  } catch {
    return { ok: false, reason: 'bad-certificate' }
  }
  for (let i = 0; i < keys.length; i++) {
    const jwk = keys[i]!
    const leaf = x5cLeaf(jwk)
    const key = jwkPublicKey(jwk)
    if (leaf) {
      if (!bytesEqual(leaf, certDer)) continue
      // Key members, when present, must describe the x5c[0] key (RFC 7517 §4.7).
      const hasKeyMembers = ['n', 'x'].some((m) => jwk[m] !== undefined)
      if (hasKeyMembers && !(key && key.equals(certKey))) continue
      return { ok: true, method: 'self_signed_tls_client_auth', matchedBy: 'x5c', keyIndex: i, certificate: certDer }
    }
    if (options.requireX5c === true || jwk.x5c !== undefined) continue
    if (key && key.equals(certKey)) {
      return { ok: true, method: 'self_signed_tls_client_auth', matchedBy: 'public-key', keyIndex: i, certificate: certDer }
    }
  }
  return { ok: false, reason: 'key-mismatch' }
}

/** Options of {@link authenticateMtlsClient}. */
export interface AuthenticateMtlsClientOptions extends SelfSignedOptions {
  /** Which certificates of the connection may authenticate the client (default `'any'`). */
  readonly accept?: CertificateSource
}

/**
 * Authenticates an OAuth client by the certificates of its connection, per its registered
 * `token_endpoint_auth_method` (RFC 8705 §2.1.1 / §2.2.1). Tries the handshake certificate
 * first, then each secondary certificate (digest §6: with several, use the one that matches
 * the registration, and bind tokens to that one).
 * @param metadata - the client's registration.
 * @param certs - the connection's certificates (chain-validated already for `tls_client_auth`).
 * @param options - which certificates count; self-signed strictness.
 * @returns ok with the matching certificate and its source, or the most specific failure.
 */
export function authenticateMtlsClient(
  metadata: MtlsClientMetadata,
  certs: ConnectionCertificates,
  options: AuthenticateMtlsClientOptions = {},
): ClientAuthResult {
  const method = metadata.token_endpoint_auth_method
  if (method !== 'tls_client_auth' && method !== 'self_signed_tls_client_auth') return { ok: false, reason: 'unsupported-method' }
  const accept = options.accept ?? 'any'
  const candidates: { source: 'handshake' | 'secondary'; der: Uint8Array }[] = []
  if (accept !== 'secondary' && certs.handshake !== undefined) candidates.push({ source: 'handshake', der: certs.handshake })
  if (accept !== 'handshake') for (const der of certs.secondary) candidates.push({ source: 'secondary', der })
  if (candidates.length === 0) return { ok: false, reason: 'no-certificate' }
  let failure: ClientAuthResult | undefined
  for (const c of candidates) {
    const r = method === 'tls_client_auth' ? matchTlsClientAuth(metadata, c.der) : matchSelfSignedTlsClientAuth(metadata, c.der, options)
    if (r.ok) return { ...r, source: c.source }
    // Registration problems do not depend on the certificate: stop at once.
    if (r.reason === 'no-metadata' || r.reason === 'ambiguous-metadata' || r.reason === 'bad-metadata' || r.reason === 'no-jwks') return r
    failure ??= r
  }
  return failure ?? { ok: false, reason: 'no-certificate' }
}
