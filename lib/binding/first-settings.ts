import { UsageError } from '../errors.js'
import { encodeSettingsPayload } from '../wire/h2/settings.js'
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, H2FrameType } from '../wire/h2/frame-header.js'

/*
 * An HTTP/2 stack we do not create (undici's) calls `http2.connect` with its own settings, so
 * nghttp2's first SETTINGS frame does not carry SETTINGS_HTTP_CLIENT_CERT_AUTH (CLIENT -00 §3.1) or
 * SETTINGS_HTTP_SERVER_CERT_AUTH (SERVER -02 §3.1). RFC 9113 §3.4 makes that SETTINGS frame the
 * first thing after the client preface; we append our entries to it on the way out (RFC 9113
 * §6.5: a SETTINGS payload is a sequence of 6-byte entries, so appending keeps it well formed,
 * and a later entry for the same identifier wins, §6.5.3).
 */

/**
 * Rewrites the start of a client's outbound byte stream: preface, then the first SETTINGS frame
 * with `entries` appended; every byte after it passes unchanged. Bytes are held only until the
 * preface and the whole first SETTINGS frame have been seen.
 */
export class FirstSettingsAppender {
  private readonly extra: Uint8Array
  private held: Buffer[] = []
  private heldBytes = 0
  private done = false

  /**
   * @param entries `[identifier, value]` pairs (16-bit identifier, 32-bit value).
   * @throws UsageError (`ERR_SC_USAGE`) for an identifier or value out of range.
   */
  constructor(entries: readonly (readonly [number, number])[]) {
    const extra = encodeSettingsPayload(entries)
    this.extra = extra
  }

  /** True once the first SETTINGS frame went out (every later chunk passes as is). */
  get hasRewritten(): boolean {
    return this.done
  }

  /**
   * Takes the next outbound chunk and returns what to write now (possibly empty while the first
   * SETTINGS frame is incomplete).
   * @throws UsageError (`ERR_SC_USAGE`) when the stream does not start with the client preface
   *   followed by a SETTINGS frame (not an HTTP/2 client).
   */
  push(chunk: Buffer): Buffer {
    if (this.done) return chunk
    this.held.push(chunk)
    this.heldBytes += chunk.length
    const need = CLIENT_PREFACE.length + FRAME_HEADER_BYTES
    if (this.heldBytes < need) return EMPTY
    const all = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes)
    for (let i = 0; i < CLIENT_PREFACE.length; i++) {
      if (all[i] !== CLIENT_PREFACE[i]) throw new UsageError('outbound bytes do not start with the HTTP/2 client preface')
    }
    const h = CLIENT_PREFACE.length
    if (all[h + 3] !== H2FrameType.SETTINGS) throw new UsageError('the first frame after the preface is not SETTINGS')
    const length = (all[h]! << 16) | (all[h + 1]! << 8) | all[h + 2]!
    const end = need + length
    if (all.length < end) {
      this.held = [all]
      return EMPTY
    }
    this.done = true
    this.held = []
    const newLength = length + this.extra.length
    const out = Buffer.allocUnsafe(all.length + this.extra.length)
    all.copy(out, 0, 0, end)
    out[h] = (newLength >>> 16) & 0xff
    out[h + 1] = (newLength >>> 8) & 0xff
    out[h + 2] = newLength & 0xff
    out.set(this.extra, end)
    all.copy(out, end + this.extra.length, end)
    return out
  }
}

const EMPTY = Buffer.alloc(0)
