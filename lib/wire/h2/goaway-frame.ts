import { DecodeError, UsageError } from '../../errors.js'
import { FRAME_HEADER_BYTES, H2FrameType, MAX_STREAM_ID } from './frame-header.js'

/**
 * RFC 9113 §6.8:
 *   GOAWAY Frame {
 *     Length (24),
 *     Type (8) = 0x07,
 *     Unused Flags (8),
 *     Reserved (1),
 *     Stream Identifier (31) = 0,
 *     Reserved (1),
 *     Last-Stream-ID (31),
 *     Error Code (32),
 *     Additional Debug Data (..),
 *   }
 */
export interface Goaway {
  readonly lastStreamId: number
  /** RFC 9113 §7 error code (any u32; unknown codes are legal). */
  readonly errorCode: number
  /** Additional debug data (opaque; may be empty). */
  readonly debugData: Uint8Array
}

/**
 * Decodes a GOAWAY payload.
 * @throws DecodeError (`ERR_SC_DECODE`) for a payload shorter than 8 bytes.
 */
export function decodeGoaway(payload: Uint8Array): Goaway {
  if (payload.length < 8) throw new DecodeError('GOAWAY', payload.length, `payload of ${payload.length} bytes, 8 needed`)
  const lastStreamId = (((payload[0]! & 0x7f) << 24) >>> 0) + ((payload[1]! << 16) | (payload[2]! << 8) | payload[3]!)
  const errorCode = ((payload[4]! << 24) >>> 0) + ((payload[5]! << 16) | (payload[6]! << 8) | payload[7]!)
  return { lastStreamId, errorCode, debugData: payload.subarray(8) }
}

/**
 * Encodes a whole GOAWAY frame (header included) on stream 0.
 * @throws UsageError (`ERR_SC_USAGE`) for a stream identifier or code out of range.
 */
export function encodeGoawayFrame(lastStreamId: number, errorCode: number, debugData: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(lastStreamId) || lastStreamId < 0 || lastStreamId > MAX_STREAM_ID) throw new UsageError(`last stream id ${lastStreamId} out of range`)
  if (!Number.isInteger(errorCode) || errorCode < 0 || errorCode > 0xffffffff) throw new UsageError(`error code ${errorCode} out of range`)
  const length = 8 + debugData.length
  const out = new Uint8Array(FRAME_HEADER_BYTES + length)
  out[0] = (length >>> 16) & 0xff
  out[1] = (length >>> 8) & 0xff
  out[2] = length & 0xff
  out[3] = H2FrameType.GOAWAY
  const view = new DataView(out.buffer)
  view.setUint32(FRAME_HEADER_BYTES, lastStreamId)
  view.setUint32(FRAME_HEADER_BYTES + 4, errorCode)
  out.set(debugData, FRAME_HEADER_BYTES + 8)
  return out
}
