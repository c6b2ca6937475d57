/**
 * Per-connection state of route protection (require-identities.ts): cached policy decisions and
 * the authenticator exchanges in flight, so that concurrent requests on one connection share one
 * exchange instead of each asking again (issue 4 item 4).
 */
import type { ServerSessionCerts } from './attach-server.js'
import type { IdentityOutcome } from './attach-server.js'
import type { Identity } from './identity.js'
import type { Decision } from '../policy/eku.js'

/** Cached decisions of one policy: identity → purpose → decision. */
export type DecisionCache = WeakMap<Identity, Map<string, Promise<Decision>>>

/** Per-connection state of route protection. */
export interface SessionPolicyState {
  /**
   * Decisions per policy function, then per identity and purpose: two routes with different
   * policies never see each other's decisions.
   */
  readonly decisions: WeakMap<object, DecisionCache>
  /** In-flight requests, keyed by what was asked (label, purpose, CA names, filters). */
  readonly inFlight: Map<string, Promise<IdentityOutcome>>
}

const states = new WeakMap<object, SessionPolicyState>()

/**
 * The state of a session's extension object (a fresh throwaway one when the session has no
 * extension: nothing can be shared or asked there).
 */
export function ensureSessionState(ctl: ServerSessionCerts | undefined): SessionPolicyState {
  if (!ctl) return { decisions: new WeakMap(), inFlight: new Map() }
  let s = states.get(ctl)
  if (!s) {
    s = { decisions: new WeakMap(), inFlight: new Map() }
    states.set(ctl, s)
  }
  return s
}

/** The decision cache of `policy` within a session's state. */
export function decisionCache(state: SessionPolicyState, policy: object): DecisionCache {
  let c = state.decisions.get(policy)
  if (!c) {
    c = new WeakMap()
    state.decisions.set(policy, c)
  }
  return c
}
