import { X509Certificate, createHash } from 'node:crypto'
import type { Verdict } from '../ea/authenticators.js'
import { DecodeError } from '../errors.js'
import { formatDistinguishedName } from '../oauth/distinguished-name.js'
import { parseCertificate } from '../policy/parsed-cert.js'
import type { ParsedCert } from '../policy/parsed-cert.js'
import type { Purpose, Role } from '../policy/eku.js'

/**
 * The trust decision carried by every {@link Identity}: a validated exported authenticator proves
 * possession of a key (RFC 9261 §5.2.3); whether its chain leads to a configured anchor and what
 * the certificate may stand for (EKU digest §3) is this decision, made once per identity by the
 * server's `trust` option (or, on a client, by the secondary-server-certificate check).
 */
export type TrustDecision =
  | {
      readonly trusted: true
      /** The purpose it was checked for ('device', 'user', 'any', ...). */
      readonly purpose: Purpose
      /** Roles the policy granted (user, device). */
      readonly roles: readonly Role[]
    }
  | {
      readonly trusted: false
      readonly purpose: Purpose | undefined
      /**
       * Why: `no-trust-anchors` (the server has no `trust` option), a chain failure such as
       * `no-path` or `expired`, an EKU failure such as `eku-purpose`, `policy-error` (the policy
       * threw), or `not-evaluated`.
       */
      readonly reason: string
      /** Short lower-case text, safe for a problem-details body. */
      readonly detail: string
    }

/** An identity proven on a connection by a validated exported authenticator. */
export interface Identity {
  /** The label of the request it answered (server side), or of the credential (client side). */
  readonly label: string
  /** DER certificates as received, end-entity first. */
  readonly chain: readonly Uint8Array[]
  /** The end-entity certificate. */
  readonly certificate: X509Certificate
  /**
   * Subject of the end-entity certificate as an RFC 4514 string (`CN=user,O=h2sc test`: the
   * last RDN of the DER Name first, no spaces around `,`); the same text problem bodies, the CLI
   * and `parseDistinguishedName` use.
   */
  readonly subject: string
  /** Issuer of the end-entity certificate, RFC 4514 like `subject`. */
  readonly issuer: string
  /** SHA-256 of the end-entity DER, lower-case hex. */
  readonly sha256: string
  /** Extended key usages of the end-entity certificate (OIDs); empty when the extension is absent. */
  readonly eku: readonly string[]
  /** TLS SignatureScheme of the CertificateVerify. */
  readonly scheme: number
  readonly validatedAt: Date
  /** Per-entry extensions as received (e.g. a stapled OCSP response). */
  readonly entries: Extract<Verdict, { kind: 'identity' }>['entries']
  /**
   * True when the trust decision accepted it. Identities that are not trusted are never handed
   * out as accepted: `identitiesOf` leaves them out and `requestIdentities` reports them as
   * `{ kind: 'untrusted' }`.
   */
  readonly trusted: boolean
  /** Roles granted by the trust decision; empty when not trusted. */
  readonly roles: readonly Role[]
  /** The whole decision, with the reason when not trusted. */
  readonly trust: TrustDecision
}

const NO_EKU: readonly string[] = Object.freeze([])
const NO_ROLES: readonly Role[] = Object.freeze([])

/** Before any decision: what an identity carries until its trust has been decided. */
export const NOT_EVALUATED: TrustDecision = Object.freeze({
  trusted: false,
  purpose: undefined,
  reason: 'not-evaluated',
  detail: 'trust was not evaluated',
})

const names = new WeakMap<ParsedCert, { subject: string; issuer: string }>()

/** RFC 4514 subject and issuer of a parsed certificate, formatted once per parsed certificate. */
export function rfc4514Names(p: ParsedCert): { subject: string; issuer: string } {
  let n = names.get(p)
  if (!n) {
    n = { subject: formatDistinguishedName(p.subjectDer), issuer: formatDistinguishedName(p.issuerDer) }
    names.set(p, n)
  }
  return n
}

/** Node prints one RDN per line in DER order; RFC 4514 wants them reversed and comma-joined. */
function nodeNameToRfc4514(text: string): string {
  return text.split('\n').reverse().join(',')
}

/**
 * Certificate, names and EKU of a leaf through the policy layer's parse cache (the same device
 * and user certificates come back on every connection, and route protection parses them anyway).
 * A leaf whose extensions our DER walk refuses still validated its authenticator, so it gets an
 * identity from node's parse alone; policy will reject it with the reason.
 */
function leafView(der: Uint8Array): { certificate: X509Certificate; subject: string; issuer: string; eku: readonly string[] } {
  try {
    const p = parseCertificate(der)
    return { certificate: p.node, ...rfc4514Names(p), eku: p.eku ?? NO_EKU }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
    const certificate = new X509Certificate(der)
    return {
      certificate,
      subject: nodeNameToRfc4514(certificate.subject),
      issuer: nodeNameToRfc4514(certificate.issuer),
      eku: Object.freeze([...(certificate.keyUsage ?? [])]),
    }
  }
}

/**
 * Builds an Identity from a successful verdict.
 * @param label - the request's (server) or credential's (client) label.
 * @param v - the `identity` verdict of RFC 9261 validation.
 * @param trust - the trust decision; default {@link NOT_EVALUATED} (not trusted).
 * @returns a frozen Identity.
 */
export function identityFromVerdict(
  label: string,
  v: Extract<Verdict, { kind: 'identity' }>,
  trust: TrustDecision = NOT_EVALUATED,
): Identity {
  const leafDer = v.chain[0]!
  const sha256 = createHash('sha256').update(leafDer).digest('hex')
  const { certificate, subject, issuer, eku } = leafView(leafDer)
  return withTrust(
    {
      label,
      chain: v.chain,
      certificate,
      subject,
      issuer,
      sha256,
      eku,
      scheme: v.scheme,
      validatedAt: v.validatedAt,
      entries: v.entries,
      trusted: false,
      roles: NO_ROLES,
      trust: NOT_EVALUATED,
    },
    trust,
  )
}

/**
 * The same identity with a trust decision.
 * @param identity - an identity (its own decision is replaced).
 * @param trust - the decision.
 * @returns a new frozen Identity.
 */
export function withTrust(identity: Identity, trust: TrustDecision): Identity {
  return Object.freeze({
    ...identity,
    trusted: trust.trusted,
    roles: trust.trusted ? Object.freeze([...trust.roles]) : NO_ROLES,
    trust: Object.freeze({ ...trust }),
  })
}
