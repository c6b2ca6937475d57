/**
 * Mutation operators for the fuzzer: byte-level (bit flips, byte sets, insertion, deletion,
 * truncation, duplication, splicing with another seed) and structure-aware (length-field tweaks
 * at known TLS/HTTP/2 length offsets, QUIC varint edits at known varint offsets, RFC 9000 §16).
 */
import type { Rng } from './rng.js'

/** Where a length field sits in a seed: `width` bytes, big-endian. */
export interface LengthField {
  readonly offset: number
  readonly width: 1 | 2 | 3 | 4
}

/** One valid input to mutate, with the structure hints the smart mutators use. */
export interface Seed {
  readonly name: string
  readonly bytes: Uint8Array
  /** Known length fields (TLS vectors, handshake headers, frame headers). */
  readonly lengths: readonly LengthField[]
  /** Offsets of QUIC varints (AUTHENTICATOR_REQUESTS entry lengths). */
  readonly varints: readonly number[]
}

/** Values that often sit on a boundary. */
const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0b, 0x0d, 0x0f, 0x11, 0x14, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff]

export const MUTATOR_NAMES = [
  'flip',
  'set',
  'arith',
  'insert',
  'delete',
  'truncate',
  'extend',
  'duplicate',
  'splice',
  'length',
  'varint',
] as const
export type MutatorName = (typeof MUTATOR_NAMES)[number]

function cat(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

function readBE(b: Uint8Array, o: number, w: number): number {
  let v = 0
  for (let i = 0; i < w; i++) v = v * 256 + (b[o + i] ?? 0)
  return v
}

function writeBE(b: Uint8Array, o: number, w: number, v: number): void {
  const max = 2 ** (8 * w)
  let x = ((v % max) + max) % max
  for (let i = w - 1; i >= 0; i--) {
    if (o + i < b.length) b[o + i] = x % 256
    x = Math.floor(x / 256)
  }
}

/** RFC 9000 §16 varint in a chosen size (1, 2, 4 or 8 bytes), value truncated to fit. */
function varintOf(value: number, size: 1 | 2 | 4 | 8): Uint8Array {
  const prefix = size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3
  const bits = size * 8 - 2
  const v = BigInt(Math.max(0, Math.floor(value))) & ((1n << BigInt(bits)) - 1n)
  const out = new Uint8Array(size)
  let x = v | (BigInt(prefix) << BigInt(bits))
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}

function readVarint(b: Uint8Array, o: number): { value: number; size: number } | undefined {
  const first = b[o]
  if (first === undefined) return undefined
  const size = 1 << (first >> 6)
  if (o + size > b.length) return undefined
  let v = first & 0x3f
  for (let i = 1; i < size; i++) v = v * 256 + b[o + i]!
  return { value: v, size }
}

/**
 * Applies one named mutation to `b` (which may be modified in place) and returns the result.
 * `other` is a second seed for splicing.
 */
export function applyMutation(rng: Rng, op: MutatorName, b: Uint8Array, seed: Seed, other: Seed): Uint8Array {
  const n = b.length
  switch (op) {
    case 'flip': {
      if (n === 0) return rng.bytes(1)
      const k = rng.range(1, 3)
      for (let i = 0; i < k; i++) b[rng.int(n)]! ^= 1 << rng.int(8)
      return b
    }
    case 'set': {
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING))
      b[rng.int(n)] = rng.chance(0.7) ? rng.pick(INTERESTING) : rng.u32() & 0xff
      return b
    }
    case 'arith': {
      if (n === 0) return b
      const at = rng.int(n)
      b[at] = (b[at]! + rng.range(-4, 4) + 256) & 0xff
      return b
    }
    case 'insert': {
      const at = rng.int(n + 1)
      const len = rng.chance(0.5) ? rng.range(1, 4) : rng.range(1, 64)
      const ins = rng.chance(0.5) ? rng.bytes(len) : new Uint8Array(len).fill(rng.pick(INTERESTING))
      return cat(b.subarray(0, at), ins, b.subarray(at))
    }
    case 'delete': {
      if (n === 0) return b
      const at = rng.int(n)
      const len = rng.chance(0.6) ? 1 : rng.range(1, Math.min(64, n - at))
      return cat(b.subarray(0, at), b.subarray(at + len))
    }
    case 'truncate':
      return b.slice(0, rng.int(n + 1))
    case 'extend':
      return cat(b, rng.bytes(rng.range(1, 32)))
    case 'duplicate': {
      if (n === 0) return b
      const from = rng.int(n)
      const len = rng.range(1, Math.min(128, n - from))
      const to = rng.int(n + 1)
      return cat(b.subarray(0, to), b.slice(from, from + len), b.subarray(to))
    }
    case 'splice': {
      const o = other.bytes
      const cutA = rng.int(n + 1)
      const cutB = rng.int(o.length + 1)
      return cat(b.subarray(0, cutA), o.subarray(cutB))
    }
    case 'length': {
      const f: LengthField =
        seed.lengths.length > 0 && rng.chance(0.85)
          ? rng.pick(seed.lengths)
          : { offset: rng.int(Math.max(1, n)), width: rng.pick([1, 2, 3] as const) }
      if (f.offset + f.width > n) return b
      const cur = readBE(b, f.offset, f.width)
      const max = 2 ** (8 * f.width) - 1
      const choice = rng.int(8)
      const next =
        choice === 0 ? 0 : choice === 1 ? max : choice === 2 ? cur + rng.range(1, 3) : choice === 3 ? cur - rng.range(1, 3) : choice === 4 ? cur * 2 : choice === 5 ? cur >> 1 : choice === 6 ? cur + 1 : cur - 1
      writeBE(b, f.offset, f.width, next)
      return b
    }
    case 'varint': {
      const at = seed.varints.length > 0 && rng.chance(0.9) ? rng.pick(seed.varints) : rng.int(Math.max(1, n))
      const cur = readVarint(b, at)
      if (!cur) return b
      const choice = rng.int(6)
      const value =
        choice === 0 ? cur.value + 1 : choice === 1 ? Math.max(0, cur.value - 1) : choice === 2 ? 0 : choice === 3 ? 2 ** 30 + rng.int(1000) : cur.value
      // choice 4/5: same value, non-minimal (or forced short, truncating) encoding.
      const size = choice >= 4 ? rng.pick([1, 2, 4, 8] as const) : cur.size === 1 && value > 63 ? 2 : (cur.size as 1 | 2 | 4 | 8)
      return cat(b.subarray(0, at), varintOf(value, size), b.subarray(at + cur.size))
    }
  }
}

/**
 * A mutated copy of `seed` (1 to 5 stacked operations), never byte-identical to the seed.
 * @returns the bytes and the operations applied, for findings.
 */
export function mutate(rng: Rng, seed: Seed, seeds: readonly Seed[]): { bytes: Uint8Array; ops: MutatorName[] } {
  for (let attempt = 0; attempt < 8; attempt++) {
    let b: Uint8Array = seed.bytes.slice()
    const k = rng.chance(0.5) ? 1 : rng.range(2, 5)
    const ops: MutatorName[] = []
    for (let i = 0; i < k; i++) {
      const op = rng.pick(MUTATOR_NAMES)
      ops.push(op)
      b = applyMutation(rng, op, b, seed, rng.pick(seeds))
    }
    if (!sameBytes(b, seed.bytes)) return { bytes: b, ops }
  }
  // Fall back to a single guaranteed change.
  const b = seed.bytes.slice()
  if (b.length === 0) return { bytes: Uint8Array.of(0), ops: ['insert'] }
  b[rng.int(b.length)]! ^= 0x01
  return { bytes: b, ops: ['flip'] }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
