/**
 * JWT access tokens at a resource server: signature and claim verification with `jose`
 * (RFC 7519, RFC 9068 profile when `typ` is set), then the RFC 8705 §3 certificate binding.
 * Errors follow RFC 6750 §3.1: a missing token gets a bare `Bearer` challenge, a malformed
 * Authorization header `invalid_request` (400), and every verification or binding failure
 * `invalid_token` (401).
 */
import {
  createLocalJWKSet,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose'
import { PolicyRejectedError, UsageError } from '../errors.js'
import {
  checkCertificateBinding,
  type BindingFailure,
  type BindingResult,
  type CertificateSource,
  type ConnectionCertificates,
} from './certificate-binding.js'

/** Keys that may have signed access tokens. */
export type AccessTokenKeys = JSONWebKeySet | JWTVerifyGetKey | KeyObject | CryptoKey | JWK | Uint8Array

/** Options of {@link verifyAccessToken}. */
export interface VerifyAccessTokenOptions {
  /** A JWK Set (wrapped with jose `createLocalJWKSet`), a jose key resolver, or one key. */
  readonly keys: AccessTokenKeys
  /** Expected `iss` (required). */
  readonly issuer: string | readonly string[]
  /** Expected `aud` (required; one match is enough). */
  readonly audience: string | readonly string[]
  /** Clock for `exp`/`nbf`/`iat` (default: now). */
  readonly now?: Date
  /** Allowed JWS algorithms (default: whatever fits the key; `none` is never accepted). */
  readonly algorithms?: readonly string[]
  /** Required `typ` header, e.g. `at+jwt` (RFC 9068 §2.1); default: not checked. */
  readonly typ?: string
  /** Clock skew tolerated on `exp`/`nbf`, in seconds (default 0). */
  readonly clockToleranceSec?: number
}

/** Verified claims of an access token. */
export type AccessTokenClaims = JWTPayload & { readonly cnf?: unknown }

/** Why a token was not accepted. */
export type AccessTokenRejection =
  | 'token-malformed'
  | 'token-signature-invalid'
  | 'token-key-not-found'
  | 'token-alg-not-allowed'
  | 'token-expired'
  | 'token-claim-invalid'

/**
 * An access token failed verification (`code` `ERR_SC_POLICY_REJECTED`). `reason` names the
 * failure; `claim` names the offending claim or header for `token-claim-invalid` (e.g. `aud`).
 */
export class AccessTokenRejectedError extends PolicyRejectedError {
  override readonly reason: AccessTokenRejection
  readonly claim: string | undefined
  constructor(reason: AccessTokenRejection, message: string, options?: { claim?: string; cause?: unknown }) {
    super(reason, message, options)
    this.reason = reason
    this.claim = options?.claim
  }
}

function isJwkSet(k: AccessTokenKeys): k is JSONWebKeySet {
  return typeof k === 'object' && k !== null && Array.isArray((k as { keys?: unknown }).keys)
}

function rejection(e: unknown): AccessTokenRejectedError {
  const code = (e as { code?: unknown }).code
  const claim = (e as { claim?: unknown }).claim
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new AccessTokenRejectedError('token-expired', 'access token expired', { claim: 'exp', cause: e })
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new AccessTokenRejectedError('token-claim-invalid', `access token claim check failed`, {
        ...(typeof claim === 'string' ? { claim } : {}),
        cause: e,
      })
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new AccessTokenRejectedError('token-signature-invalid', 'access token signature invalid', { cause: e })
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new AccessTokenRejectedError('token-key-not-found', 'no single key for the access token', { cause: e })
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new AccessTokenRejectedError('token-alg-not-allowed', 'access token algorithm not allowed', { cause: e })
    default:
      return new AccessTokenRejectedError('token-malformed', 'access token is not a valid JWS JWT', { cause: e })
  }
}

/**
 * Verifies a JWT access token (signature, `iss`, `aud`, `exp`/`nbf`, optional `typ`) with `jose`.
 * Does not look at `cnf`: use {@link checkCertificateBinding} or {@link authorizeRequest}.
 * @param jwt - the compact JWS.
 * @param options - keys, expected issuer and audience, clock.
 * @returns the verified claims.
 * @throws AccessTokenRejectedError (`ERR_SC_POLICY_REJECTED`, with `reason`) when the token is
 *   not acceptable; UsageError (`ERR_SC_USAGE`) for an empty issuer or audience list.
 */
export async function verifyAccessToken(jwt: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  const issuer = typeof options.issuer === 'string' ? options.issuer : [...options.issuer]
  const audience = typeof options.audience === 'string' ? options.audience : [...options.audience]
  if (issuer.length === 0 || audience.length === 0) throw new UsageError('issuer and audience must not be empty')
  const verifyOptions = {
    issuer,
    audience,
    ...(options.now !== undefined ? { currentDate: options.now } : {}),
    ...(options.algorithms !== undefined ? { algorithms: [...options.algorithms] } : {}),
    ...(options.typ !== undefined ? { typ: options.typ } : {}),
    ...(options.clockToleranceSec !== undefined ? { clockTolerance: options.clockToleranceSec } : {}),
  }
  const keys = options.keys
  try {
    if (isJwkSet(keys)) return (await jwtVerify(jwt, createLocalJWKSet(keys), verifyOptions)).payload
    if (typeof keys === 'function') return (await jwtVerify(jwt, keys, verifyOptions)).payload
    return (await jwtVerify(jwt, keys, verifyOptions)).payload
  } catch (e) {
    throw rejection(e)
  }
}

/** Options of {@link authorizeRequest}. */
export interface AuthorizeRequestOptions extends VerifyAccessTokenOptions {
  /** Which certificates of the connection may satisfy the binding. */
  readonly accept: CertificateSource
  /**
   * Reject tokens without `cnf.x5t#S256` (default true). With false, an unbound token passes
   * and `binding` is undefined; a token that *is* bound must still match.
   */
  readonly requireBinding?: boolean
  /** `realm` for the WWW-Authenticate challenge (RFC 6750 §3). */
  readonly realm?: string
}

/** What {@link authorizeRequest} needs from the request. */
export interface AuthorizeRequestInput {
  /** The `authorization` header value, if any. */
  readonly authorization?: string | undefined
  readonly certificates: ConnectionCertificates
}

/** Why a request was refused. */
export type AuthorizeFailure = 'no-token' | 'bad-authorization-header' | AccessTokenRejection | BindingFailure

/** Outcome of {@link authorizeRequest}. */
export type AuthorizeResult =
  | {
      readonly ok: true
      readonly claims: AccessTokenClaims
      /** The matched certificate; undefined for an unbound token when binding is not required. */
      readonly binding: Extract<BindingResult, { ok: true }> | undefined
    }
  | {
      readonly ok: false
      /** 401, or 400 for a malformed Authorization header (RFC 6750 §3.1). */
      readonly status: 400 | 401
      /** RFC 6750 §3.1 error code; undefined when the request carried no token at all. */
      readonly error: 'invalid_request' | 'invalid_token' | undefined
      readonly reason: AuthorizeFailure
      /** Value for the `WWW-Authenticate` response header. */
      readonly wwwAuthenticate: string
    }

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

function challenge(realm: string | undefined, error?: string, description?: string): string {
  const params: string[] = []
  if (realm !== undefined) params.push(`realm="${realm.replace(/["\\]/g, '')}"`)
  if (error !== undefined) params.push(`error="${error}"`)
  if (description !== undefined) params.push(`error_description="${description}"`)
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`
}

/**
 * Resource-server authorization of one request: extract the bearer token (RFC 6750 §2.1),
 * verify it ({@link verifyAccessToken}) and check its certificate binding against the
 * connection ({@link checkCertificateBinding}, RFC 8705 §3).
 * @param input - the Authorization header and the connection's certificates.
 * @param options - verification options plus which certificates count.
 * @returns the claims and the matched certificate, or the HTTP status, RFC 6750 error and
 *   WWW-Authenticate challenge to answer with.
 * @throws UsageError (`ERR_SC_USAGE`) for an empty issuer or audience list.
 */
export async function authorizeRequest(input: AuthorizeRequestInput, options: AuthorizeRequestOptions): Promise<AuthorizeResult> {
  const realm = options.realm
  const header = input.authorization
  if (header === undefined || header.trim() === '') {
    return { ok: false, status: 401, error: undefined, reason: 'no-token', wwwAuthenticate: challenge(realm) }
  }
  const m = BEARER.exec(header)
  if (!m) {
    return {
      ok: false,
      status: 400,
      error: 'invalid_request',
      reason: 'bad-authorization-header',
      wwwAuthenticate: challenge(realm, 'invalid_request', 'malformed Authorization header'),
    }
  }
  const refuse = (reason: AuthorizeFailure, description: string): AuthorizeResult => ({
    ok: false,
    status: 401,
    error: 'invalid_token',
    reason,
    wwwAuthenticate: challenge(realm, 'invalid_token', description),
  })
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(m[1]!, options)
  } catch (e) {
    if (e instanceof AccessTokenRejectedError) return refuse(e.reason, e.reason.replace(/-/g, ' '))
    throw e
  }
  const binding = checkCertificateBinding(claims, input.certificates, { accept: options.accept })
  if (binding.ok) return { ok: true, claims, binding }
  if (binding.reason === 'no-cnf' && options.requireBinding === false) return { ok: true, claims, binding: undefined }
  const text: Record<BindingFailure, string> = {
    'no-cnf': 'token is not certificate-bound',
    'malformed-cnf': 'malformed certificate binding',
    'no-certificate': 'no client certificate on this connection',
    mismatch: 'certificate does not match the token binding',
  }
  return refuse(binding.reason, text[binding.reason])
}
