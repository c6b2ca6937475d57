import { DecodeError, UsageError } from '../../errors.js'
import { ByteWriter } from '../byte-writer.js'

/** RFC 8336 §2.1: the ORIGIN frame type. */
export const ORIGIN_FRAME_TYPE = 0x0c

/**
 * RFC 8336 §2.1 (payload of the ORIGIN frame, sent by a server on stream 0):
 *   ORIGIN Frame { ..., Origin-Entry (..) ... }
 *   Origin-Entry { Origin-Len (16), ASCII-Origin (..) }
 * Each ASCII-Origin is a serialised origin (RFC 6454 §6.2, e.g. `https://b.example:8443`).
 *
 * Decodes the payload into the origins it lists, as sent (no normalisation). An empty payload
 * lists no origin.
 * @throws DecodeError (`ERR_SC_DECODE`, structure `OriginEntry`) when an entry's length runs past
 *   the payload or a byte is not printable ASCII. RFC 8336 §2.1 makes a malformed frame
 *   ignorable, not an error: the caller decides.
 */
export function decodeOriginFrame(payload: Uint8Array): string[] {
  const out: string[] = []
  let o = 0
  while (o < payload.length) {
    if (payload.length - o < 2) throw new DecodeError('OriginEntry', o, 'truncated Origin-Len')
    const len = (payload[o]! << 8) | payload[o + 1]!
    const start = o + 2
    if (start + len > payload.length) throw new DecodeError('OriginEntry', o, `Origin-Len ${len} runs past the payload`)
    let s = ''
    for (let i = start; i < start + len; i++) {
      const c = payload[i]!
      if (c < 0x21 || c > 0x7e) throw new DecodeError('OriginEntry', i, 'ASCII-Origin byte is not printable ASCII')
      s += String.fromCharCode(c)
    }
    out.push(s)
    o = start + len
  }
  return out
}

/**
 * Encodes the ORIGIN frame payload listing `origins` (RFC 8336 §2.1), in the given order.
 * @throws UsageError (`ERR_SC_USAGE`) for an origin longer than 65 535 bytes or with a byte
 *   outside printable ASCII.
 */
export function encodeOriginFrame(origins: readonly string[]): Uint8Array {
  const w = new ByteWriter()
  for (const origin of origins) {
    if (origin.length > 0xffff || !/^[\x21-\x7e]*$/.test(origin)) {
      throw new UsageError('an ORIGIN entry must be printable ASCII of at most 65535 bytes')
    }
    w.u16(origin.length)
    for (let i = 0; i < origin.length; i++) w.u8(origin.charCodeAt(i))
  }
  return w.finish()
}
