/**
 * The server's trust decision, made once per identity (issue 10 item 1). RFC 9261 validation
 * proves that the peer holds the key of the certificate it sent; it says nothing about who issued
 * that certificate. The `trust` option of the server extension (anchors + EKU preset, or a policy
 * function) decides whether each validated identity is *trusted*, and for which roles (EKU digest
 * §3), before the application sees it. Without a `trust` option nothing is trusted: identities
 * are still validated and reported, as `untrusted` with reason `no-trust-anchors`, and the server
 * says so once when it starts listening.
 */
import { createCertificatePolicy } from '../policy/certificate-policy.js'
import type { CertificatePolicy, CertificatePolicyFn } from '../policy/certificate-policy.js'
import type { Purpose } from '../policy/eku.js'
import { publish } from './diagnostics.js'
import { withTrust } from './identity.js'
import type { Identity, TrustDecision } from './identity.js'

/**
 * Who may authenticate: anchors and an EKU preset (`createCertificatePolicy` options), or a
 * policy function of the same shape as `createCertificatePolicy`'s result.
 */
export type TrustOption = CertificatePolicy | CertificatePolicyFn

/** The resolved trust of one server. */
export interface ServerTrust {
  /** The policy function; undefined when the server has no `trust` option. */
  readonly policy: CertificatePolicyFn | undefined
  /**
   * Decides `identity` for `purpose` and returns it with its decision. Never rejects: a policy
   * that throws gives `{ trusted: false, reason: 'policy-error' }`.
   */
  decide(identity: Identity, purpose: Purpose): Promise<Identity>
}

/** Reason of every identity on a server without a `trust` option. */
export const NO_TRUST_ANCHORS = 'no-trust-anchors'

const NO_ANCHORS_DETAIL = 'the server has no trust anchors configured (secondaryCerts.trust)'

/**
 * Resolves the `trust` option once (anchors are parsed here).
 * @throws UsageError (`ERR_SC_USAGE`) for unparseable or missing anchors.
 */
export function resolveTrust(option: TrustOption | undefined): ServerTrust {
  const policy = option === undefined ? undefined : typeof option === 'function' ? option : createCertificatePolicy(option)
  return {
    policy,
    async decide(identity, purpose) {
      if (!policy) return withTrust(identity, { trusted: false, purpose, reason: NO_TRUST_ANCHORS, detail: NO_ANCHORS_DETAIL })
      let decision: TrustDecision
      try {
        const d = await policy({ chain: identity.chain, entries: identity.entries }, purpose)
        decision = d.accept
          ? { trusted: true, purpose, roles: [...d.roles] }
          : { trusted: false, purpose, reason: d.reason, detail: d.detail }
      } catch (e) {
        decision = { trusted: false, purpose, reason: 'policy-error', detail: `policy failed: ${e instanceof Error ? e.message : 'error'}` }
      }
      const out = withTrust(identity, decision)
      publish('identity', { event: 'identity', role: 'server', label: out.label, subject: out.subject, sha256: out.sha256, trusted: out.trusted, ...(out.trust.trusted ? { roles: out.roles } : { reason: out.trust.reason }) })
      return out
    },
  }
}

/** The purpose a request is checked for: its own, else `device`/`user` by label, else `any`. */
export function purposeOfRequest(label: string, purpose: Purpose | undefined): Purpose {
  return purpose ?? (label === 'device' || label === 'user' ? label : 'any')
}

/** Warning code of {@link warnNoTrustAnchors}. */
export const NO_TRUST_ANCHORS_WARNING = 'SC_NO_TRUST_ANCHORS'

/**
 * Says once, when `server` starts listening, that it trusts no client certificate: a
 * `process.emitWarning` (type `SecondaryCertsWarning`, code `SC_NO_TRUST_ANCHORS`) and a
 * `secondary-certs:identity` diagnostics message `{ event: 'no-trust-anchors' }`.
 */
export function warnNoTrustAnchors(server: { once(event: 'listening', fn: () => void): unknown }): void {
  server.once('listening', () => {
    const message =
      'secondary certificates: this server has no trust anchors (secondaryCerts.trust is not set), ' +
      'so no client identity will be trusted; identitiesOf() stays empty and requestIdentities() ' +
      "reports every answer as 'untrusted'. Pass trust: { anchors, preset } to accept identities."
    publish('identity', { event: 'no-trust-anchors', message })
    process.emitWarning(message, { type: 'SecondaryCertsWarning', code: NO_TRUST_ANCHORS_WARNING })
  })
}
