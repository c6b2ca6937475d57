import { DecodeError, UsageError } from '../errors.js'

/**
 * QUIC variable-length integer (RFC 9000 §16): the two high bits of the first byte give the
 * encoded size (1, 2, 4 or 8 bytes). We decode non-minimal encodings too; the drafts do not
 * require the shortest form (digest http2-secondary-certs §2.1). Values above
 * Number.MAX_SAFE_INTEGER are rejected, as no length of ours can be that large.
 */
export interface VarintRead {
  value: number
  /** Bytes consumed. */
  size: number
}

export function decodeVarint(bytes: Uint8Array, offset: number, structure = 'varint'): VarintRead {
  const first = bytes[offset]
  if (first === undefined) throw new DecodeError(structure, offset, 'truncated varint')
  const size = 1 << (first >> 6)
  if (offset + size > bytes.length) {
    throw new DecodeError(structure, offset, `truncated varint: need ${size} bytes, have ${bytes.length - offset}`)
  }
  let value = first & 0x3f
  for (let i = 1; i < size; i++) value = value * 256 + bytes[offset + i]!
  if (!Number.isSafeInteger(value)) throw new DecodeError(structure, offset, 'varint value too large')
  return { value, size }
}

/** Number of bytes the shortest encoding of `value` takes. */
export function varintSize(value: number): 1 | 2 | 4 | 8 {
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`varint value ${value} out of range`)
  if (value <= 63) return 1
  if (value <= 16383) return 2
  if (value <= 1073741823) return 4
  return 8
}

/** Shortest encoding of `value`. */
export function encodeVarint(value: number): Uint8Array {
  const size = varintSize(value)
  const out = new Uint8Array(size)
  let v = value
  for (let i = size - 1; i >= 0; i--) {
    out[i] = v % 256
    v = Math.floor(v / 256)
  }
  out[0]! |= ({ 1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0 } as const)[size]
  return out
}
