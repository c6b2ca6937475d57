/**
 * The client's default credential choice (RFC 9261 §5.2.1: the authenticator must answer the
 * request's fields) with the reason when nothing fits, so a decline always says why (issue 10
 * item 4). Pure: no sockets; the clock is passed in.
 */
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import { matchesCertificateAuthorities, matchesOidFilters } from '../policy/certificate-policy.js'
import type { LoadedCredential } from './credentials.js'

/**
 * Why the client answered a request with the empty authenticator:
 * - `no-credentials`: the client holds none;
 * - `no-matching-credential`: none fits signature_algorithms, certificate_authorities and
 *   oid_filters;
 * - `expired` / `not-yet-valid`: only credentials outside their validity period would fit (the
 *   default selector never presents those);
 * - `selector-declined` / `selector-error`: the application's selector returned nothing or threw;
 * - `over-size`: the chosen credential's authenticator exceeds the server's SETTINGS_MAX_FRAME_SIZE
 *   or our limit; `unusable-credential`: it could not be used for another reason (no offered
 *   scheme fits its key).
 */
export type DeclineReason =
  | 'no-credentials'
  | 'no-matching-credential'
  | 'expired'
  | 'not-yet-valid'
  | 'selector-declined'
  | 'selector-error'
  | 'over-size'
  | 'unusable-credential'

/** A credential, or the reason there is none. */
export type Selection =
  | { readonly kind: 'credential'; readonly credential: LoadedCredential }
  | { readonly kind: 'decline'; readonly reason: DeclineReason }

/** Whether the leaf is inside its validity period at `now` (RFC 5280 §4.1.2.5). */
function validity(c: LoadedCredential, now: Date): 'valid' | 'expired' | 'not-yet-valid' {
  const t = now.getTime()
  if (t < new Date(c.leaf.validFrom).getTime()) return 'not-yet-valid'
  if (t > new Date(c.leaf.validTo).getTime()) return 'expired'
  return 'valid'
}

/**
 * Picks a credential for `request`: a key that can use an offered scheme, a chain issued under
 * one of certificate_authorities, a leaf matching every oid_filter, inside its validity period;
 * prefers credentials not yet presented on this connection.
 * @param request - the decoded CertificateRequest.
 * @param credentials - what the client holds.
 * @param alreadyPresented - labels presented earlier on this connection.
 * @param now - the clock.
 * @returns the credential, or the reason to decline.
 */
export function selectCredential(
  request: CertificateRequest,
  credentials: readonly LoadedCredential[],
  alreadyPresented: readonly string[],
  now: Date,
): Selection {
  if (credentials.length === 0) return { kind: 'decline', reason: 'no-credentials' }
  const matching = credentials.filter(
    (c) =>
      c.key.schemes.some((s) => request.signatureAlgorithms.includes(s)) &&
      (!request.certificateAuthorities || matchesCertificateAuthorities(c.chain, request.certificateAuthorities)) &&
      (!request.oidFilters || matchesOidFilters(c.chain[0]!, request.oidFilters)),
  )
  const fits = matching.filter((c) => validity(c, now) === 'valid')
  const chosen = fits.find((c) => !alreadyPresented.includes(c.label)) ?? fits[0]
  if (chosen) return { kind: 'credential', credential: chosen }
  if (matching.length === 0) return { kind: 'decline', reason: 'no-matching-credential' }
  return { kind: 'decline', reason: matching.some((c) => validity(c, now) === 'expired') ? 'expired' : 'not-yet-valid' }
}
