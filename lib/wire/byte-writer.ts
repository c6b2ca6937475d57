import { UsageError } from '../errors.js'

/**
 * Growable big-endian writer. Length-prefixed vectors are written with `vector(n, fn)`, which
 * back-patches the length and checks it fits the prefix. Integers outside their field's range are
 * a caller bug and throw `UsageError` (`ERR_SC_USAGE`) instead of being silently truncated.
 */
export class ByteWriter {
  private buf: Uint8Array
  private pos = 0

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize)
  }

  get length(): number {
    return this.pos
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): this {
    if ((v & 0xff) !== v) throw new UsageError(`uint8 value ${v} out of range`)
    this.ensure(1)
    this.buf[this.pos++] = v & 0xff
    return this
  }

  u16(v: number): this {
    if ((v & 0xffff) !== v) throw new UsageError(`uint16 value ${v} out of range`)
    this.ensure(2)
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
    return this
  }

  u24(v: number): this {
    if ((v & 0xffffff) !== v) throw new UsageError(`uint24 value ${v} out of range`)
    this.ensure(3)
    this.buf[this.pos++] = (v >>> 16) & 0xff
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
    return this
  }

  u32(v: number): this {
    if (v >>> 0 !== v) throw new UsageError(`uint32 value ${v} out of range`)
    this.ensure(4)
    this.buf[this.pos++] = (v >>> 24) & 0xff
    this.buf[this.pos++] = (v >>> 16) & 0xff
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
    return this
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  /** Writes a vector whose 1-, 2- or 3-byte length prefix is filled in after `body` ran. */
  vector(lengthBytes: 1 | 2 | 3, body: (w: this) => void, what = 'vector'): this {
    this.ensure(lengthBytes)
    const at = this.pos
    this.pos += lengthBytes
    body(this)
    const len = this.pos - at - lengthBytes
    const max = 2 ** (8 * lengthBytes) - 1
    if (len > max) throw new UsageError(`${what} of ${len} bytes does not fit a ${lengthBytes}-byte length`)
    for (let i = lengthBytes - 1, v = len; i >= 0; i--, v >>>= 8) this.buf[at + i] = v & 0xff
    return this
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}
