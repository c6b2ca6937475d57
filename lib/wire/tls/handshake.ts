import { ByteReader } from '../byte-reader.js'
import { ByteWriter } from '../byte-writer.js'

/**
 * TLS handshake message framing (RFC 8446 §4): `msg_type(1) || length(3) || body`. RFC 9261
 * requests and authenticators are sequences of such messages with no record layer (§4, §5.2).
 */
export const HandshakeType = {
  certificate: 11,
  certificate_request: 13,
  certificate_verify: 15,
  client_certificate_request: 17,
  finished: 20,
} as const

/** One handshake message as found in a buffer. */
export interface HandshakeMessage {
  readonly type: number
  /** The body (view into the input). */
  readonly body: Uint8Array
  /** Header and body exactly as received (view into the input); transcripts hash these bytes. */
  readonly raw: Uint8Array
  /** Absolute offset of the header. */
  readonly offset: number
}

/** Splits `bytes` into handshake messages; any trailing partial message is a DecodeError. */
export function splitHandshakeMessages(bytes: Uint8Array, structure = 'HandshakeMessages'): HandshakeMessage[] {
  const r = new ByteReader(bytes, structure)
  const out: HandshakeMessage[] = []
  while (!r.isAtEnd) {
    const type = r.u8('msg_type')
    const length = r.u24('handshake length')
    if (length > r.remaining) {
      r.fail(`handshake message type ${type} claims ${length} bytes, only ${r.remaining} remain`)
    }
    const start = r.offset - 4
    const body = r.take(length)
    out.push({ type, body, raw: bytes.subarray(start, start + 4 + length), offset: start })
  }
  return out
}

/**
 * Decodes exactly one handshake message of the expected type(s), rejecting trailing bytes.
 * Returns a reader over its body, with absolute offsets.
 */
export function openHandshake(
  bytes: Uint8Array,
  expected: readonly number[],
  structure: string,
): { type: number; body: ByteReader } {
  const r = new ByteReader(bytes, structure)
  const type = r.u8('msg_type')
  if (!expected.includes(type)) {
    // Point at the msg_type byte itself, not past it.
    throw r.failAt(0, `unexpected handshake type ${type}, expected ${expected.join(' or ')}`, structure)
  }
  const body = r.subReader(3, 0, 0xffffff, 'handshake body', structure)
  r.end()
  return { type, body }
}

/** Encodes a handshake message. */
export function encodeHandshake(type: number, body: Uint8Array | ((w: ByteWriter) => void)): Uint8Array {
  const w = new ByteWriter(typeof body === 'function' ? 256 : body.length + 4)
  w.u8(type)
  w.vector(3, (x) => {
    if (typeof body === 'function') body(x)
    else x.bytes(body)
  }, 'handshake body')
  return w.finish()
}
