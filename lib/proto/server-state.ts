/**
 * Server side of one connection, without I/O (CLIENT -00 §4, SERVER -02 §3.2).
 *
 *   requestAuthenticators ──> queued ──(both settings, outstanding < N)──> outstanding (FIFO)
 *                                                                          │
 *   CLIENT_CERTIFICATE (stream 0) ─── pop head ── validate(head) ──────────┘
 *        │                                 ├─ identity / declined ──> result
 *        │                                 └─ invalid ──> GOAWAY(PROTOCOL_ERROR)
 *        └─ no outstanding request ──> GOAWAY(PROTOCOL_ERROR)
 *
 *   sendServerCertificate ──(both SETTINGS_HTTP_SERVER_CERT_AUTH)──> SERVER_CERTIFICATE
 *
 * Any violation moves to `closed`; later input is ignored. The binding owns clocks and sockets:
 * it feeds frames and settings in, and carries out the returned actions.
 */
import type { Codepoints } from '../config.js'
import type { ProtocolError } from '../errors.js'
import type { ExportedAuthenticators, Verdict } from '../ea/authenticators.js'
import { encodeAuthenticatorRequests } from '../wire/h2/authenticator-requests-frame.js'
import { varintSize } from '../wire/varint.js'
import { Negotiation } from './negotiation.js'
import type { OversizedFrame } from './negotiation.js'
import { Violation, violationError } from './violations.js'
import type { ViolationRow } from './violations.js'

export type ServerAction =
  | { readonly kind: 'send'; readonly frameType: number; readonly payload: Uint8Array }
  | { readonly kind: 'goaway'; readonly error: ProtocolError }
  /** The answer to request `id`: an identity, a decline, or invalid (the connection then ends). */
  | { readonly kind: 'result'; readonly id: number; readonly verdict: Verdict }

export interface ServerStateOptions {
  readonly ea: ExportedAuthenticators
  readonly codepoints: Codepoints
  /** We advertise SETTINGS_HTTP_CLIENT_CERT_AUTH = 1. */
  readonly clientCertAuth: boolean
  /** We advertise SETTINGS_HTTP_SERVER_CERT_AUTH = 1. */
  readonly serverCertAuth: boolean
  /** Largest CLIENT_CERTIFICATE payload accepted. */
  readonly maxAuthenticatorBytes: number
}

interface PendingRequest {
  readonly id: number
  readonly bytes: Uint8Array
}

export class ServerState {
  readonly negotiation: Negotiation
  private readonly ea: ExportedAuthenticators
  private readonly cp: Codepoints
  private readonly maxAuthenticatorBytes: number
  private readonly queued: PendingRequest[] = []
  private readonly outstanding: PendingRequest[] = []
  private readonly pendingServerCertificates: Uint8Array[] = []
  private closedBy: ProtocolError | undefined

  constructor(options: ServerStateOptions) {
    this.ea = options.ea
    this.cp = options.codepoints
    this.maxAuthenticatorBytes = options.maxAuthenticatorBytes
    this.negotiation = new Negotiation(options.codepoints, options.clientCertAuth ? 1 : 0, options.serverCertAuth ? 1 : 0)
  }

  get isClosed(): boolean {
    return this.closedBy !== undefined
  }

  /** Requests sent and not yet answered. */
  get outstandingCount(): number {
    return this.outstanding.length
  }

  /** Requests waiting for room under the client's limit (or for negotiation). */
  get queuedCount(): number {
    return this.queued.length
  }

  /** One SETTINGS frame of the client. */
  onPeerSettings(entries: Iterable<readonly [number, number]>): ServerAction[] {
    if (this.closedBy) return []
    this.negotiation.onPeerSettings(entries)
    return [...this.flushRequests(), ...this.flushServerCertificates()]
  }

  /**
   * Queues requests built with `ea.request()`; they go out, in order, as soon as both sides
   * advertised client certificate auth and the client's limit N leaves room (CLIENT -00 §4.1.4).
   */
  requestAuthenticators(requests: readonly PendingRequest[]): ServerAction[] {
    if (this.closedBy) return []
    this.queued.push(...requests)
    return this.flushRequests()
  }

  /** Drops a request that has not been sent yet (e.g. its waiter timed out). True if dropped. */
  cancelQueued(id: number): boolean {
    const i = this.queued.findIndex((r) => r.id === id)
    if (i < 0) return false
    this.queued.splice(i, 1)
    return true
  }

  /** Sends a spontaneous server authenticator, now or once negotiation completes. */
  sendServerCertificate(authenticator: Uint8Array): ServerAction[] {
    if (this.closedBy) return []
    this.pendingServerCertificates.push(authenticator)
    return this.flushServerCertificates()
  }

  private flushServerCertificates(): ServerAction[] {
    if (!this.negotiation.isServerCertAuthActive) return []
    const out: ServerAction[] = this.pendingServerCertificates.map((payload) => ({
      kind: 'send' as const,
      frameType: this.cp.frameServerCertificate,
      payload,
    }))
    this.pendingServerCertificates.length = 0
    return out
  }

  private flushRequests(): ServerAction[] {
    const n = this.negotiation
    if (!n.isClientCertAuthActive) return []
    const out: ServerAction[] = []
    const limit = n.peerMaxFrameSize
    while (this.queued.length > 0 && this.outstanding.length < n.peerClientCertAuth) {
      // Pack as many requests as the client's limit and its max frame size allow in one frame.
      const batch: PendingRequest[] = []
      let size = 0
      while (this.queued.length > 0 && this.outstanding.length + batch.length < n.peerClientCertAuth) {
        const next = this.queued[0]!
        const add = varintSize(next.bytes.length) + next.bytes.length
        if (batch.length > 0 && size + add > limit) break
        batch.push(next)
        this.queued.shift()
        size += add
      }
      this.outstanding.push(...batch)
      out.push({
        kind: 'send',
        frameType: this.cp.frameAuthenticatorRequests,
        payload: encodeAuthenticatorRequests(batch.map((b) => b.bytes)),
      })
    }
    return out
  }

  private violate(row: ViolationRow, detail?: string, cause?: unknown, frameType?: number): ServerAction[] {
    const options: { frameType?: number; cause?: unknown } = {}
    if (frameType !== undefined) options.frameType = frameType
    if (cause !== undefined) options.cause = cause
    this.closedBy = violationError(row, this.cp, detail, options)
    return [{ kind: 'goaway', error: this.closedBy }]
  }

  /**
   * One extension frame from the client (only types in `extensionFrameTypes` reach here).
   */
  onFrame(frameType: number, streamId: number, payload: Uint8Array): ServerAction[] {
    if (this.closedBy) return []
    const refused = this.admit(frameType, streamId, payload.length)
    if (refused !== undefined) return refused
    const head = this.outstanding.shift()!
    // CLIENT -00 §4.2: answers come in request order; pair with the head (digest §3.1).
    const verdict = this.ea.validate(payload, { request: head.bytes })
    const result: ServerAction = { kind: 'result', id: head.id, verdict }
    if (verdict.kind === 'invalid') {
      return [result, ...this.violate(Violation.CLIENT_AUTHENTICATOR_INVALID, verdict.reason, verdict.error, frameType)]
    }
    return [result, ...this.flushRequests()]
  }

  /**
   * An extension frame longer than we accept, reported from its header alone (its payload was
   * never buffered). The violation follows from its real type, stream and the negotiation state,
   * as for a frame that fits; only a frame that would otherwise be accepted is FRAME_TOO_LARGE.
   */
  onFrameTooLarge(header: OversizedFrame): ServerAction[] {
    if (this.closedBy) return []
    const refused = this.admit(header.type, header.streamId, header.length)
    if (refused !== undefined) return refused
    return this.violate(Violation.FRAME_TOO_LARGE, `${header.length} bytes`, undefined, header.type)
  }

  /**
   * The checks that need only the frame's header (type, stream, length) and our state: the
   * actions of a refusal (a violation, or [] for a type that is not ours), or undefined when the
   * frame is a CLIENT_CERTIFICATE to pair with the head request.
   */
  private admit(frameType: number, streamId: number, length: number): ServerAction[] | undefined {
    const cp = this.cp
    const n = this.negotiation
    if (frameType === cp.frameAuthenticatorRequests) {
      return this.violate(Violation.AUTHENTICATOR_REQUESTS_AT_SERVER, undefined, undefined, frameType)
    }
    const isClientCertFrame = frameType === cp.frameClientCertificate
    const sharedMode = cp.frameClientCertificate === cp.frameServerCertificate
    if (frameType === cp.frameServerCertificate && !sharedMode) {
      return this.violate(Violation.SERVER_CERTIFICATE_FROM_CLIENT, undefined, undefined, frameType)
    }
    if (!isClientCertFrame) return []
    if (streamId !== 0) return this.violate(Violation.CERTIFICATE_ON_STREAM, `stream ${streamId}`, undefined, frameType)
    if (!n.isClientCertAuthActive) {
      // Shared mode without client cert auth: it can only be a SERVER_CERTIFICATE from a client.
      if (sharedMode && n.isServerCertAuthActive) {
        return this.violate(Violation.SERVER_CERTIFICATE_FROM_CLIENT, undefined, undefined, frameType)
      }
      return this.violate(Violation.BEFORE_NEGOTIATION, 'SETTINGS_HTTP_CLIENT_CERT_AUTH', undefined, frameType)
    }
    if (length > this.maxAuthenticatorBytes) {
      return this.violate(Violation.FRAME_TOO_LARGE, `${length} > ${this.maxAuthenticatorBytes}`, undefined, frameType)
    }
    if (this.outstanding.length === 0) return this.violate(Violation.UNSOLICITED_CLIENT_CERTIFICATE, undefined, undefined, frameType)
    return undefined
  }

  /** Ids of requests sent or queued and not answered (to fail their waiters on close). */
  pendingIds(): number[] {
    return [...this.outstanding, ...this.queued].map((r) => r.id)
  }
}
