/**
 * Client side of one connection, without I/O (CLIENT -00 §4, SERVER -02 §3.2, §5.3).
 *
 *   AUTHENTICATOR_REQUESTS (stream 0, both settings, outstanding + k <= N)
 *        └─> each request decoded + registered ──> outstanding FIFO ──> 'requests' action
 *   answer(id, credential | null)  (any order)
 *        └─> authenticator built; sent as CLIENT_CERTIFICATE strictly in request order
 *   SERVER_CERTIFICATE (stream 0, SETTINGS_HTTP_SERVER_CERT_AUTH both ways)
 *        ├─ validate (spontaneous) ok ──> 'server-certificate' action (chain policy is the binding's)
 *        └─ invalid ──> GOAWAY(SERVER_CERTIFICATE_INVALID)
 *
 * Any violation moves to `closed`; later input is ignored.
 */
import type { Codepoints } from '../config.js'
import { DecodeError, UsageError, hasCode } from '../errors.js'
import type { ProtocolError } from '../errors.js'
import type { Credential, ExportedAuthenticators, Verdict } from '../ea/authenticators.js'
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import { decodeAuthenticatorRequests } from '../wire/h2/authenticator-requests-frame.js'
import { Negotiation } from './negotiation.js'
import type { OversizedFrame } from './negotiation.js'
import { Violation, violationError } from './violations.js'
import type { ViolationRow } from './violations.js'

export type ClientAction =
  | { readonly kind: 'send'; readonly frameType: number; readonly payload: Uint8Array }
  | { readonly kind: 'goaway'; readonly error: ProtocolError }
  /** New requests from the server: the binding picks a credential and calls `answer`. */
  | { readonly kind: 'requests'; readonly items: readonly { readonly id: number; readonly request: CertificateRequest }[] }
  /** A SERVER_CERTIFICATE passed RFC 9261 validation; chain policy is the binding's. */
  | { readonly kind: 'server-certificate'; readonly verdict: Extract<Verdict, { kind: 'identity' }> }
  /**
   * An answer had to fall back to the empty authenticator (`reason`), e.g. the authenticator did
   * not fit the server's SETTINGS_MAX_FRAME_SIZE or no offered scheme fits the key.
   */
  | { readonly kind: 'declined-instead'; readonly id: number; readonly reason: string; readonly error: unknown }

export interface ClientStateOptions {
  readonly ea: ExportedAuthenticators
  readonly codepoints: Codepoints
  /** N: how many credentials we may provide (SETTINGS_HTTP_CLIENT_CERT_AUTH); 0 = off. */
  readonly clientCertAuth: number
  /** We advertise SETTINGS_HTTP_SERVER_CERT_AUTH = 1. */
  readonly serverCertAuth: boolean
  /** Largest SERVER_CERTIFICATE payload accepted, and largest authenticator we send. */
  readonly maxAuthenticatorBytes: number
}

interface Outstanding {
  readonly id: number
  readonly bytes: Uint8Array
  readonly request: CertificateRequest
  answer: Uint8Array | undefined
}

export class ClientState {
  readonly negotiation: Negotiation
  private readonly ea: ExportedAuthenticators
  private readonly cp: Codepoints
  private readonly maxAuthenticatorBytes: number
  private readonly outstanding: Outstanding[] = []
  private nextId = 1
  private closedBy: ProtocolError | undefined

  constructor(options: ClientStateOptions) {
    this.ea = options.ea
    this.cp = options.codepoints
    this.maxAuthenticatorBytes = options.maxAuthenticatorBytes
    this.negotiation = new Negotiation(options.codepoints, options.clientCertAuth, options.serverCertAuth ? 1 : 0)
  }

  get isClosed(): boolean {
    return this.closedBy !== undefined
  }

  /** Requests received and not yet answered on the wire. */
  get outstandingCount(): number {
    return this.outstanding.length
  }

  onPeerSettings(entries: Iterable<readonly [number, number]>): ClientAction[] {
    if (this.closedBy) return []
    this.negotiation.onPeerSettings(entries)
    return []
  }

  private violate(row: ViolationRow, detail?: string, cause?: unknown, frameType?: number): ClientAction[] {
    const options: { frameType?: number; cause?: unknown } = {}
    if (frameType !== undefined) options.frameType = frameType
    if (cause !== undefined) options.cause = cause
    this.closedBy = violationError(row, this.cp, detail, options)
    return [{ kind: 'goaway', error: this.closedBy }]
  }

  /** One extension frame from the server. */
  onFrame(frameType: number, streamId: number, payload: Uint8Array): ClientAction[] {
    if (this.closedBy) return []
    const cp = this.cp
    if (frameType === cp.frameAuthenticatorRequests) return this.onAuthenticatorRequests(frameType, streamId, payload)
    if (frameType === cp.frameServerCertificate) return this.onServerCertificate(frameType, streamId, payload)
    if (frameType === cp.frameClientCertificate) {
      return this.violate(Violation.CLIENT_CERTIFICATE_FROM_SERVER, undefined, undefined, frameType)
    }
    return []
  }

  /**
   * An extension frame longer than we accept, reported from its header alone (its payload was
   * never buffered). The violation follows from its real type, stream and the negotiation state;
   * only a frame that would otherwise be read is FRAME_TOO_LARGE.
   */
  onFrameTooLarge(header: OversizedFrame): ClientAction[] {
    if (this.closedBy) return []
    const { type, streamId, length } = header
    const cp = this.cp
    let refused: ClientAction[] | undefined
    if (type === cp.frameAuthenticatorRequests) refused = this.admitRequests(type, streamId)
    else if (type === cp.frameServerCertificate) refused = this.admitServerCertificate(type, streamId, length)
    else if (type === cp.frameClientCertificate) refused = this.violate(Violation.CLIENT_CERTIFICATE_FROM_SERVER, undefined, undefined, type)
    else return []
    return refused ?? this.violate(Violation.FRAME_TOO_LARGE, `${length} bytes`, undefined, type)
  }

  private admitRequests(frameType: number, streamId: number): ClientAction[] | undefined {
    if (streamId !== 0) {
      return this.violate(Violation.AUTHENTICATOR_REQUESTS_ON_STREAM, `stream ${streamId}`, undefined, frameType)
    }
    if (!this.negotiation.isClientCertAuthActive) {
      return this.violate(Violation.BEFORE_NEGOTIATION, 'SETTINGS_HTTP_CLIENT_CERT_AUTH', undefined, frameType)
    }
    return undefined
  }

  private admitServerCertificate(frameType: number, streamId: number, length: number): ClientAction[] | undefined {
    if (streamId !== 0) return this.violate(Violation.CERTIFICATE_ON_STREAM, `stream ${streamId}`, undefined, frameType)
    if (!this.negotiation.isServerCertAuthActive) {
      return this.violate(Violation.BEFORE_NEGOTIATION, 'SETTINGS_HTTP_SERVER_CERT_AUTH', undefined, frameType)
    }
    if (length > this.maxAuthenticatorBytes) {
      return this.violate(Violation.FRAME_TOO_LARGE, `${length} > ${this.maxAuthenticatorBytes}`, undefined, frameType)
    }
    return undefined
  }

  private onAuthenticatorRequests(frameType: number, streamId: number, payload: Uint8Array): ClientAction[] {
    const n = this.negotiation
    const refused = this.admitRequests(frameType, streamId)
    if (refused !== undefined) return refused
    let list: Uint8Array[]
    try {
      list = decodeAuthenticatorRequests(payload)
    } catch (e) {
      return this.violate(Violation.AUTHENTICATOR_REQUESTS_MALFORMED, (e as Error).message, e, frameType)
    }
    // CLIENT -00 §4.1.4: the outstanding count may never exceed N.
    if (this.outstanding.length + list.length > n.localClientCertAuth) {
      return this.violate(
        Violation.TOO_MANY_OUTSTANDING,
        `${this.outstanding.length} + ${list.length} > ${n.localClientCertAuth}`,
        undefined,
        frameType,
      )
    }
    const items: { id: number; request: CertificateRequest }[] = []
    for (const bytes of list) {
      let request: CertificateRequest
      try {
        request = this.ea.receiveRequest(bytes)
      } catch (e) {
        if (e instanceof DecodeError || hasCode(e, 'ERR_SC_AUTHENTICATOR_INVALID')) {
          return this.violate(Violation.AUTHENTICATOR_REQUESTS_MALFORMED, (e as Error).message, e, frameType)
        }
        throw e
      }
      const id = this.nextId++
      this.outstanding.push({ id, bytes, request, answer: undefined })
      items.push({ id, request })
    }
    return [{ kind: 'requests', items }]
  }

  private onServerCertificate(frameType: number, streamId: number, payload: Uint8Array): ClientAction[] {
    const refused = this.admitServerCertificate(frameType, streamId, payload.length)
    if (refused !== undefined) return refused
    // SERVER -02 §3.2: spontaneous, so validated with no request.
    const verdict = this.ea.validate(payload)
    if (verdict.kind !== 'identity') {
      const reason = verdict.kind === 'invalid' ? verdict.reason : 'declined'
      const cause = verdict.kind === 'invalid' ? verdict.error : undefined
      return this.violate(Violation.SERVER_AUTHENTICATOR_INVALID, reason, cause, frameType)
    }
    return [{ kind: 'server-certificate', verdict }]
  }

  /**
   * Answers request `id` with a credential (or declines with null). Answers may come in any
   * order; frames leave strictly in request order (CLIENT -00 §4.1.4, digest §3.1). When the
   * credential cannot be used (no offered scheme fits, or the authenticator would exceed the
   * server's SETTINGS_MAX_FRAME_SIZE or our size limit) the empty authenticator goes out instead
   * and a `declined-instead` action says why.
   * @throws UsageError (`ERR_SC_USAGE`) for an unknown or already answered id
   */
  answer(id: number, credential: Credential | null): ClientAction[] {
    if (this.closedBy) return []
    const entry = this.outstanding.find((o) => o.id === id)
    if (!entry || entry.answer) throw new UsageError(`no unanswered request with id ${id}`)
    const out: ClientAction[] = []
    let bytes: Uint8Array | undefined
    if (credential) {
      try {
        bytes = this.ea.authenticate({ request: entry.bytes, credential })
        const limit = Math.min(this.negotiation.peerMaxFrameSize, this.maxAuthenticatorBytes)
        if (bytes.length > limit) {
          throw new UsageError(`authenticator of ${bytes.length} bytes exceeds the limit ${limit}`)
        }
      } catch (e) {
        if (!(e instanceof UsageError)) throw e
        // The context was registered as answered only if authenticate succeeded; an oversized
        // authenticator was built, so make a fresh registry-independent empty one below.
        out.push({ kind: 'declined-instead', id, reason: e.message, error: e })
        bytes = undefined
      }
    }
    entry.answer = bytes ?? this.emptyAnswer(entry.bytes)
    return [...out, ...this.flushAnswers()]
  }

  private emptyAnswer(request: Uint8Array): Uint8Array {
    return this.ea.emptyAuthenticator(request)
  }

  private flushAnswers(): ClientAction[] {
    const out: ClientAction[] = []
    while (this.outstanding.length > 0 && this.outstanding[0]!.answer) {
      const head = this.outstanding.shift()!
      out.push({ kind: 'send', frameType: this.cp.frameClientCertificate, payload: head.answer! })
    }
    return out
  }
}
