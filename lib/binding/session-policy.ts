import type { ServerSessionCerts } from './attach-server.js'
import type { IdentityOutcome } from './attach-server.js'
import type { Identity } from './identity.js'
import type { Decision } from '../policy/eku.js'

/** Per-connection state of route protection: cached decisions and in-flight requests per need. */
export interface SessionPolicyState {
  readonly decisions: WeakMap<Identity, Map<string, Promise<Decision>>>
  readonly inFlight: Map<string, Promise<IdentityOutcome>>
}

const states = new WeakMap<object, SessionPolicyState>()
const detached: SessionPolicyState = { decisions: new WeakMap(), inFlight: new Map() }

/** The state of a session (a throwaway one when the session has no extension). */
export function ensureSessionState(ctl: ServerSessionCerts | undefined): SessionPolicyState {
  if (!ctl) return { decisions: detached.decisions, inFlight: new Map() }
  let s = states.get(ctl)
  if (!s) {
    s = { decisions: new WeakMap(), inFlight: new Map() }
    states.set(ctl, s)
  }
  return s
}
