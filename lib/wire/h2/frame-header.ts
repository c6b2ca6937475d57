import { DecodeError, UsageError } from '../../errors.js'

/**
 * RFC 9113 §4.1:
 *   HTTP Frame {
 *     Length (24),
 *     Type (8),
 *     Flags (8),
 *     Reserved (1),
 *     Stream Identifier (31),
 *     Frame Payload (..),
 *   }
 * The reserved bit "MUST remain unset (0x0) when sending and MUST be ignored when receiving".
 */
export interface FrameHeader {
  /** Payload length in bytes (u24; the 9 header bytes are not included). */
  readonly length: number
  /** Frame type (u8). Unknown types are legal on the wire (RFC 9113 §5.5). */
  readonly type: number
  /** Type-specific flags (u8). */
  readonly flags: number
  /** Stream identifier (31 bits); 0 is the connection. */
  readonly streamId: number
}

/** Size of the fixed frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_BYTES = 9

/** Largest payload length the 24-bit field can carry (RFC 9113 §4.1). */
export const MAX_FRAME_LENGTH = 0xffffff

/** Largest stream identifier (31 bits). */
export const MAX_STREAM_ID = 0x7fffffff

/**
 * The 24-byte client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4).
 * The client sends it before its first frame; it is not a frame.
 */
export const CLIENT_PREFACE: Uint8Array = Uint8Array.from(
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  (c) => c.charCodeAt(0),
)

/** Frame types of RFC 9113 §6 the binding needs to recognise. */
export const H2FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

/** Flags of RFC 9113 §6 the binding needs. */
export const H2Flag = {
  /** SETTINGS and PING (RFC 9113 §6.5, §6.7). */
  ACK: 0x1,
  /** DATA and HEADERS (RFC 9113 §6.1, §6.2). */
  END_STREAM: 0x1,
  /** HEADERS, PUSH_PROMISE and CONTINUATION (RFC 9113 §6.2, §6.6, §6.10). */
  END_HEADERS: 0x4,
} as const

/**
 * Decodes the 9-byte frame header at `offset`. The reserved bit is ignored (RFC 9113 §4.1).
 * Does not look at the payload: the caller compares `length` with what is present.
 * @throws DecodeError (`ERR_SC_DECODE`) when fewer than 9 bytes are available at `offset`.
 */
export function decodeFrameHeader(bytes: Uint8Array, offset = 0): FrameHeader {
  if (offset < 0 || bytes.length - offset < FRAME_HEADER_BYTES) {
    throw new DecodeError(
      'frame header',
      offset + Math.max(0, bytes.length - offset),
      `truncated frame header: need ${FRAME_HEADER_BYTES} bytes, have ${Math.max(0, bytes.length - offset)}`,
    )
  }
  return readFrameHeaderUnchecked(bytes, offset)
}

/** Header read without a length check; the caller guarantees 9 bytes at `o`. */
export function readFrameHeaderUnchecked(b: Uint8Array, o: number): FrameHeader {
  return {
    length: (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!,
    type: b[o + 3]!,
    flags: b[o + 4]!,
    // RFC 9113 §4.1: ignore the reserved bit on receipt.
    streamId: ((b[o + 5]! & 0x7f) << 24) | (b[o + 6]! << 16) | (b[o + 7]! << 8) | b[o + 8]!,
  }
}

/**
 * Writes a frame header into `target` at `offset` (the reserved bit is sent as 0).
 * @throws UsageError (`ERR_SC_USAGE`) when a field is out of range or `target` is too short.
 */
export function writeFrameHeader(target: Uint8Array, offset: number, header: FrameHeader): void {
  checkField('length', header.length, MAX_FRAME_LENGTH)
  checkField('type', header.type, 0xff)
  checkField('flags', header.flags, 0xff)
  checkField('stream identifier', header.streamId, MAX_STREAM_ID)
  if (offset < 0 || target.length - offset < FRAME_HEADER_BYTES) {
    throw new UsageError('frame header does not fit the target buffer')
  }
  target[offset] = header.length >>> 16
  target[offset + 1] = (header.length >>> 8) & 0xff
  target[offset + 2] = header.length & 0xff
  target[offset + 3] = header.type
  target[offset + 4] = header.flags
  target[offset + 5] = header.streamId >>> 24
  target[offset + 6] = (header.streamId >>> 16) & 0xff
  target[offset + 7] = (header.streamId >>> 8) & 0xff
  target[offset + 8] = header.streamId & 0xff
}

/**
 * Encodes a frame header (9 bytes).
 * @throws UsageError (`ERR_SC_USAGE`) when a field is out of range.
 */
export function encodeFrameHeader(header: FrameHeader): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES)
  writeFrameHeader(out, 0, header)
  return out
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new UsageError(`frame ${name} ${value} outside 0..${max}`)
  }
}
