import { DecodeError, UsageError } from '../../errors.js'
import { MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE } from '../../config.js'

/**
 * RFC 9113 §6.5.1:
 *   SETTINGS Frame {
 *     Length (24),
 *     Type (8) = 0x04,
 *     Unused Flags (7),
 *     ACK Flag (1),
 *     Reserved (1),
 *     Stream Identifier (31) = 0,
 *     Setting (48) ...,
 *   }
 *   Setting {
 *     Identifier (16),
 *     Value (32),
 *   }
 *
 * The one SETTINGS codec of the project: the interposer, the frame boundary tracker, the server's
 * first-SETTINGS peek, the first-SETTINGS appender and `proto/negotiation.ts` all read SETTINGS
 * through it, so the bounds below exist once.
 */

/** Identifiers of RFC 9113 §6.5.2. */
export const SettingsId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

/** RFC 9113 §6.5.2 SETTINGS_MAX_FRAME_SIZE identifier. */
export const SETTINGS_MAX_FRAME_SIZE: 0x5 = SettingsId.MAX_FRAME_SIZE

/** ACK flag of SETTINGS (RFC 9113 §6.5). */
export const SETTINGS_ACK = 0x1

/** Size of one setting on the wire. */
export const SETTING_BYTES = 6

/** One setting, `[identifier, value]` (u16, u32), in wire order. */
export type SettingsEntry = readonly [identifier: number, value: number]

/** A decoded SETTINGS frame. */
export interface SettingsFrame {
  /** ACK flag set: an acknowledgement, with no entries (RFC 9113 §6.5). */
  readonly ack: boolean
  /** The settings in wire order; unknown identifiers are kept (RFC 9113 §6.5.2: ignored). */
  readonly entries: readonly SettingsEntry[]
}

/** Which RFC 9113 rule a SETTINGS frame broke; the caller maps it to an HTTP/2 error code. */
export type SettingsRule =
  /** §6.5: stream identifier other than 0 (PROTOCOL_ERROR). */
  | 'stream'
  /** §6.5: ACK with a payload, or a length not a multiple of 6 (FRAME_SIZE_ERROR). */
  | 'length'
  /** §6.5.2: ENABLE_PUSH other than 0 or 1 (PROTOCOL_ERROR). */
  | 'enable-push'
  /** §6.5.2: INITIAL_WINDOW_SIZE above 2^31-1 (FLOW_CONTROL_ERROR). */
  | 'initial-window-size'
  /** §6.5.2: MAX_FRAME_SIZE outside 2^14 .. 2^24-1 (PROTOCOL_ERROR). */
  | 'max-frame-size'

/** A SETTINGS frame that breaks one of the rules of RFC 9113 §6.5; says which. */
export class SettingsDecodeError extends DecodeError {
  readonly rule: SettingsRule
  constructor(rule: SettingsRule, offset: number, detail: string) {
    super('SETTINGS', offset, detail)
    this.rule = rule
  }
}

/** RFC 9113 §6.9.1: the largest flow-control window. */
const MAX_WINDOW_SIZE = 0x7fffffff

/**
 * The bound of one setting's value (RFC 9113 §6.5.2), or undefined when the value is allowed.
 * Unknown identifiers carry any value.
 */
export function settingProblem(identifier: number, value: number): SettingsRule | undefined {
  switch (identifier) {
    case SettingsId.ENABLE_PUSH:
      return value === 0 || value === 1 ? undefined : 'enable-push'
    case SettingsId.INITIAL_WINDOW_SIZE:
      return value <= MAX_WINDOW_SIZE ? undefined : 'initial-window-size'
    case SettingsId.MAX_FRAME_SIZE:
      return value >= MIN_MAX_FRAME_SIZE && value <= MAX_MAX_FRAME_SIZE ? undefined : 'max-frame-size'
    default:
      return undefined
  }
}

/**
 * Decodes a SETTINGS frame from its header fields and payload.
 * @throws SettingsDecodeError (`ERR_SC_DECODE`, `rule` says which RFC 9113 §6.5 rule) for a
 *   frame on a stream, an ACK with a payload, a length not a multiple of 6, or a value out of the
 *   bounds of §6.5.2.
 */
export function decodeSettings(flags: number, streamId: number, payload: Uint8Array): SettingsFrame {
  if (streamId !== 0) throw new SettingsDecodeError('stream', 0, `on stream ${streamId}`)
  const ack = (flags & SETTINGS_ACK) !== 0
  if (ack) {
    if (payload.length !== 0) throw new SettingsDecodeError('length', 0, `ACK with ${payload.length} payload bytes`)
    return ACK_FRAME
  }
  return { ack: false, entries: decodeSettingsPayload(payload) }
}

/**
 * Decodes the entries of a non-ACK SETTINGS payload (RFC 9113 §6.5.1).
 * @throws SettingsDecodeError (`ERR_SC_DECODE`) for a length not a multiple of 6 or a value out
 *   of bounds (RFC 9113 §6.5.2).
 */
export function decodeSettingsPayload(payload: Uint8Array): SettingsEntry[] {
  if (payload.length % SETTING_BYTES !== 0) {
    throw new SettingsDecodeError('length', payload.length - (payload.length % SETTING_BYTES), `length ${payload.length} is not a multiple of 6`)
  }
  const entries: SettingsEntry[] = new Array<SettingsEntry>(payload.length / SETTING_BYTES)
  for (let o = 0, i = 0; o < payload.length; o += SETTING_BYTES, i++) {
    const identifier = (payload[o]! << 8) | payload[o + 1]!
    const value = ((payload[o + 2]! << 24) >>> 0) + ((payload[o + 3]! << 16) | (payload[o + 4]! << 8) | payload[o + 5]!)
    const problem = settingProblem(identifier, value)
    if (problem !== undefined) throw new SettingsDecodeError(problem, o, `identifier 0x${identifier.toString(16)} value ${value}`)
    entries[i] = [identifier, value]
  }
  return entries
}

/**
 * Encodes settings as a SETTINGS payload (no frame header).
 * @throws UsageError (`ERR_SC_USAGE`) for an identifier outside u16, a value outside u32, or a
 *   value a peer would have to reject (RFC 9113 §6.5.2).
 */
export function encodeSettingsPayload(entries: readonly SettingsEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * SETTING_BYTES)
  entries.forEach(([identifier, value], i) => {
    if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xffff) throw new UsageError(`setting identifier ${identifier} out of range`)
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UsageError(`setting value ${value} out of range`)
    if (settingProblem(identifier, value) !== undefined) throw new UsageError(`setting 0x${identifier.toString(16)} = ${value} breaks RFC 9113 §6.5.2`)
    const o = i * SETTING_BYTES
    out[o] = identifier >>> 8
    out[o + 1] = identifier & 0xff
    out[o + 2] = value >>> 24
    out[o + 3] = (value >>> 16) & 0xff
    out[o + 4] = (value >>> 8) & 0xff
    out[o + 5] = value & 0xff
  })
  return out
}

/** The value of `identifier` in `entries`: the last one wins (RFC 9113 §6.5.3), else undefined. */
export function settingValue(entries: readonly SettingsEntry[], identifier: number): number | undefined {
  let found: number | undefined
  for (const [id, value] of entries) if (id === identifier) found = value
  return found
}

const ACK_FRAME: SettingsFrame = Object.freeze({ ack: true, entries: Object.freeze([]) as readonly SettingsEntry[] })
