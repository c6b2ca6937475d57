/** Hex and byte helpers for specs. */

/** Bytes of a hex string; whitespace, `|` and `_` are ignored so vectors can be laid out by field. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s|_]/g, '')
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`bad hex: ${s}`)
  return new Uint8Array(Buffer.from(clean, 'hex'))
}

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** Bytes of an ASCII string. */
export function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'))
}

/** Concatenation of `parts`. */
export function cat(...parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

/** `n` as a big-endian unsigned integer of `size` bytes. */
export function be(n: number, size: 1 | 2 | 3 | 4): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = size - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256
  return out
}

/** A TLS vector: `size`-byte big-endian length, then `body`. */
export function vec(size: 1 | 2 | 3, body: Uint8Array): Uint8Array {
  return cat(be(body.length, size), body)
}

/** A TLS handshake message: type(1) || uint24 length || body. */
export function handshake(type: number, body: Uint8Array): Uint8Array {
  return cat(be(type, 1), be(body.length, 3), body)
}

/** A TLS extension: type(2) || uint16 length || data. */
export function ext(type: number, data: Uint8Array): Uint8Array {
  return cat(be(type, 2), vec(2, data))
}
