import { UsageError } from '../../errors.js'
import {
  CLIENT_PREFACE,
  FRAME_HEADER_BYTES,
  H2Flag,
  H2FrameType,
  readFrameHeaderUnchecked,
} from './frame-header.js'
import type { FrameHeader } from './frame-header.js'
import { decodeSettingsPayload, settingValue, SETTINGS_MAX_FRAME_SIZE } from './settings.js'

/*
 * Incremental HTTP/2 framing (RFC 9113 §4.1) for the frame interposer (digest §9).
 *
 * FrameSplitter (inbound): walks a byte stream frame by frame, takes frames of chosen types out
 * and passes every other byte on unchanged, as views of the pushed chunks. Only a frame header
 * split across chunks is held back (at most 8 bytes) and an extracted frame's payload is
 * collected; nothing else is copied.
 *
 * FrameBoundaryTracker (outbound): follows what nghttp2 writes and says where a frame of ours
 * may be inserted: at a frame boundary, after the writer's first SETTINGS frame, never inside a
 * header block (RFC 9113 §6.2, §6.10: a HEADERS or PUSH_PROMISE without END_HEADERS must be
 * followed directly by CONTINUATION frames up to the one with END_HEADERS).
 */

/** Where a pushed frame went. */
export interface FrameSplitterSink {
  /** Bytes to forward unchanged, in stream order (views into pushed chunks where possible). */
  passThrough(bytes: Uint8Array): void
  /**
   * A complete frame of an extracted type; every byte before it was given to `passThrough`
   * first. `payload` is owned by the receiver (never a view into a pushed chunk).
   */
  extracted(header: FrameHeader, payload: Uint8Array): void
  /**
   * A frame of an extracted type longer than `maxExtractBytes`. It is passed through unchanged
   * (so nghttp2 answers FRAME_SIZE_ERROR itself when it exceeds the advertised
   * SETTINGS_MAX_FRAME_SIZE, RFC 9113 §4.2) and never buffered. Called when its header has been
   * read, after all earlier bytes went to `passThrough`, before its own bytes do.
   */
  oversized?(header: FrameHeader): void
  /**
   * A complete frame of an observed type. Its bytes were already given to `passThrough`;
   * `payload` may be a view into a pushed chunk: copy it to keep it.
   */
  observed?(header: FrameHeader, payload: Uint8Array): void
}

/** Options of `FrameSplitter`. */
export interface FrameSplitterOptions {
  /**
   * True for bytes written by a client (the server's inbound side): the first 24 bytes are the
   * connection preface (RFC 9113 §3.4), passed through without inspection. A wrong preface is
   * not our business: nghttp2 rejects it.
   */
  readonly expectPreface: boolean
  /** Frame types to take out of the stream. */
  readonly extractTypes: ReadonlySet<number>
  /** Largest payload extracted; longer frames of those types pass through (see `oversized`). */
  readonly maxExtractBytes: number
  /** Frame types passed through and also reported with their payload (e.g. SETTINGS). */
  readonly observeTypes?: ReadonlySet<number>
  /** Largest observed payload; longer frames are passed through without a report. */
  readonly maxObserveBytes?: number
  /**
   * Also observe the frame that ends each header block (HEADERS or CONTINUATION with
   * END_HEADERS), so the sink learns where one response's header block ends in the stream.
   */
  readonly observeHeaderBlockEnds?: boolean
}

/** What happens to one frame: passed on, taken out, passed on and reported, or too large. */
const D = { PASS: 0, EXTRACT: 1, OBSERVE: 2, OVERSIZED: 3 } as const
type Disposition = (typeof D)[keyof typeof D]

const EMPTY = new Uint8Array(0)
const NO_TYPES: ReadonlySet<number> = new Set()

/**
 * Splits an inbound HTTP/2 byte stream: frames of `extractTypes` go to `sink.extracted`, all other
 * bytes to `sink.passThrough` in their original order. Frames of an extracted type that arrive
 * inside an open header block are passed through, so the HTTP/2 stack behind us detects the
 * violation (RFC 9113 §6.10: PROTOCOL_ERROR).
 */
export class FrameSplitter {
  private readonly sink: FrameSplitterSink
  private readonly extractTypes: ReadonlySet<number>
  private readonly observeTypes: ReadonlySet<number>
  private maxExtractValue: number
  private readonly maxObserveBytes: number
  private prefaceLeft: number
  /** Held bytes of a frame header split across chunks (allocated the first time one is). */
  private held: Uint8Array | undefined
  private heldLength = 0
  /** The frame whose payload is being read, if any. */
  private header: FrameHeader | undefined
  private disposition: Disposition = D.PASS
  private payloadLeft = 0
  /** Extracted or observed payload being collected (observed: only when split across chunks). */
  private collect: Uint8Array | undefined
  private collected = 0
  private headerBlockOpen = false

  private highestHeadersStream = 0
  private readonly observeHeaderBlockEnds: boolean

  constructor(sink: FrameSplitterSink, options: FrameSplitterOptions) {
    if (!Number.isInteger(options.maxExtractBytes) || options.maxExtractBytes < 0) {
      throw new UsageError('maxExtractBytes must be a non-negative integer')
    }
    this.sink = sink
    this.extractTypes = options.extractTypes
    this.observeTypes = options.observeTypes ?? NO_TYPES
    this.observeHeaderBlockEnds = options.observeHeaderBlockEnds ?? false
    this.maxExtractValue = options.maxExtractBytes
    this.maxObserveBytes = options.maxObserveBytes ?? 65536
    this.prefaceLeft = options.expectPreface ? CLIENT_PREFACE.length : 0
  }

  /**
   * Largest payload extracted; frames that start after a change see the new value.
   * @throws UsageError (`ERR_SC_USAGE`) for a negative or non-integer value.
   */
  get maxExtractBytes(): number {
    return this.maxExtractValue
  }

  set maxExtractBytes(value: number) {
    if (!Number.isInteger(value) || value < 0) throw new UsageError('maxExtractBytes must be a non-negative integer')
    this.maxExtractValue = value
  }

  /** True between frames: no preface byte, header byte or payload byte is outstanding. */
  get isAtFrameBoundary(): boolean {
    return this.prefaceLeft === 0 && this.heldLength === 0 && this.header === undefined
  }

  /** True while a HEADERS/PUSH_PROMISE without END_HEADERS waits for its last CONTINUATION. */
  get isInHeaderBlock(): boolean {
    return this.headerBlockOpen
  }

  /** Feeds the next chunk of the stream. Sink callbacks run synchronously, in stream order. */
  push(chunk: Uint8Array): void {
    const n = chunk.length
    let i = 0
    /** Start of the pass-through run not yet handed to the sink. */
    let run = 0
    if (this.prefaceLeft > 0) {
      i = Math.min(this.prefaceLeft, n)
      this.prefaceLeft -= i
    }
    while (i < n) {
      if (this.header !== undefined) {
        const k = Math.min(this.payloadLeft, n - i)
        if (this.disposition === D.EXTRACT) {
          this.collect!.set(chunk.subarray(i, i + k), this.collected)
          this.collected += k
          i += k
          run = i
        } else {
          if (this.disposition === D.OBSERVE && (this.collect !== undefined || k < this.payloadLeft)) {
            // An observed payload split across chunks is collected; a whole one stays a view.
            this.collect ??= new Uint8Array(this.header.length)
            this.collect.set(chunk.subarray(i, i + k), this.collected)
            this.collected += k
          }
          i += k
        }
        this.payloadLeft -= k
        if (this.payloadLeft === 0) {
          if (this.disposition === D.OBSERVE) {
            const payload = this.collect ?? chunk.subarray(i - this.header.length, i)
            if (run < i) this.sink.passThrough(chunk.subarray(run, i))
            run = i
            this.finish(payload)
          } else {
            this.finish(this.collect ?? EMPTY)
          }
        }
        continue
      }
      let header: FrameHeader
      let headerStart: number
      if (this.heldLength > 0 || n - i < FRAME_HEADER_BYTES) {
        if (this.heldLength === 0 && run < i) {
          this.sink.passThrough(chunk.subarray(run, i))
        }
        const k = Math.min(FRAME_HEADER_BYTES - this.heldLength, n - i)
        const held = (this.held ??= new Uint8Array(FRAME_HEADER_BYTES))
        held.set(chunk.subarray(i, i + k), this.heldLength)
        this.heldLength += k
        i += k
        run = i
        if (this.heldLength < FRAME_HEADER_BYTES) break
        this.heldLength = 0
        header = readFrameHeaderUnchecked(held, 0)
        headerStart = -1
      } else {
        header = readFrameHeaderUnchecked(chunk, i)
        headerStart = i
        i += FRAME_HEADER_BYTES
      }
      const disposition = this.classify(header)
      if (disposition === D.EXTRACT) {
        if (headerStart >= 0 && run < headerStart) this.sink.passThrough(chunk.subarray(run, headerStart))
        run = i
      } else {
        if (disposition === D.OVERSIZED) {
          // Everything before the oversized frame goes out first, then the report, then the frame.
          if (headerStart >= 0) {
            if (run < headerStart) this.sink.passThrough(chunk.subarray(run, headerStart))
            run = headerStart
          }
          this.sink.oversized?.(header)
        }
        if (headerStart < 0) this.sink.passThrough(this.held!.slice())
      }
      if (header.length > 0) {
        this.header = header
        this.disposition = disposition
        this.payloadLeft = header.length
        this.collected = 0
        this.collect = disposition === D.EXTRACT ? new Uint8Array(header.length) : undefined
      } else if (disposition === D.EXTRACT) {
        this.sink.extracted(header, new Uint8Array(0))
      } else if (disposition === D.OBSERVE) {
        // Zero-length observed frame (e.g. SETTINGS ACK): report after its header went out.
        if (run < i) this.sink.passThrough(chunk.subarray(run, i))
        run = i
        this.sink.observed?.(header, EMPTY)
      }
    }
    if (run < n) this.sink.passThrough(run === 0 ? chunk : chunk.subarray(run, n))
  }

  /**
   * Highest stream identifier of a HEADERS frame seen so far (0 before any): the Last-Stream-ID
   * of a GOAWAY we write (RFC 9113 §6.8).
   */
  get highestHeadersStreamId(): number {
    return this.highestHeadersStream
  }

  private classify(h: FrameHeader): Disposition {
    if (h.type === H2FrameType.HEADERS && h.streamId > this.highestHeadersStream) this.highestHeadersStream = h.streamId
    const wasOpen = this.headerBlockOpen
    if (wasOpen) {
      // RFC 9113 §6.10: only CONTINUATION may follow; END_HEADERS closes the block.
      if (h.type === H2FrameType.CONTINUATION && (h.flags & H2Flag.END_HEADERS) !== 0) this.headerBlockOpen = false
    } else if ((h.type === H2FrameType.HEADERS || h.type === H2FrameType.PUSH_PROMISE) && (h.flags & H2Flag.END_HEADERS) === 0) {
      this.headerBlockOpen = true
    }
    // Inside a header block an extension frame is a violation the HTTP/2 stack must see.
    if (this.extractTypes.has(h.type) && !wasOpen) return h.length <= this.maxExtractValue ? D.EXTRACT : D.OVERSIZED
    if (this.observeTypes.has(h.type) && h.length <= this.maxObserveBytes) return D.OBSERVE
    if (
      this.observeHeaderBlockEnds &&
      (h.flags & H2Flag.END_HEADERS) !== 0 &&
      (h.type === H2FrameType.HEADERS || (h.type === H2FrameType.CONTINUATION && wasOpen)) &&
      h.length <= this.maxObserveBytes
    ) {
      return D.OBSERVE
    }
    return D.PASS
  }

  private finish(payload: Uint8Array): void {
    const header = this.header!
    const disposition = this.disposition
    this.header = undefined
    this.collect = undefined
    if (disposition === D.EXTRACT) this.sink.extracted(header, payload)
    else if (disposition === D.OBSERVE) this.sink.observed?.(header, payload)
  }
}

/**
 * Follows an outbound HTTP/2 byte stream (what our own HTTP/2 stack writes) and tells where
 * another frame may be inserted: at a frame boundary, after the writer's first SETTINGS frame
 * (RFC 9113 §3.4: the preface and SETTINGS come first), and not inside a header block
 * (RFC 9113 §6.2, §6.10).
 */
export class FrameBoundaryTracker {
  private prefaceLeft: number
  /** Held bytes of a frame header split across writes (allocated the first time one is). */
  private held: Uint8Array | undefined
  private heldLength = 0
  private payloadLeft = 0
  private inFrame = false
  private frameType = -1
  private headerBlockOpen = false
  private settingsSent = false
  /** Payload of a SETTINGS frame being written, collected to read SETTINGS_MAX_FRAME_SIZE. */
  private settings: Uint8Array | undefined
  private settingsFilled = 0
  private localMaxFrameSizeValue = 16384
  /** Last-Stream-ID and Error Code of a GOAWAY being written (RFC 9113 §6.8), when collecting. */
  private goaway: Uint8Array | undefined
  private goawayFilled = 0
  private connectionErrorValue: number | undefined

  /** @param expectPreface true for a client: its first 24 bytes are the connection preface. */
  constructor(expectPreface: boolean) {
    this.prefaceLeft = expectPreface ? CLIENT_PREFACE.length : 0
  }

  /** True when a frame may be inserted after the bytes pushed so far. */
  get canInsert(): boolean {
    return this.settingsSent && !this.headerBlockOpen && !this.inFrame && this.heldLength === 0 && this.prefaceLeft === 0
  }

  /** True once the writer's first SETTINGS frame was complete. */
  get hasSentSettings(): boolean {
    return this.settingsSent
  }

  /** True while a header block is open. */
  get isInHeaderBlock(): boolean {
    return this.headerBlockOpen
  }

  /**
   * The error code of the first complete GOAWAY the writer sent with a non-zero code (a
   * connection error, RFC 9113 §5.4.1), or undefined.
   */
  get connectionError(): number | undefined {
    return this.connectionErrorValue
  }

  /**
   * SETTINGS_MAX_FRAME_SIZE of the writer's latest complete SETTINGS frame carrying it
   * (RFC 9113 §6.5.2; 16 384 until then): the largest frame the writer lets its peer send.
   */
  get localMaxFrameSize(): number {
    return this.localMaxFrameSizeValue
  }

  /**
   * Feeds the next written chunk.
   * @returns the first offset in `1..chunk.length` after which a frame may be inserted, or -1
   *   when there is none in this chunk.
   */
  push(chunk: Uint8Array): number {
    const n = chunk.length
    let i = 0
    let first = -1
    if (this.prefaceLeft > 0) {
      i = Math.min(this.prefaceLeft, n)
      this.prefaceLeft -= i
    }
    while (i < n) {
      if (this.inFrame) {
        const k = Math.min(this.payloadLeft, n - i)
        if (this.settings !== undefined) {
          this.settings.set(chunk.subarray(i, i + k), this.settingsFilled)
          this.settingsFilled += k
        }
        if (this.goaway !== undefined && this.goawayFilled < this.goaway.length) {
          const take = Math.min(k, this.goaway.length - this.goawayFilled)
          this.goaway.set(chunk.subarray(i, i + take), this.goawayFilled)
          this.goawayFilled += take
        }
        i += k
        this.payloadLeft -= k
        if (this.payloadLeft > 0) break
        this.endFrame()
        if (first < 0 && i > 0 && this.canInsert) first = i
        continue
      }
      let b: Uint8Array
      let o: number
      if (this.heldLength > 0 || n - i < FRAME_HEADER_BYTES) {
        const k = Math.min(FRAME_HEADER_BYTES - this.heldLength, n - i)
        const held = (this.held ??= new Uint8Array(FRAME_HEADER_BYTES))
        held.set(chunk.subarray(i, i + k), this.heldLength)
        this.heldLength += k
        i += k
        if (this.heldLength < FRAME_HEADER_BYTES) break
        this.heldLength = 0
        b = held
        o = 0
      } else {
        b = chunk
        o = i
        i += FRAME_HEADER_BYTES
      }
      const length = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!
      const type = b[o + 3]!
      const flags = b[o + 4]!
      if (this.headerBlockOpen) {
        if (type === H2FrameType.CONTINUATION && (flags & H2Flag.END_HEADERS) !== 0) this.headerBlockOpen = false
      } else if ((type === H2FrameType.HEADERS || type === H2FrameType.PUSH_PROMISE) && (flags & H2Flag.END_HEADERS) === 0) {
        this.headerBlockOpen = true
      }
      this.frameType = type
      this.inFrame = true
      this.payloadLeft = length
      const isSettings = type === H2FrameType.SETTINGS && (flags & H2Flag.ACK) === 0 && length % 6 === 0
      this.settings = isSettings && length > 0 && length <= 65536 ? new Uint8Array(length) : undefined
      this.settingsFilled = 0
      // GOAWAY: Last-Stream-ID (4 bytes) and Error Code (4 bytes) come first (RFC 9113 §6.8).
      this.goaway = type === H2FrameType.GOAWAY && length >= 8 && this.connectionErrorValue === undefined ? new Uint8Array(8) : undefined
      this.goawayFilled = 0
      if (length === 0) {
        this.endFrame()
        if (first < 0 && this.canInsert) first = i
      }
    }
    return first
  }

  private endFrame(): void {
    this.inFrame = false
    if (this.frameType === H2FrameType.SETTINGS) this.settingsSent = true
    const g = this.goaway
    if (g !== undefined) {
      this.goaway = undefined
      const code = ((g[4]! << 24) >>> 0) + ((g[5]! << 16) | (g[6]! << 8) | g[7]!)
      if (code !== 0) this.connectionErrorValue = code
    }
    const s = this.settings
    if (s === undefined) return
    this.settings = undefined
    let value: number | undefined
    try {
      value = settingValue(decodeSettingsPayload(s), SETTINGS_MAX_FRAME_SIZE)
    } catch {
      // A SETTINGS frame the peer must reject does not change what we accept.
      return
    }
    if (value !== undefined) this.localMaxFrameSizeValue = value
  }
}
