/**
 * The session driver shared by both sides (issue 9): interposer events in, the I/O-free state
 * machine of `proto/`, its actions out as extension frames, GOAWAY and close. It works from the
 * socket alone (the frame interposer under whatever HTTP/2 stack reads the TLS facade), so it
 * runs the same under our `connect`, our servers and undici's HTTP/2.
 *
 *   interposer 'peerSettings' ──> state.onPeerSettings ──┐
 *   interposer 'extensionFrame' ─> state.onFrame ─────────┼─> actions: send ─> interposer
 *   interposer 'extensionFrameTooLarge' ─> onFrameTooLarge┘           goaway ─> violation()
 *                                                                      other ─> side.onAction
 *   violation(): GOAWAY(code) through the interposer, nothing written after it (RFC 9113
 *   §5.4.1), every waiter rejected with the ProtocolError, 'violation', then the connection ends.
 *   interposer 'peerGoaway' (non-zero, after one of our frames) ─> remote ProtocolError.
 *   interposer 'close' ─> shutdown(ClosedError).
 *
 * Frames that arrive before the state exists (a client's state needs the finished handshake's
 * exporter) wait and are fed in order once it does.
 */
import { EventEmitter } from 'node:events'
import type { Codepoints } from '../config.js'
import { ClosedError, ProtocolError } from '../errors.js'
import type { ViolationName } from '../errors.js'
import type { Negotiation, OversizedFrame } from '../proto/negotiation.js'
import type { SettingsEntry } from '../wire/h2/settings.js'
import type { ExtensionFrame, FrameInterposer, OversizedExtensionFrame, PeerGoaway } from './interposer.js'
import { publish } from './diagnostics.js'
import type { FrameLogEntry } from './frame-log.js'

/** What the driver needs of a state machine (`ServerState`, `ClientState`). */
export interface DriverState<A> {
  readonly negotiation: Negotiation
  onPeerSettings(entries: readonly SettingsEntry[]): A[]
  onFrame(frameType: number, streamId: number, payload: Uint8Array): A[]
  onFrameTooLarge(header: OversizedFrame): A[]
}

/** The actions every state machine returns. */
export type DriverAction =
  | { readonly kind: 'send'; readonly frameType: number; readonly payload: Uint8Array }
  | { readonly kind: 'goaway'; readonly error: ProtocolError }

/**
 * The part of a session's extension object both sides share. Subclasses add what is theirs:
 * requesting identities and sending server certificates (server), selecting credentials and
 * accepting server certificates (client).
 */
/** The events the driver itself emits; each side's event map includes them. */
export interface DriverEvents {
  violation: [error: ProtocolError]
  sendError: [error: unknown]
  close: [error: Error]
}

export abstract class SessionDriver<A extends { readonly kind: string }, E extends DriverEvents & Record<keyof E, unknown[]> = DriverEvents> extends EventEmitter<E> {
  /** Which end of the connection this is. */
  readonly role: 'client' | 'server'
  /** Frames exchanged, for diagnostics and the demo. */
  readonly frameLog: FrameLogEntry[] = []
  protected readonly interposer: FrameInterposer
  protected readonly codepoints: Codepoints
  protected driverState: DriverState<A> | undefined
  private closedWith: Error | undefined
  /** Steps that arrived before the state machine (created on the first one). */
  private early: (() => void)[] | undefined
  private readonly ourTypes: ReadonlySet<number>
  /** Extension frame types we sent (created on the first send). */
  private sentTypes: Set<number> | undefined

  protected constructor(role: 'client' | 'server', interposer: FrameInterposer, codepoints: Codepoints) {
    super()
    this.role = role
    this.interposer = interposer
    this.codepoints = codepoints
    this.ourTypes = ourTypeSet(codepoints)
    // Listeners shared by every connection (per-connection memory, issue 9 item 10): each finds
    // its driver through the interposer.
    ;(interposer as unknown as Record<symbol, unknown>)[kDriver] = this
    interposer.on('peerSettings', onPeerSettingsEvent)
    interposer.on('extensionFrame', onExtensionFrameEvent)
    interposer.on('extensionFrameTooLarge', onFrameTooLargeEvent)
    interposer.on('peerGoaway', onPeerGoawayEvent)
    // After the HTTP/2 stack above saw the close too (it reads the facade on later ticks), so a
    // waiter that fails finds its stream already gone rather than writing into a dying one.
    // ('close' is emitted once; shutdown() runs once.)
    interposer.on('close', onCloseEvent)
  }

  /** @internal interposer 'extensionFrame' */
  onExtensionFrame(f: ExtensionFrame): void {
    if (this.ourTypes.has(f.type)) this.onFrame(f.type, f.streamId, f.payload)
  }

  /** @internal interposer 'extensionFrameTooLarge' */
  onExtensionFrameTooLarge(h: OversizedExtensionFrame): void {
    if (this.ourTypes.has(h.type)) this.feed(() => this.driverState!.onFrameTooLarge(h))
  }

  /** @internal interposer 'close' */
  onInterposerClose(): void {
    setImmediate(shutdownClosed, this as unknown as AnyDriver)
  }

  /** The error the session ended with (a ProtocolError for a violation), or undefined. */
  get closedError(): Error | undefined {
    return this.closedWith
  }

  /** True once the session ended (violation, GOAWAY or close). */
  get isClosed(): boolean {
    return this.closedWith !== undefined
  }

  /** @internal one SETTINGS frame of the peer */
  onPeerSettings(entries: readonly SettingsEntry[]): void {
    this.feed(() => {
      const actions = this.driverState!.onPeerSettings(entries)
      // The limit must be in place before queued frames go out.
      this.interposer.peerMaxFrameSize = this.driverState!.negotiation.peerMaxFrameSize
      return actions
    })
  }

  /** @internal one inbound extension frame */
  onFrame(type: number, streamId: number, payload: Uint8Array): void {
    this.feed(() => {
      this.frameLog.push({ dir: 'in', type, bytes: payload.length, at: Date.now() })
      publish('frame', { role: this.role, dir: 'in', type, streamId, bytes: payload.length })
      return this.driverState!.onFrame(type, streamId, payload)
    })
  }

  /** Installs the state machine and feeds what arrived before it. */
  protected setState(state: DriverState<A>): void {
    this.driverState = state
    const early = this.early
    this.early = undefined
    if (early !== undefined) for (const f of early) f()
  }

  private feed(step: () => A[]): void {
    if (this.closedWith instanceof ProtocolError) return
    if (this.driverState === undefined) {
      ;(this.early ??= []).push(() => this.feed(step))
      return
    }
    this.run(step())
  }

  /** Carries out actions: sends and violations here, the rest by the side. */
  protected run(actions: readonly A[]): void {
    for (const action of actions) {
      const a = action as unknown as DriverAction | A
      if (a.kind === 'send') {
        const s = a as Extract<DriverAction, { kind: 'send' }>
        this.send(s.frameType, s.payload)
      } else if (a.kind === 'goaway') {
        this.violation((a as Extract<DriverAction, { kind: 'goaway' }>).error)
      } else {
        this.onAction(a as A)
      }
    }
  }

  /** A side's own actions (results, requests, server certificates, …). */
  protected abstract onAction(action: A): void

  /** Rejects the side's waiters; runs once, when the session ends for any reason. */
  protected abstract onShutdown(error: Error): void

  /**
   * The row a non-zero GOAWAY of the peer stands for, right after one of our extension frames
   * of `sentTypes`; undefined when it is not about the extension.
   */
  protected abstract remoteViolation(sentTypes: ReadonlySet<number>): ViolationName | undefined

  /**
   * Ends the connection after a violation: the application sees it first (`'violation'`,
   * waiters), the side decides how the HTTP/2 stack above learns of it.
   */
  protected abstract endConnection(error: ProtocolError): void

  private send(type: number, payload: Uint8Array): void {
    this.frameLog.push({ dir: 'out', type, bytes: payload.length, at: Date.now() })
    publish('frame', { role: this.role, dir: 'out', type, streamId: 0, bytes: payload.length })
    try {
      this.interposer.sendExtensionFrame(type, 0, 0, payload)
      ;(this.sentTypes ??= new Set()).add(type)
    } catch (e) {
      // Frame too large for the peer, or the connection is closing: the connection is unaffected.
      publish('error', { role: this.role, error: e })
      this.emitDriver('sendError', e)
    }
  }

  /**
   * A violation we detected (RFC 9113 §5.4.1): GOAWAY with its code goes out through the
   * interposer and nothing after it; waiters fail with the error; `'violation'`; then the
   * connection ends.
   */
  protected violation(error: ProtocolError): void {
    if (this.closedWith instanceof ProtocolError) return
    publish('violation', { role: this.role, violation: error.violation, code: error.http2Code, remote: error.remote })
    if (!error.remote) this.interposer.goaway(error.http2Code)
    this.shutdown(error)
    this.emitDriver('violation', error)
    this.endConnection(error)
  }

  /** Ends the session's extension: every waiter is rejected with `error`; `'close'` once. */
  protected shutdown(error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    this.onShutdown(error)
    this.emitDriver('close', error)
  }

  private emitDriver<K extends keyof DriverEvents>(event: K, ...args: DriverEvents[K]): void {
    ;(this as unknown as EventEmitter).emit(event, ...args)
  }

  /** @internal interposer 'peerGoaway' */
  onPeerGoaway(g: PeerGoaway): void {
    if (g.errorCode === 0 || this.closedWith !== undefined) return
    const name = this.remoteViolation(this.sentTypes ?? NO_TYPES)
    if (name === undefined) return
    this.violation(
      new ProtocolError(name, g.errorCode, `peer sent GOAWAY with code 0x${g.errorCode.toString(16)} after our extension frame`, {
        remote: true,
      }),
    )
  }
}

const kDriver = Symbol('sessionDriver')
type AnyDriver = SessionDriver<{ readonly kind: string }, DriverEvents>

function driverOf(interposer: unknown): AnyDriver {
  return (interposer as Record<symbol, AnyDriver>)[kDriver]!
}

function onPeerSettingsEvent(this: FrameInterposer, entries: readonly SettingsEntry[]): void {
  driverOf(this).onPeerSettings(entries)
}

function onExtensionFrameEvent(this: FrameInterposer, f: ExtensionFrame): void {
  driverOf(this).onExtensionFrame(f)
}

function onFrameTooLargeEvent(this: FrameInterposer, h: OversizedExtensionFrame): void {
  driverOf(this).onExtensionFrameTooLarge(h)
}

function onPeerGoawayEvent(this: FrameInterposer, g: PeerGoaway): void {
  driverOf(this).onPeerGoaway(g)
}

function onCloseEvent(this: FrameInterposer): void {
  driverOf(this).onInterposerClose()
}

function shutdownClosed(driver: AnyDriver): void {
  ;(driver as unknown as { shutdown(error: Error): void }).shutdown(new ClosedError('connection closed'))
}

const NO_TYPES: ReadonlySet<number> = new Set()

/** Our three frame types, one read-only set per codepoint assignment (few distinct ones). */
const ourTypeSets = new Map<string, ReadonlySet<number>>()

function ourTypeSet(cp: Codepoints): ReadonlySet<number> {
  const key = `${cp.frameServerCertificate},${cp.frameAuthenticatorRequests},${cp.frameClientCertificate}`
  let set = ourTypeSets.get(key)
  if (set === undefined) {
    set = new Set([cp.frameServerCertificate, cp.frameAuthenticatorRequests, cp.frameClientCertificate])
    if (ourTypeSets.size < 64) ourTypeSets.set(key, set)
  }
  return set
}
