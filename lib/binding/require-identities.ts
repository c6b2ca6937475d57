/**
 * Route protection: a declarative requirement ("a device and a user, issued under CA X, subject
 * matching ...") checked against the identities of a connection. When not met it triggers the
 * authenticator requests (CLIENT -00 §4.1), holds the response until the answers are validated or
 * a timeout passes, then continues or answers 403 with a problem-details body (RFC 9457) saying
 * what was missing. Concurrent requests on one connection share one outstanding exchange per
 * need.
 *
 * Policy rejections never become connection errors (SERVER -02 §6.2, CLIENT -00 §4.2.1): a
 * certificate that validates as an exported authenticator but is not acceptable only fails the
 * requirement.
 */
import type http2 from 'node:http2'
import { decisionCache, ensureSessionState } from './session-policy.js'
import type { DecisionCache } from './session-policy.js'
import { sessionCerts } from './attach-server.js'
import type { IdentityOutcome, IdentityRequest, ServerSessionCerts } from './attach-server.js'
import type { Identity } from './identity.js'
import { rfc4514Names } from './identity.js'
import { distinguishedNameMatches } from '../oauth/distinguished-name.js'
import { parseCertificate } from '../policy/parsed-cert.js'
import type { CertificatePolicyFn } from '../policy/certificate-policy.js'
import { certificateAuthoritiesFromAnchors, ekuOidFilter } from '../policy/certificate-policy.js'
import type { AnchorInput } from '../policy/chain.js'
import type { Decision, Purpose } from '../policy/eku.js'
import type { OidFilter } from '../wire/tls/extensions.js'

/** One identity a route needs. */
export interface IdentityNeed {
  /** Name of the need, used in requests, results and problem details (e.g. 'device'). */
  readonly label: string
  /** EKU role asked for and checked by the policy. Default: the label when 'device' or 'user', else 'any'. */
  readonly purpose?: Exclude<Purpose, 'server-peer'>
  /**
   * The end-entity subject must match. Matched against the RFC 4514 string of `Identity.subject`
   * (`CN=user,O=h2sc test`: the last RDN of the DER Name first, `,` without spaces): a RegExp is
   * tested on that string; a string is a whole distinguished name compared as RFC 8705 §2.1.2
   * compares `tls_client_auth_subject_dn` (`distinguishedNameMatches`: attribute names or OIDs,
   * case and inner spaces of values ignored, RDN order significant).
   */
  readonly subject?: RegExp | string
  /**
   * Some certificate of the validated path above the leaf (issuers and anchor) must have a
   * matching subject, in the same format and with the same rules as `subject`.
   */
  readonly issuer?: RegExp | string
  /**
   * CAs to name in this need's certificate_authorities (RFC 8446 §4.2.4), e.g. the device CA for
   * the device need. Overrides the requirement's `requestAnchors`.
   */
  readonly requestAnchors?: readonly AnchorInput[]
  /**
   * oid_filters to send (RFC 8446 §4.2.5). Default: the EKU of the purpose (`ekuOidFilter`), none
   * for 'any'. An empty list sends none (e.g. under the `rfc5280` preset, where a device must
   * carry clientAuth and a serverAuth filter would steer the client wrong).
   */
  readonly oidFilters?: readonly OidFilter[]
}

/** What a route requires of the connection. */
export interface IdentityRequirement {
  readonly needs: readonly IdentityNeed[]
  /**
   * Chain + EKU policy (`createCertificatePolicy`). Default: the server's `trust` option; with
   * neither, every need is missing with reason `no-trust-anchors`.
   */
  readonly policy?: CertificatePolicyFn
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
  /**
   * 'not-presented' | 'declined' | 'timeout' | 'closed' | 'not-supported' (HTTP/1.1, TLS below
   * 1.3, or a client without the extension) | 'protocol-error' | 'policy-error' |
   * 'subject-mismatch' | 'issuer-mismatch' | a policy reason (a ChainFailure such as 'no-path',
   * or an EKU failure such as 'eku-purpose').
   */
  readonly reason: string
  /** Short lower-case text, safe for a problem-details body. */
  readonly detail: string
  /** Subject of the certificate that was presented for this need and not accepted, if any. */
  readonly subject?: string
  /** Row of the EKU decision table that rejected it, if the EKU table did. */
  readonly row?: number
}

/** Whether the requirement is met, with what was met and (if not) what is missing. */
export type RequirementResult =
  | { readonly ok: true; readonly met: readonly MetNeed[] }
  | { readonly ok: false; readonly met: readonly MetNeed[]; readonly missing: readonly MissingNeed[] }

type Evaluation =
  | { readonly ok: true; readonly decision: Extract<Decision, { accept: true }> }
  | { readonly ok: false; readonly reason: string; readonly detail: string; readonly row?: number }

function purposeOf(n: IdentityNeed): Exclude<Purpose, 'server-peer'> {
  return n.purpose ?? (n.label === 'device' || n.label === 'user' ? n.label : 'any')
}

/** A subject matcher of a need against an RFC 4514 string and the Name it came from. */
function nameMatches(m: RegExp | string, text: string, nameDer: Uint8Array): boolean {
  if (typeof m !== 'string') return m.test(text)
  try {
    return distinguishedNameMatches(m, nameDer)
  } catch {
    return false
  }
}

/** Decisions made up for a policy function that threw. */
const thrown = new WeakSet<Decision>()

async function evaluate(identity: Identity, need: IdentityNeed, policy: CertificatePolicyFn, cache: DecisionCache): Promise<Evaluation> {
  const purpose = purposeOf(need)
  let perIdentity = cache.get(identity)
  if (!perIdentity) {
    perIdentity = new Map()
    cache.set(identity, perIdentity)
  }
  let p = perIdentity.get(purpose)
  if (!p) {
    // A throwing policy (an application callback) is a rejection, never a crash of the route.
    p = Promise.resolve()
      .then(() => policy({ chain: identity.chain, entries: identity.entries }, purpose))
      .catch((e: unknown): Decision => {
        const d: Decision = { accept: false, reason: 'custom-rejected', detail: `policy failed: ${e instanceof Error ? e.message : 'error'}`, purpose }
        thrown.add(d)
        return d
      })
    perIdentity.set(purpose, p)
  }
  const d = await p
  if (!d.accept) {
    return { ok: false, reason: thrown.has(d) ? 'policy-error' : d.reason, detail: d.detail, ...(d.row !== undefined ? { row: d.row } : {}) }
  }
  const leafDer = leafSubjectDer(identity)
  if (need.subject && !(leafDer && nameMatches(need.subject, identity.subject, leafDer))) {
    return { ok: false, reason: 'subject-mismatch', detail: `subject does not match ${String(need.subject)}` }
  }
  const issuer = need.issuer
  if (issuer && !d.path.slice(1).some((c) => nameMatches(issuer, rfc4514Names(c).subject, c.subjectDer))) {
    return { ok: false, reason: 'issuer-mismatch', detail: `no issuer matches ${String(issuer)}` }
  }
  return { ok: true, decision: d }
}

/** The leaf's subject Name DER (through the parse cache); undefined when our DER walk refuses it. */
function leafSubjectDer(identity: Identity): Uint8Array | undefined {
  try {
    return parseCertificate(identity.chain[0]!).subjectDer
  } catch {
    return undefined
  }
}

const HTTP1_DETAIL = 'this route needs HTTP/2 secondary certificates'

/**
 * True for a compat request that came over HTTP/1.x on a server with `allowHTTP1` (an
 * `http.IncomingMessage`: no `stream`, `httpVersionMajor` 1).
 */
export function isHttp1(target: object): boolean {
  return (target as { httpVersionMajor?: unknown }).httpVersionMajor === 1 && !(target as { stream?: unknown }).stream
}

/**
 * Whether a compat response can no longer be answered: its HTTP/2 stream, or for HTTP/1.x its
 * socket, is gone. (`res.stream` is undefined for HTTP/1.x responses.)
 */
export function isResponseGone(res: http2.Http2ServerResponse): boolean {
  const stream = (res as { stream?: http2.ServerHttp2Stream }).stream
  if (stream) return stream.destroyed
  const r = res as unknown as { destroyed?: boolean; socket?: { destroyed?: boolean } | null }
  return r.destroyed === true || !r.socket || r.socket.destroyed === true
}

const caNameCache = new WeakMap<readonly AnchorInput[], Uint8Array[]>()

function caNamesOf(anchors: readonly AnchorInput[] | undefined): Uint8Array[] | undefined {
  if (!anchors || anchors.length === 0) return undefined
  let names = caNameCache.get(anchors)
  if (!names) {
    names = certificateAuthoritiesFromAnchors(anchors)
    caNameCache.set(anchors, names)
  }
  return names
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** The request for a need, and the key under which concurrent askers share it. */
function requestFor(need: IdentityNeed, requirement: IdentityRequirement): { key: string; request: IdentityRequest } {
  const purpose = purposeOf(need)
  const caNames = caNamesOf(need.requestAnchors ?? requirement.requestAnchors)
  const oidFilters = need.oidFilters ?? (purpose !== 'any' ? [ekuOidFilter(purpose)] : [])
  const request: IdentityRequest = {
    label: need.label,
    purpose,
    ...(oidFilters.length > 0 ? { oidFilters } : {}),
    ...(caNames && caNames.length > 0 ? { certificateAuthorities: caNames } : {}),
  }
  const key = [
    need.label,
    purpose,
    (caNames ?? []).map(hex).join('.'),
    oidFilters.map((f) => `${hex(f.oid)}=${hex(f.values)}`).join('.'),
  ].join('|')
  return { key, request }
}

function failureOf(e: unknown): Pick<MissingNeed, 'reason' | 'detail'> {
  const code = (e as { code?: unknown } | undefined)?.code
  const reason = code === 'ERR_SC_TIMEOUT' ? 'timeout' : code === 'ERR_SC_CLOSED' ? 'closed' : 'protocol-error'
  const detail =
    reason === 'timeout'
      ? 'the client did not answer in time'
      : reason === 'closed'
        ? 'the connection closed before the client answered'
        : 'the client broke the protocol'
  return { reason, detail }
}

/** Starts (or joins) the exchanges for `needs`: one AUTHENTICATOR_REQUESTS round for all new ones. */
function askFor(
  ctl: ServerSessionCerts,
  inFlight: Map<string, Promise<IdentityOutcome>>,
  needs: readonly IdentityNeed[],
  requirement: IdentityRequirement,
): Promise<IdentityOutcome>[] {
  const shaped = needs.map((n) => requestFor(n, requirement))
  const fresh: { key: string; request: IdentityRequest }[] = []
  for (const s of shaped) if (!inFlight.has(s.key) && !fresh.some((f) => f.key === s.key)) fresh.push(s)
  if (fresh.length > 0) {
    const exchange = ctl.requestIdentities(
      fresh.map((f) => f.request),
      { timeoutMs: requirement.timeoutMs ?? 10000 },
    )
    fresh.forEach((f, i) => {
      const p = exchange.then((outcomes) => outcomes[i]!)
      inFlight.set(f.key, p)
      // Forget the exchange once settled, whatever the outcome; later callers look at identities.
      p.then(
        () => inFlight.delete(f.key),
        () => inFlight.delete(f.key),
      )
    })
  }
  return shaped.map((s) => inFlight.get(s.key)!)
}

/**
 * Checks the requirement against the connection of `target`, asking the client for what is
 * missing (once per need, shared by concurrent callers on the same connection). Never throws for
 * peer behaviour: declines, timeouts, closed connections and policy rejections are results.
 *
 * @param target - the compat request, the stream, or the session.
 * @param requirement - needs, policy, CA names to send, timeout.
 * @returns `{ ok: true, met }`, or `{ ok: false, met, missing }` with a reason per missing need.
 * @throws UsageError (`ERR_SC_USAGE`) when `requestAnchors` cannot be parsed (configuration).
 */
export async function ensureIdentities(
  target: http2.Http2ServerRequest | http2.ServerHttp2Stream | http2.Http2Session,
  requirement: IdentityRequirement,
): Promise<RequirementResult> {
  if (isHttp1(target)) {
    // HTTP/1.1 (a server with `allowHTTP1`) has no SETTINGS and no extension frames: nothing can
    // be asked or proven on such a connection (CLIENT -00 §3 negotiates through HTTP/2 SETTINGS).
    return { ok: false, met: [], missing: requirement.needs.map((n) => ({ label: n.label, reason: 'not-supported', detail: HTTP1_DETAIL })) }
  }
  const ctl = sessionCerts(target)
  const policy = requirement.policy ?? ctl?.trustPolicy
  if (!policy) {
    // Nothing is trusted without anchors (issue 10): say so instead of asking for certificates.
    const missing = requirement.needs.map((n) => ({
      label: n.label,
      reason: 'no-trust-anchors',
      detail: ctl ? 'the server has no trust anchors configured' : 'the client does not accept certificate requests on this connection',
    }))
    return { ok: false, met: [], missing: ctl ? missing : missing.map((m) => ({ ...m, reason: 'not-supported' })) }
  }
  const state = ensureSessionState(ctl)
  const cache = decisionCache(state, policy)

  // Meets a need from the identities already on the connection, each certificate serving at most
  // one need of the requirement ("a device and a user" takes two certificates even where one
  // would pass both checks). Candidates that answered a request of the need's label come first,
  // newest first; with `labelledOnly`, only those. When none fits, the failure reported is that of
  // the first candidate (the one presented for this need when there is one).
  const tryMeet = async (need: IdentityNeed, used: ReadonlySet<string>, labelledOnly: boolean): Promise<MetNeed | MissingNeed> => {
    // Every validated identity, trusted by the server or not: the requirement's policy decides.
    const all = ctl?.allIdentities ?? []
    const free = all.filter((i) => !used.has(i.sha256))
    const labelled = free.filter((i) => i.label === need.label).reverse()
    const others = labelledOnly ? [] : free.filter((i) => i.label !== need.label).reverse()
    let best: MissingNeed | undefined
    for (const identity of [...labelled, ...others]) {
      const r = await evaluate(identity, need, policy, cache)
      if (r.ok) return { label: need.label, identity, decision: r.decision }
      best ??= {
        label: need.label,
        reason: r.reason,
        detail: r.detail,
        subject: identity.subject,
        ...(r.row !== undefined ? { row: r.row } : {}),
      }
    }
    if (best) return best
    // Only certificates already serving other needs: say why the one presented for this need
    // would not do either, when it would not.
    for (const identity of all.filter((i) => i.label === need.label).reverse()) {
      const r = await evaluate(identity, need, policy, cache)
      if (!r.ok) {
        return { label: need.label, reason: r.reason, detail: r.detail, subject: identity.subject, ...(r.row !== undefined ? { row: r.row } : {}) }
      }
    }
    return all.length > 0
      ? { label: need.label, reason: 'not-presented', detail: 'no other certificate presented (one certificate serves one need)' }
      : { label: need.label, reason: 'not-presented', detail: 'no identity presented' }
  }
  // Two rounds: identities presented for a need's label first, then any certificate still free.
  const meetAll = async (needs: readonly IdentityNeed[], used: Set<string>): Promise<(MetNeed | MissingNeed)[]> => {
    const out: (MetNeed | MissingNeed | undefined)[] = needs.map(() => undefined)
    for (const labelledOnly of [true, false]) {
      for (let i = 0; i < needs.length; i++) {
        const prev = out[i]
        if (prev && 'identity' in prev) continue
        const r = await tryMeet(needs[i]!, used, labelledOnly)
        if ('identity' in r) used.add(r.identity.sha256)
        if (!labelledOnly || 'identity' in r || !prev) out[i] = r
        else out[i] = r.reason === 'not-presented' && prev.reason !== 'not-presented' ? prev : r
      }
    }
    return out.map((r) => r!)
  }
  // Met needs by position in `requirement.needs`, so results keep the requirement's order.
  const slots: (MetNeed | undefined)[] = requirement.needs.map(() => undefined)
  const metList = (): MetNeed[] => slots.filter((m): m is MetNeed => m !== undefined)

  const used = new Set<string>()
  const missingAt: number[] = []
  const first = await meetAll(requirement.needs, used)
  first.forEach((r, i) => {
    if ('identity' in r) slots[i] = r
    else missingAt.push(i)
  })
  const met = metList()
  if (missingAt.length === 0) return { ok: true, met }
  const missingNeeds = missingAt.map((i) => requirement.needs[i]!)

  const negotiation = ctl?.state.negotiation
  if (!ctl || (negotiation?.hasPeerSettings === true && !ctl.isClientCertAuthActive)) {
    const missing = missingNeeds.map((n) => ({
      label: n.label,
      reason: 'not-supported',
      detail: 'the client does not accept certificate requests on this connection',
    }))
    return { ok: false, met, missing }
  }

  const pending = askFor(ctl, state.inFlight, missingNeeds, requirement)
  const failures = new Map<string, Pick<MissingNeed, 'reason' | 'detail'>>()
  await Promise.all(
    pending.map(async (p, i) => {
      const label = missingNeeds[i]!.label
      try {
        const o = await p
        if (o.kind === 'declined') failures.set(label, { reason: 'declined', detail: 'the client declined the request' })
      } catch (e) {
        failures.set(label, failureOf(e))
      }
    }),
  )
  const missing: MissingNeed[] = []
  const second = await meetAll(missingNeeds, used)
  second.forEach((r, i) => {
    if ('identity' in r) slots[missingAt[i]!] = r
    else {
      const f = failures.get(missingNeeds[i]!.label)
      missing.push(f ? { label: r.label, ...f } : r)
    }
  })
  return missing.length === 0 ? { ok: true, met: metList() } : { ok: false, met: metList(), missing }
}

/**
 * The RFC 9457 problem-details body of a 403: `type`, `title`, `status`, `detail` naming every
 * missing need and its reason, plus the extension members `missing` (label, reason, detail, and
 * the RFC 4514 subject of the certificate presented for it when there was one) and `presented`
 * (the needs that were met: label, subject, roles). Internal decision-table row numbers stay out
 * of the body (they are in `MissingNeed.row` and `Decision.rows` for the application).
 */
export function problemDetails(result: Extract<RequirementResult, { ok: false }>): Record<string, unknown> {
  const http1 = result.missing.length > 0 && result.missing.every((m) => m.detail === HTTP1_DETAIL)
  return {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    detail: http1
      ? `${HTTP1_DETAIL}: this request came over HTTP/1.1`
      : `missing identity: ${result.missing.map((m) => `${m.label} (${m.reason}: ${m.detail})`).join('; ')}`,
    missing: result.missing.map(({ row: _row, ...m }) => m),
    presented: result.met.map((m) => ({
      label: m.label,
      subject: m.identity.subject,
      roles: [...m.decision.roles],
    })),
  }
}

function internalError(e: unknown): Record<string, unknown> {
  const code = (e as { code?: unknown } | undefined)?.code
  return {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'route protection failed',
    ...(typeof code === 'string' ? { code } : {}),
  }
}

/**
 * Compat-API guard: resolves true when the requirement is met (the handler continues), otherwise
 * answers 403 `application/problem+json` and resolves false. A misconfigured requirement answers
 * 500. Resolves false without answering when the client cancelled the request while it was held
 * (identities that arrive meanwhile still count for the connection). Never rejects.
 */
export function requireIdentities(
  requirement: IdentityRequirement,
): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    let body: Record<string, unknown>
    try {
      const r = await ensureIdentities(req, requirement)
      // A request cancelled while it was held does not run its handler.
      if (isResponseGone(res)) return false
      if (r.ok) return true
      body = problemDetails(r)
    } catch (e) {
      body = internalError(e)
    }
    if (!res.headersSent && !isResponseGone(res)) {
      res.writeHead(body['status'] as number, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify(body) + '\n')
    }
    return false
  }
}

/** Stream-API guard: like `requireIdentities` for `server.on('stream')` handlers. Never rejects. */
export function requireIdentitiesOnStream(
  requirement: IdentityRequirement,
): (stream: http2.ServerHttp2Stream) => Promise<boolean> {
  return async (stream) => {
    let body: Record<string, unknown>
    try {
      const r = await ensureIdentities(stream, requirement)
      if (stream.destroyed) return false
      if (r.ok) return true
      body = problemDetails(r)
    } catch (e) {
      body = internalError(e)
    }
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ':status': body['status'] as number, 'content-type': 'application/problem+json' })
      stream.end(JSON.stringify(body) + '\n')
    }
    return false
  }
}
