/**
 * Event maps of the two extension objects (issue 10 item 5), so listeners are typed:
 * `clientCerts(s)?.on('serverCertificate', (ev) => ev.accepted)` checks `accepted`, and a
 * misspelt event or field does not compile. Node's `EventEmitter<T>` (types for Node ≥ 20.11)
 * takes these as `{ event: [args] }`.
 */
import type { ProtocolError } from '../errors.js'
import type { RequestInfo, ServerCertificateEvent } from './attach-client.js'
import type { DeclineReason } from './credential-selection.js'
import type { Identity } from './identity.js'

/** A validated identity the server's trust decision did not accept. */
export interface UntrustedIdentityEvent {
  readonly label: string
  readonly identity: Identity
  /** e.g. `no-trust-anchors`, `no-path`, `expired`, `eku-purpose`. */
  readonly reason: string
  readonly detail: string
}

/** Events of `ServerSessionCerts` (`sessionCerts(...)`). */
export interface ServerSessionEvents {
  /** A client identity validated and trusted. */
  identity: [identity: Identity]
  /** A client identity validated but not trusted (reason inside). */
  untrusted: [event: UntrustedIdentityEvent]
  /** The client answered a request with the empty authenticator (the request's label). */
  declined: [label: string]
  /** The client broke the protocol; the connection is closing with a GOAWAY. */
  violation: [error: ProtocolError]
  /** An extension frame could not be sent (too large for the peer, connection gone). */
  sendError: [error: unknown]
  /** The session closed; pending requests were rejected with `error`. */
  close: [error: Error]
}

/** What the client's `'answer'` event carries. */
export interface AnswerEvent {
  readonly id: number
  /** Label of the credential presented; null for a decline. */
  readonly label: string | null
  readonly declined: boolean
  /** Why it declined, when it did. */
  readonly reason?: DeclineReason
}

/** What the client's `'declinedInstead'` event carries. */
export interface DeclinedInsteadEvent {
  readonly id: number
  /** Text of the error that made the chosen credential unusable. */
  readonly reason: string
  readonly declineReason: DeclineReason
}

/** Events of `ClientSessionCerts` (`clientCerts(...)`). */
export interface ClientSessionEvents {
  /** The server asked for a certificate (before the selector runs). */
  request: [info: RequestInfo]
  /** A request was answered (a credential or a decline). */
  answer: [event: AnswerEvent]
  /** The chosen credential could not be sent; the empty authenticator went out instead. */
  declinedInstead: [event: DeclinedInsteadEvent]
  /** A secondary server certificate validated (accepted or not by the chain check). */
  serverCertificate: [event: ServerCertificateEvent]
  /** The server broke the protocol; the connection is closing with a GOAWAY. */
  violation: [error: ProtocolError]
  /** An extension frame could not be sent. */
  sendError: [error: unknown]
  /** The session's extension ended (`error`: why — a ProtocolError after a violation). */
  close: [error: Error]
}
