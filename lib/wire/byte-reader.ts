import { DecodeError } from '../errors.js'

/**
 * Bounds-checked big-endian reader. Every read that would run past the end throws a
 * `DecodeError` naming `structure` and the absolute offset. Sub-readers for length-prefixed
 * vectors keep absolute offsets so errors point into the outermost buffer.
 */
export class ByteReader {
  readonly bytes: Uint8Array
  readonly structure: string
  /** Absolute offset of bytes[0] within the outermost buffer. */
  readonly base: number
  private pos = 0

  constructor(bytes: Uint8Array, structure: string, base = 0) {
    this.bytes = bytes
    this.structure = structure
    this.base = base
  }

  /** Absolute offset of the next byte. */
  get offset(): number {
    return this.base + this.pos
  }

  get remaining(): number {
    return this.bytes.length - this.pos
  }

  get isAtEnd(): boolean {
    return this.pos === this.bytes.length
  }

  fail(detail: string, structure: string = this.structure): never {
    throw new DecodeError(structure, this.offset, detail)
  }

  /** A DecodeError pointing at an absolute offset (for errors found after reading a field). */
  failAt(offset: number, detail: string, structure: string = this.structure): DecodeError {
    return new DecodeError(structure, offset, detail)
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) {
      this.fail(`truncated ${what}: need ${n} bytes, have ${this.remaining}`)
    }
  }

  u8(what = 'uint8'): number {
    this.need(1, what)
    return this.bytes[this.pos++]!
  }

  u16(what = 'uint16'): number {
    this.need(2, what)
    const b = this.bytes
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!
    this.pos += 2
    return v
  }

  u24(what = 'uint24'): number {
    this.need(3, what)
    const b = this.bytes
    const v = (b[this.pos]! << 16) | (b[this.pos + 1]! << 8) | b[this.pos + 2]!
    this.pos += 3
    return v
  }

  u32(what = 'uint32'): number {
    this.need(4, what)
    const b = this.bytes
    const v =
      ((b[this.pos]! << 24) >>> 0) + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!)
    this.pos += 4
    return v
  }

  /** Reads `n` bytes (a view, no copy). */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what)
    const v = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** Reads a vector with a 1-, 2- or 3-byte length prefix and checks its bounds. */
  vector(lengthBytes: 1 | 2 | 3, min: number, max: number, what: string): Uint8Array {
    const len = lengthBytes === 1 ? this.u8(`${what} length`) : lengthBytes === 2 ? this.u16(`${what} length`) : this.u24(`${what} length`)
    if (len < min || len > max) {
      this.pos -= lengthBytes
      this.fail(`${what} length ${len} outside ${min}..${max}`)
    }
    return this.take(len, what)
  }

  /** Like `vector`, but returns a reader over the contents, keeping absolute offsets. */
  subReader(lengthBytes: 1 | 2 | 3, min: number, max: number, what: string, structure: string = this.structure): ByteReader {
    const start = this.offset + lengthBytes
    const v = this.vector(lengthBytes, min, max, what)
    return new ByteReader(v, structure, start)
  }

  /** Throws unless every byte was consumed. */
  end(what: string = this.structure): void {
    if (!this.isAtEnd) this.fail(`${this.remaining} trailing bytes after ${what}`)
  }
}
