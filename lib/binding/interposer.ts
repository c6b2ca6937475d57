import { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { ClosedError, FrameTooLargeError, UsageError } from '../errors.js'
import { MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE } from '../config.js'
import { encodeExtensionFrame } from '../wire/h2/certificate-frame.js'
import { FRAME_HEADER_BYTES, H2FrameType, MAX_STREAM_ID, writeFrameHeader } from '../wire/h2/frame-header.js'
import type { FrameHeader } from '../wire/h2/frame-header.js'
import { FrameBoundaryTracker, FrameSplitter } from '../wire/h2/frame-splitter.js'
import type { FrameSplitterSink } from '../wire/h2/frame-splitter.js'
import { decodeSettings, settingValue, SETTINGS_MAX_FRAME_SIZE } from '../wire/h2/settings.js'
import type { SettingsEntry, SettingsFrame } from '../wire/h2/settings.js'
import { decodeGoaway, encodeGoawayFrame } from '../wire/h2/goaway-frame.js'
import { FirstSettingsAppender } from './first-settings.js'

/*
 * The frame interposer (digest http2-secondary-certs §9, notes node20-feasibility §1): a Duplex
 * between a connected TLSSocket and node:http2, because nghttp2 inside Node drops unknown frame
 * types and has no API to send them.
 *
 *   TLSSocket --data--> FrameSplitter --passThrough--> push() --> http2 (nghttp2)
 *                            \--extracted--> 'extensionFrame'
 *   http2 --write--> FrameBoundaryTracker --> TLSSocket.write()
 *   sendExtensionFrame() --(at a boundary, else queued)--^
 *
 * Bytes are passed on as views of the chunks the TLS socket emitted; only a frame header split
 * across reads is held, and our own frames are copied once into one buffer.
 */

/** Grace between writing a connection-error GOAWAY and closing the connection. */
const CLOSE_AFTER_GOAWAY_MS = 100

/** An extension frame taken out of the inbound stream. */
export interface ExtensionFrame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  /** The payload; owned by the listener (a copy, not a view of a socket buffer). */
  readonly payload: Uint8Array
}

/** An inbound extension frame longer than `maxInboundExtensionFrameBytes` (passed through). */
export interface OversizedExtensionFrame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  /** Payload length announced in the frame header. */
  readonly length: number
}

/** Options of `FrameInterposer`. */
export interface FrameInterposerOptions {
  /** Which end of the connection we are: a server reads the client preface first. */
  readonly role: 'client' | 'server'
  /** Frame types taken out of the inbound stream and reported as `'extensionFrame'`. */
  readonly extensionFrameTypes: readonly number[] | ReadonlySet<number>
  /**
   * Largest inbound extension frame payload delivered. A longer one is not buffered: it is
   * passed through to nghttp2 unchanged. Over the SETTINGS_MAX_FRAME_SIZE we advertised (read
   * from our own outbound SETTINGS; 16 384 before), nghttp2 answers GOAWAY(FRAME_SIZE_ERROR)
   * itself (RFC 9113 §4.2); below that it would drop the frame as an unknown type, so
   * `'extensionFrameTooLarge'` tells the caller to end the session.
   */
  readonly maxInboundExtensionFrameBytes: number
  /**
   * Settings appended to the first SETTINGS frame our HTTP/2 stack writes (client role only):
   * for a stack we do not create, whose `http2.connect` call we cannot give custom settings
   * (undici's). RFC 9113 §6.5: entries are 6 bytes each, a later one for the same identifier wins.
   */
  readonly appendToFirstSettings?: readonly SettingsEntry[]
}

/** A GOAWAY frame of the peer (RFC 9113 §6.8), reported as `'peerGoaway'`. */
export interface PeerGoaway {
  readonly lastStreamId: number
  readonly errorCode: number
}

/**
 * A Duplex between a connected `TLSSocket` and `node:http2` that takes extension frames out of
 * the inbound byte stream and inserts ours into the outbound one (digest §9).
 *
 * Inbound: every byte that is not an extension frame reaches http2 unchanged and in order;
 * extension frames are emitted as `'extensionFrame'` right after the bytes before them were
 * pushed (position-preserving; http2 has consumed them unless it applies backpressure).
 * Extension frames arriving inside an open header block are passed through, so nghttp2 raises
 * PROTOCOL_ERROR (RFC 9113 §6.10).
 *
 * Outbound: `sendExtensionFrame` writes at a frame boundary of what http2 wrote, after its first
 * SETTINGS frame (after the preface on a client, RFC 9113 §3.4), never inside a header block
 * (RFC 9113 §6.2, §6.10); otherwise it queues, in call order.
 *
 * Events:
 * - `'extensionFrame'` (`ExtensionFrame`): an inbound frame of one of `extensionFrameTypes`, any
 *   stream. What a frame on a non-zero stream means is the caller's decision.
 * - `'extensionFrameTooLarge'` (`OversizedExtensionFrame`): an inbound extension frame longer
 *   than `maxInboundExtensionFrameBytes` but within the SETTINGS_MAX_FRAME_SIZE we advertised;
 *   it went to nghttp2 unchanged, which ignores it. The caller should end the session with
 *   `session.goaway(FRAME_SIZE_ERROR)`. (Frames over our SETTINGS_MAX_FRAME_SIZE get no event:
 *   nghttp2 answers GOAWAY(FRAME_SIZE_ERROR) itself, RFC 9113 §4.2.)
 * - `'peerSettings'` (`[identifier, value][]`, wire order): each non-ACK SETTINGS frame of the
 *   peer on stream 0, emitted after nghttp2 was given the frame. `peerMaxFrameSize` follows the
 *   peer's SETTINGS_MAX_FRAME_SIZE automatically.
 *
 * - `'peerGoaway'` (`PeerGoaway`): a GOAWAY frame of the peer, reported after its bytes were
 *   handed on but before node:http2 reads them (it reads on the next tick).
 *
 * Connection errors (RFC 9113 §5.4.1): after a GOAWAY with a non-zero code goes out, ours
 * (`goaway()`) or nghttp2's own, nothing more is written on the connection: every later write of
 * node:http2 is dropped, the TLS socket is ended and destroyed after a short grace.
 *
 * Close: TLS `'end'` ends the readable side; `end()` ends the TLS socket; `destroy()` destroys
 * it; TLS `'close'`/`'error'` destroy the interposer (with the error).
 * Backpressure: a write completes once the TLS socket does not need draining; the TLS socket is
 * paused while the readable side is full.
 */
export class FrameInterposer extends Duplex {
  /** Which end of the connection this is. */
  readonly role: 'client' | 'server'
  /** The TLS socket underneath. */
  readonly tlsSocket: TLSSocket
  private readonly splitter: FrameSplitter
  private readonly tracker: FrameBoundaryTracker
  private readonly queue: Uint8Array[] = []
  private readonly maxInbound: number
  private peerMaxFrameSizeValue = MIN_MAX_FRAME_SIZE
  private pausedByUs = false
  private pendingWrite: ((error?: Error | null) => void) | undefined
  private finalCallback: ((error?: Error | null) => void) | undefined
  private closeTimer: NodeJS.Timeout | undefined
  /** A connection-error GOAWAY went out: drop every later write (RFC 9113 §5.4.1). */
  private isGoawayWritten = false
  /** Our own GOAWAY, waiting for a frame boundary. */
  private pendingGoaway: Uint8Array | undefined
  private appender: FirstSettingsAppender | undefined
  /**
   * Inbound bytes and events held back after the end of a response header block (client only),
   * handed on one header block per tick (see `onHeaderBlockEnd`). `BOUNDARY` separates them.
   */
  private readonly held: (Uint8Array | (() => void) | typeof BOUNDARY)[] = []
  private heldSinceBoundary = false
  private isDrainScheduled = false

  constructor(tlsSocket: TLSSocket, options: FrameInterposerOptions) {
    super({ allowHalfOpen: false, decodeStrings: true })
    if (options.role !== 'client' && options.role !== 'server') throw new UsageError(`unknown role ${String(options.role)}`)
    const max = options.maxInboundExtensionFrameBytes
    if (!Number.isSafeInteger(max) || max < 0) throw new UsageError('maxInboundExtensionFrameBytes must be a non-negative integer')
    for (const t of options.extensionFrameTypes) checkExtensionType(t)
    this.role = options.role
    this.tlsSocket = tlsSocket
    this.maxInbound = max
    this.splitter = new FrameSplitter(new SplitterSink(this), {
      expectPreface: options.role === 'server',
      // GOAWAY is taken out too, reported, then handed on (see onPeerGoaway). The set is shared
      // by every connection with the same types (per-connection memory, issue 9 item 10).
      extractTypes: sharedTypeSet(options.extensionFrameTypes, H2FrameType.GOAWAY),
      maxExtractBytes: Math.min(max, MIN_MAX_FRAME_SIZE),
      observeTypes: OBSERVED_TYPES,
      observeHeaderBlockEnds: options.role === 'client',
    })
    if (options.appendToFirstSettings !== undefined && options.appendToFirstSettings.length > 0) {
      if (options.role !== 'client') throw new UsageError('appendToFirstSettings is for the client role')
      this.appender = new FirstSettingsAppender(options.appendToFirstSettings)
    }
    this.tracker = new FrameBoundaryTracker(options.role === 'client')
    // Listeners shared by every connection: the interposer is found through the socket.
    ;(tlsSocket as unknown as Record<symbol, unknown>)[kInterposer] = this
    tlsSocket.on('data', onTlsData)
    tlsSocket.on('end', onTlsEnd)
    tlsSocket.on('error', onTlsError)
    tlsSocket.on('close', onTlsClose)
    if (tlsSocket.destroyed) process.nextTick(() => this.destroy())
  }

  /**
   * The peer's SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2), the limit for `sendExtensionFrame`.
   * Starts at 16 384 and follows the peer's SETTINGS frames; callers may set it from
   * `session.remoteSettings.maxFrameSize` as well.
   * @throws UsageError (`ERR_SC_USAGE`) when set outside 16 384 … 16 777 215.
   */
  get peerMaxFrameSize(): number {
    return this.peerMaxFrameSizeValue
  }

  set peerMaxFrameSize(value: number) {
    if (!Number.isInteger(value) || value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
      throw new UsageError(`max frame size ${value} outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE}`)
    }
    this.peerMaxFrameSizeValue = value
  }

  /** Extension frames waiting for a frame boundary. */
  get queuedExtensionFrames(): number {
    return this.queue.length
  }

  /** True once http2 wrote its first SETTINGS frame (extension frames may go out). */
  get hasSentSettings(): boolean {
    return this.tracker.hasSentSettings
  }

  /**
   * Sends one extension frame: now if the outbound stream is at a frame boundary outside a header
   * block and after our first SETTINGS, else as soon as it is (frames keep call order). The frame
   * is copied; `payload` may be reused after the call.
   * @param type frame type, 0x0a … 0xff (the frame types of RFC 9113 would corrupt nghttp2's
   *   state and are refused).
   * @param flags frame flags (u8); the drafts define none (digest §2).
   * @param streamId stream identifier (31 bits); the drafts use 0.
   * @throws FrameTooLargeError (`ERR_SC_FRAME_TOO_LARGE`) when the payload exceeds
   *   `peerMaxFrameSize` (RFC 9113 §4.2); nothing is sent and the connection is untouched.
   * @throws UsageError (`ERR_SC_USAGE`) for a bad type, flags or stream identifier.
   * @throws ClosedError (`ERR_SC_CLOSED`) when the interposer or TLS socket is closed or ending.
   */
  sendExtensionFrame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    checkExtensionType(type)
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new UsageError(`frame flags ${flags} outside 0..255`)
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_STREAM_ID) {
      throw new UsageError(`stream identifier ${streamId} out of range`)
    }
    if (payload.length > this.peerMaxFrameSizeValue) throw new FrameTooLargeError(payload.length, this.peerMaxFrameSizeValue)
    if (this.isClosing || this.destroyed || this.writableEnded || this.tlsSocket.destroyed || this.tlsSocket.writableEnded) {
      throw new ClosedError('connection closed: extension frame not sent')
    }
    const frame = encodeExtensionFrame(type, payload, streamId, flags)
    if (this.queue.length === 0 && this.tracker.canInsert) this.tlsSocket.write(frame)
    else this.queue.push(frame)
  }

  /** True once a connection-error GOAWAY is written or waiting: nothing else will be written. */
  get isClosing(): boolean {
    return this.isGoawayWritten || this.pendingGoaway !== undefined
  }

  /**
   * Ends the connection with a connection error (RFC 9113 §5.4.1): writes GOAWAY(`errorCode`)
   * at the next frame boundary of the outbound stream (Last-Stream-ID: the highest stream the
   * peer opened), drops every write after it and every queued extension frame, ends the TLS
   * socket and destroys it after a short grace. Works without the node:http2 session object.
   * A second call does nothing.
   */
  goaway(errorCode: number): void {
    if (this.isClosing || this.destroyed || this.tlsSocket.destroyed || this.tlsSocket.writableEnded) return
    const lastStreamId = this.role === 'server' ? this.splitter.highestHeadersStreamId : 0
    this.queue.length = 0
    this.pendingGoaway = encodeGoawayFrame(lastStreamId, errorCode)
    if (this.tracker.canInsert || !this.tracker.hasSentSettings) this.writePendingGoaway()
  }

  private writePendingGoaway(): void {
    const frame = this.pendingGoaway
    if (frame === undefined) return
    this.pendingGoaway = undefined
    this.isGoawayWritten = true
    this.queue.length = 0
    if (!this.tlsSocket.destroyed && !this.tlsSocket.writableEnded) this.tlsSocket.write(frame)
    this.closeAfterConnectionError()
  }

  override _read(): void {
    if (this.pausedByUs) {
      this.pausedByUs = false
      this.tlsSocket.resume()
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeChunks(chunk, callback)
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    const list: Buffer[] = new Array<Buffer>(chunks.length)
    for (let i = 0; i < chunks.length; i++) list[i] = chunks[i]!.chunk
    this.writeChunks(list, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    const tls = this.tlsSocket
    if (tls.destroyed) {
      callback()
      return
    }
    if (tls.writableFinished) {
      callback()
      return
    }
    this.finalCallback = callback
    tls.once('finish', onTlsFinish)
    if (!tls.writableEnded) tls.end()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer)
    const tls = this.tlsSocket
    tls.removeListener('data', onTlsData)
    tls.removeListener('drain', onTlsDrain)
    tls.removeListener('finish', onTlsFinish)
    this.queue.length = 0
    if (this.isGoawayWritten && !tls.destroyed) {
      // Let the GOAWAY leave: the TLS socket was ended; destroy it after the grace.
      if (!tls.writableEnded) tls.end()
      const t = setTimeout(() => tls.destroy(), CLOSE_AFTER_GOAWAY_MS)
      t.unref?.()
      tls.once('close', () => clearTimeout(t))
    } else if (!tls.destroyed) {
      tls.destroy()
    }
    const pending = this.pendingWrite
    this.pendingWrite = undefined
    if (pending) pending(error ?? new ClosedError('connection closed during a write'))
    const final = this.finalCallback
    this.finalCallback = undefined
    if (final) final(error ?? null)
    callback(error)
  }

  /** `chunks`: one chunk (`_write`, no array allocated) or several (`_writev`). */
  private writeChunks(chunks: Buffer | Buffer[], callback: (error?: Error | null) => void): void {
    const tls = this.tlsSocket
    if (this.isGoawayWritten) {
      // RFC 9113 §5.4.1: nothing follows a connection-error GOAWAY.
      callback()
      return
    }
    if (tls.destroyed || tls.writableEnded) {
      callback(new ClosedError('TLS socket closed'))
      return
    }
    let list = chunks
    if (this.appender !== undefined && !this.appender.hasRewritten) {
      let out: Buffer
      try {
        out = this.appender.push(!Array.isArray(list) ? list : list.length === 1 ? list[0]! : Buffer.concat(list))
      } catch (e) {
        callback(e as Error)
        return
      }
      if (out.length === 0) {
        callback()
        return
      }
      list = out
    }
    tls.cork()
    if (!Array.isArray(list)) this.writeChunk(list)
    else for (let i = 0; i < list.length && !this.isGoawayWritten; i++) this.writeChunk(list[i]!)
    if ((this.queue.length > 0 || this.pendingGoaway !== undefined) && this.tracker.canInsert) this.flushQueue()
    tls.uncork()
    if (this.tracker.connectionError !== undefined) this.closeAfterConnectionError()
    // RFC 9113 §4.2: never extract what exceeds the max frame size we advertised; nghttp2 must
    // see such a frame to answer FRAME_SIZE_ERROR.
    const maxExtract = Math.min(this.maxInbound, this.tracker.localMaxFrameSize)
    if (maxExtract !== this.splitter.maxExtractBytes) this.splitter.maxExtractBytes = maxExtract
    if (tls.writableNeedDrain && !this.isGoawayWritten) {
      this.pendingWrite = callback
      tls.once('drain', onTlsDrain)
    } else {
      callback()
    }
  }

  /** One chunk of node:http2's, with queued frames inserted at its first boundary (corked). */
  private writeChunk(chunk: Buffer): void {
    const tls = this.tlsSocket
    if (this.queue.length === 0 && this.pendingGoaway === undefined) {
      this.tracker.push(chunk)
      tls.write(chunk)
      if (this.tracker.connectionError !== undefined) this.closeAfterConnectionError()
      return
    }
    // Frames are waiting: write them at the first boundary inside this chunk, if any.
    const at = this.tracker.push(chunk)
    if (at < 0) {
      tls.write(chunk)
      return
    }
    if (at > 0) tls.write(at === chunk.length ? chunk : chunk.subarray(0, at))
    this.flushQueue()
    if (this.isGoawayWritten) return
    if (at < chunk.length) tls.write(chunk.subarray(at))
  }

  /**
   * RFC 9113 §5.4.1: after sending a GOAWAY for a connection error the endpoint MUST close the
   * TCP connection. nghttp2 inside Node sends it (e.g. FRAME_SIZE_ERROR for a frame over our
   * SETTINGS_MAX_FRAME_SIZE) but leaves the socket open; we close it once the GOAWAY had a moment
   * to leave, so a peer cannot hold a dead connection open.
   */
  private closeAfterConnectionError(): void {
    this.isGoawayWritten = true
    if (this.closeTimer !== undefined) return
    if (!this.tlsSocket.writableEnded && !this.tlsSocket.destroyed) this.tlsSocket.end()
    this.closeTimer = setTimeout(() => {
      if (!this.destroyed) this.destroy()
    }, CLOSE_AFTER_GOAWAY_MS)
    this.closeTimer.unref?.()
  }

  private flushQueue(): void {
    for (const frame of this.queue) this.tlsSocket.write(frame)
    this.queue.length = 0
    if (this.pendingGoaway !== undefined) this.writePendingGoaway()
  }

  /**
   * A GOAWAY of the peer, taken out of the stream at its place: reported first, so a listener
   * can end the connection with its own error before node:http2 (which may read pushed bytes
   * synchronously) reports the GOAWAY as ERR_HTTP2_SESSION_ERROR; then handed on unchanged.
   */
  private onPeerGoaway(h: FrameHeader, payload: Uint8Array): void {
    let g
    try {
      g = decodeGoaway(payload)
    } catch {
      g = undefined // nghttp2 answers a malformed GOAWAY itself
    }
    if (g !== undefined) this.emitSafely('peerGoaway', { lastStreamId: g.lastStreamId, errorCode: g.errorCode } satisfies PeerGoaway)
    if (this.destroyed) return
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
    writeFrameHeader(frame, 0, h)
    frame.set(payload, FRAME_HEADER_BYTES)
    this.deliver(frame)
  }

  /**
   * node:http2 emits a stream's 'response' on a later tick than the HEADERS frame is parsed but
   * emits 'data' as soon as a DATA frame is parsed. Over a native socket each read is its own
   * callback, so the 'response' tick runs between them; over a JS stream (this interposer) the
   * bytes of a read reach nghttp2 in one call and 'data' came first (issue 9 item 7). So on a
   * client, what follows the end of a header block is handed on in a later tick, after the
   * 'response' tick: the event order is the one of a plain connection.
   */
  private onHeaderBlockEnd(): void {
    if (this.held.length > 0 || this.heldSinceBoundary) this.held.push(BOUNDARY)
    else this.heldSinceBoundary = true
    this.scheduleDrain()
  }

  /** Hands bytes (or an event) on now, or after what is held back, in stream order. */
  private deliver(item: Uint8Array | (() => void)): void {
    if (this.held.length > 0 || this.heldSinceBoundary) {
      this.held.push(item)
      this.scheduleDrain()
      return
    }
    this.apply(item)
  }

  private apply(item: Uint8Array | (() => void)): void {
    if (typeof item === 'function') {
      item()
      return
    }
    if (this.destroyed) return
    if (!this.push(item) && !this.pausedByUs) {
      this.pausedByUs = true
      this.tlsSocket.pause()
    }
  }

  private scheduleDrain(): void {
    if (this.isDrainScheduled) return
    this.isDrainScheduled = true
    process.nextTick(drainHeldOf, this)
  }

  /** One header block's worth per tick: everything up to the next boundary. */
  /** @internal */
  drainHeld(): void {
    this.isDrainScheduled = false
    this.heldSinceBoundary = false
    while (this.held.length > 0) {
      const item = this.held.shift()!
      if (item === BOUNDARY) {
        this.heldSinceBoundary = true
        break
      }
      this.apply(item)
    }
    if (this.held.length > 0 || this.heldSinceBoundary) this.scheduleDrain()
  }

  private onPeerSettings(h: FrameHeader, payload: Uint8Array): void {
    // RFC 9113 §6.5: a malformed SETTINGS frame is a connection error nghttp2 reports itself; it
    // changes nothing here.
    let frame: SettingsFrame
    try {
      frame = decodeSettings(h.flags, h.streamId, payload)
    } catch {
      return
    }
    if (frame.ack) return
    const maxFrameSize = settingValue(frame.entries, SETTINGS_MAX_FRAME_SIZE)
    if (maxFrameSize !== undefined) this.peerMaxFrameSizeValue = maxFrameSize
    this.emitSafely('peerSettings', frame.entries)
  }

  /** A throwing listener destroys the connection instead of escaping into the socket's 'data'. */
  private emitSafely(event: string, value: unknown): void {
    try {
      this.emit(event, value)
    } catch (e) {
      this.destroy(e instanceof Error ? e : new Error(String(e)))
    }
  }

  /** @internal TLS 'data' */
  onTlsData(chunk: Buffer): void {
    if (this.destroyed) return
    this.splitter.push(chunk)
  }

  /** @internal TLS 'end' */
  onTlsEnd(): void {
    this.deliver(() => this.push(null))
  }

  /** @internal TLS 'drain' */
  onTlsDrain(): void {
    const pending = this.pendingWrite
    this.pendingWrite = undefined
    if (pending) pending()
  }

  /** @internal TLS 'finish' */
  onTlsFinish(): void {
    const final = this.finalCallback
    this.finalCallback = undefined
    if (final) final()
  }

  /** @internal splitter sink: bytes for node:http2 */
  onPassThrough(bytes: Uint8Array): void {
    this.deliver(bytes)
  }

  /** @internal splitter sink: an extension frame (or a GOAWAY) taken out */
  onExtracted(h: FrameHeader, payload: Uint8Array): void {
    if (h.type === H2FrameType.GOAWAY) this.onPeerGoaway(h, payload)
    else this.deliver(() => this.emitSafely('extensionFrame', frameEvent(h, payload)))
  }

  /** @internal splitter sink: an extension frame too long to take out */
  onOversized(h: FrameHeader): void {
    if (h.type === H2FrameType.GOAWAY) return // passed through as it is
    // Over our advertised max frame size nghttp2 sends GOAWAY(FRAME_SIZE_ERROR) itself.
    if (h.length > this.tracker.localMaxFrameSize) return
    this.emitSafely('extensionFrameTooLarge', { type: h.type, flags: h.flags, streamId: h.streamId, length: h.length })
  }

  /** @internal splitter sink: a SETTINGS frame or the end of a header block, passed through */
  onObserved(h: FrameHeader, payload: Uint8Array): void {
    if (h.type === H2FrameType.SETTINGS) this.deliver(() => this.onPeerSettings(h, payload))
    else this.onHeaderBlockEnd()
  }
}

/*
 * Per-connection memory (issue 9 item 10): the TLS listeners, the splitter's sink and the
 * held-back drain are shared functions, not closures made per connection; each finds its
 * interposer through the socket (or the sink object).
 */
const kInterposer = Symbol('frameInterposer')

function interposerOf(tls: unknown): FrameInterposer {
  return (tls as Record<symbol, FrameInterposer>)[kInterposer]!
}

function onTlsData(this: TLSSocket, chunk: Buffer): void {
  interposerOf(this).onTlsData(chunk)
}

function onTlsEnd(this: TLSSocket): void {
  interposerOf(this).onTlsEnd()
}

function onTlsError(this: TLSSocket, error: Error): void {
  interposerOf(this).destroy(error)
}

function onTlsClose(this: TLSSocket): void {
  interposerOf(this).destroy()
}

function onTlsDrain(this: TLSSocket): void {
  interposerOf(this).onTlsDrain()
}

function onTlsFinish(this: TLSSocket): void {
  interposerOf(this).onTlsFinish()
}

function drainHeldOf(interposer: FrameInterposer): void {
  interposer.drainHeld()
}

/** The splitter's sink: one small object per connection, methods on the prototype. */
class SplitterSink implements FrameSplitterSink {
  private readonly interposer: FrameInterposer
  constructor(interposer: FrameInterposer) {
    this.interposer = interposer
  }
  passThrough(bytes: Uint8Array): void {
    this.interposer.onPassThrough(bytes)
  }
  extracted(h: FrameHeader, payload: Uint8Array): void {
    this.interposer.onExtracted(h, payload)
  }
  oversized(h: FrameHeader): void {
    this.interposer.onOversized(h)
  }
  observed(h: FrameHeader, payload: Uint8Array): void {
    this.interposer.onObserved(h, payload)
  }
}

const OBSERVED_TYPES: ReadonlySet<number> = new Set([H2FrameType.SETTINGS])

/** Read-only type sets shared by every connection with the same types (few distinct ones). */
const typeSets = new Map<string, ReadonlySet<number>>()

function sharedTypeSet(types: Iterable<number>, extra: number): ReadonlySet<number> {
  const list = [...types, extra].sort((a, b) => a - b)
  const key = list.join(',')
  let set = typeSets.get(key)
  if (set === undefined) {
    set = new Set(list)
    if (typeSets.size < 64) typeSets.set(key, set)
  }
  return set
}

/** Separates held-back header blocks (see `FrameInterposer.onHeaderBlockEnd`). */
const BOUNDARY: unique symbol = Symbol('header block boundary')

function checkExtensionType(type: number): void {
  if (!Number.isInteger(type) || type < 0x0a || type > 0xff) {
    throw new UsageError(`extension frame type ${type} outside 0x0a..0xff`)
  }
}

function frameEvent(h: FrameHeader, payload: Uint8Array): ExtensionFrame {
  return { type: h.type, flags: h.flags, streamId: h.streamId, payload }
}
