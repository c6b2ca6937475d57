/**
 * Route protection: a declarative requirement ("a device and a user, issued under CA X, subject
 * matching ...") checked against the identities of a connection. When not met it triggers the
 * authenticator requests, holds the response until the answers are validated or a timeout passes,
 * then continues or answers 403 with a problem-details body (RFC 9457) saying what was missing.
 * Concurrent requests on one connection share one outstanding exchange per need.
 *
 * Policy rejections never become connection errors (SERVER -02 §6.2, CLIENT -00 §4.2.1).
 */
import type http2 from 'node:http2'
import { ensureSessionState } from './session-policy.js'
import { sessionCerts } from './attach-server.js'
import type { IdentityRequest } from './attach-server.js'
import type { Identity } from './identity.js'
import type { CertificatePolicyFn } from '../policy/certificate-policy.js'
import { certificateAuthoritiesFromAnchors, ekuOidFilter } from '../policy/certificate-policy.js'
import type { AnchorInput } from '../policy/chain.js'
import type { Decision, Purpose } from '../policy/eku.js'

/** One identity a route needs. */
export interface IdentityNeed {
  /** Name of the need, used in requests, results and problem details (e.g. 'device'). */
  readonly label: string
  /** EKU role asked for and checked by the policy. Default: the label when 'device' or 'user'. */
  readonly purpose?: Exclude<Purpose, 'server-peer'>
  /** The end-entity subject must match (Node's one-line-per-RDN subject text). */
  readonly subject?: RegExp
  /** Some certificate of the validated path (issuers and anchor) must have a matching subject. */
  readonly issuer?: RegExp
}

/** What a route requires of the connection. */
export interface IdentityRequirement {
  readonly needs: readonly IdentityNeed[]
  /** Chain + EKU policy (`createCertificatePolicy`). */
  readonly policy: CertificatePolicyFn
  /** Anchors to name in certificate_authorities so the client's selector can choose. Optional. */
  readonly requestAnchors?: readonly AnchorInput[]
  /** How long to hold the response for the answers. Default 10 s. */
  readonly timeoutMs?: number
}

/** A need that was met, with the identity and the policy decision. */
export interface MetNeed {
  readonly label: string
  readonly identity: Identity
  readonly decision: Extract<Decision, { accept: true }>
}

/** A need that was not met and why. */
export interface MissingNeed {
  readonly label: string
  /** 'not-presented' | 'declined' | 'timeout' | 'closed' | a policy reason (chain or EKU). */
  readonly reason: string
  readonly detail: string
}

export type RequirementResult =
  | { readonly ok: true; readonly met: readonly MetNeed[] }
  | { readonly ok: false; readonly met: readonly MetNeed[]; readonly missing: readonly MissingNeed[] }

function purposeOf(n: IdentityNeed): Exclude<Purpose, 'server-peer'> {
  return n.purpose ?? (n.label === 'device' || n.label === 'user' ? n.label : 'any')
}

async function evaluate(
  identity: Identity,
  need: IdentityNeed,
  policy: CertificatePolicyFn,
  cache: WeakMap<Identity, Map<string, Promise<Decision>>>,
): Promise<{ ok: true; decision: Extract<Decision, { accept: true }> } | { ok: false; reason: string; detail: string }> {
  const purpose = purposeOf(need)
  let perIdentity = cache.get(identity)
  if (!perIdentity) {
    perIdentity = new Map()
    cache.set(identity, perIdentity)
  }
  let p = perIdentity.get(purpose)
  if (!p) {
    p = policy({ chain: identity.chain, entries: identity.entries }, purpose)
    perIdentity.set(purpose, p)
  }
  const d = await p
  if (!d.accept) return { ok: false, reason: d.reason, detail: d.detail }
  if (need.subject && !need.subject.test(identity.subject)) {
    return { ok: false, reason: 'subject-mismatch', detail: `subject does not match ${String(need.subject)}` }
  }
  if (need.issuer && !d.path.slice(1).some((c) => need.issuer!.test(c.subject))) {
    return { ok: false, reason: 'issuer-mismatch', detail: `no issuer matches ${String(need.issuer)}` }
  }
  return { ok: true, decision: d }
}

/**
 * Checks the requirement against the connection of `target`, asking the client for what is
 * missing (once per need, shared by concurrent callers). Never throws for peer behaviour.
 */
export async function ensureIdentities(
  target: http2.Http2ServerRequest | http2.ServerHttp2Stream | http2.Http2Session,
  requirement: IdentityRequirement,
): Promise<RequirementResult> {
  const ctl = sessionCerts(target)
  const state = ensureSessionState(ctl)
  const met: MetNeed[] = []
  const failures = new Map<string, MissingNeed>()

  const tryMeet = async (need: IdentityNeed): Promise<MetNeed | MissingNeed> => {
    let last: MissingNeed | undefined
    for (const identity of ctl?.identities ?? []) {
      const r = await evaluate(identity, need, requirement.policy, state.decisions)
      if (r.ok) return { label: need.label, identity, decision: r.decision }
      last = { label: need.label, reason: r.reason, detail: r.detail }
    }
    return last ?? { label: need.label, reason: 'not-presented', detail: 'no identity presented' }
  }

  const first = await Promise.all(requirement.needs.map(tryMeet))
  const missingNeeds: IdentityNeed[] = []
  first.forEach((r, i) => {
    if ('identity' in r) met.push(r)
    else missingNeeds.push(requirement.needs[i]!)
  })
  if (missingNeeds.length === 0) return { ok: true, met }
  if (!ctl) {
    return {
      ok: false,
      met,
      missing: missingNeeds.map((n) => ({ label: n.label, reason: 'not-supported', detail: 'client does not speak secondary certificates' })),
    }
  }

  // One exchange per need label per connection: join an in-flight one, or start a new one for
  // every need nobody is asking for yet.
  const toAsk = missingNeeds.filter((n) => !state.inFlight.has(n.label))
  if (toAsk.length > 0) {
    const caNames = requirement.requestAnchors ? certificateAuthoritiesFromAnchors(requirement.requestAnchors) : undefined
    const requests: IdentityRequest[] = toAsk.map((n) => {
      const purpose = purposeOf(n)
      return {
        label: n.label,
        ...(purpose !== 'any' ? { oidFilters: [ekuOidFilter(purpose)] } : {}),
        ...(caNames && caNames.length > 0 ? { certificateAuthorities: caNames } : {}),
      }
    })
    const exchange = ctl.requestIdentities(requests, { timeoutMs: requirement.timeoutMs ?? 10000 })
    toAsk.forEach((n, i) => {
      const p = exchange.then(
        (outcomes) => outcomes[i]!,
        (e: unknown) => {
          throw e
        },
      )
      p.catch(() => {})
      state.inFlight.set(n.label, p)
      void p.finally(() => state.inFlight.delete(n.label)).catch(() => {})
    })
  }
  for (const n of missingNeeds) {
    const p = state.inFlight.get(n.label)
    if (!p) continue
    try {
      const o = await p
      if (o.kind === 'declined') failures.set(n.label, { label: n.label, reason: 'declined', detail: 'the client declined the request' })
    } catch (e) {
      const code = (e as { code?: string }).code
      failures.set(n.label, {
        label: n.label,
        reason: code === 'ERR_SC_TIMEOUT' ? 'timeout' : code === 'ERR_SC_CLOSED' ? 'closed' : 'protocol-error',
        detail: (e as Error).message,
      })
    }
  }
  const missing: MissingNeed[] = []
  for (const n of missingNeeds) {
    const r = await tryMeet(n)
    if ('identity' in r) met.push(r)
    else missing.push(failures.get(n.label) ?? r)
  }
  return missing.length === 0 ? { ok: true, met } : { ok: false, met, missing }
}

/** The RFC 9457 problem-details body of a 403. */
export function problemDetails(result: Extract<RequirementResult, { ok: false }>): Record<string, unknown> {
  return {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    detail: `missing identity: ${result.missing.map((m) => `${m.label} (${m.reason})`).join(', ')}`,
    missing: result.missing,
    presented: result.met.map((m) => ({ label: m.label, subject: m.identity.subject.replace(/\n/g, ', '), roles: [...m.decision.roles] })),
  }
}

/**
 * Compat-API guard: resolves true when the requirement is met (handler continues), otherwise
 * answers 403 with problem details and resolves false.
 */
export function requireIdentities(
  requirement: IdentityRequirement,
): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const r = await ensureIdentities(req, requirement)
    if (r.ok) return true
    if (!res.headersSent && !res.stream.destroyed) {
      res.writeHead(403, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify(problemDetails(r)) + '\n')
    }
    return false
  }
}

/** Stream-API guard: like `requireIdentities` for `server.on('stream')` handlers. */
export function requireIdentitiesOnStream(
  requirement: IdentityRequirement,
): (stream: http2.ServerHttp2Stream) => Promise<boolean> {
  return async (stream) => {
    const r = await ensureIdentities(stream, requirement)
    if (r.ok) return true
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ':status': 403, 'content-type': 'application/problem+json' })
      stream.end(JSON.stringify(problemDetails(r)) + '\n')
    }
    return false
  }
}
