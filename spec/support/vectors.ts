import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { hex } from './hex.js'

/** One valid vector: a name, the bytes, and structure-specific expectations. */
export interface ValidVector {
  readonly name: string
  readonly hex: string
  readonly [field: string]: unknown
}

/** One invalid vector: the bytes and the error expected (code, and optionally where). */
export interface InvalidVector {
  readonly name: string
  readonly hex: string
  readonly code: string
  readonly structure?: string
  readonly offset?: number
}

/** A vector file of spec/vectors (STYLE.md §8). */
export interface VectorFile<V extends ValidVector = ValidVector> {
  readonly source: string
  readonly valid: readonly V[]
  readonly invalid: readonly InvalidVector[]
}

/** Parses `spec/vectors/<file>`. */
export function loadVectors<T = VectorFile>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8')) as T
}

/** Bytes of a vector's `hex`. */
export function bytesOf(v: { readonly hex: string }): Uint8Array {
  return hex(v.hex)
}

/** What a thrown error is expected to carry. */
export interface Expected {
  readonly code: string
  readonly structure?: string | RegExp
  readonly offset?: number
}

/** Runs `fn`, expects it to throw an error with `code` (and structure/offset when given); returns it. */
export function expectThrows(fn: () => unknown, want: Expected): Error & Record<string, unknown> {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught, 'expected a throw').to.be.instanceOf(Error)
  const e = caught as Error & Record<string, unknown>
  expect(e['code'], `code (${e.message})`).to.equal(want.code)
  if (want.structure instanceof RegExp) expect(String(e['structure'])).to.match(want.structure)
  else if (want.structure !== undefined) expect(e['structure'], `structure (${e.message})`).to.equal(want.structure)
  if (want.offset !== undefined) expect(e['offset'], `offset (${e.message})`).to.equal(want.offset)
  return e
}

/** Shorthand: `fn` throws ERR_SC_DECODE (with structure/offset when given). */
export function expectDecodeError(
  fn: () => unknown,
  where: { readonly structure?: string | RegExp; readonly offset?: number } = {},
): Error & Record<string, unknown> {
  return expectThrows(fn, { code: 'ERR_SC_DECODE', ...where })
}

/** Shorthand: `fn` throws ERR_SC_USAGE. */
export function expectUsageError(fn: () => unknown): Error & Record<string, unknown> {
  return expectThrows(fn, { code: 'ERR_SC_USAGE' })
}

/** Every proper prefix of `bytes` must make `decode` throw ERR_SC_DECODE. */
export function expectEveryPrefixRejected(bytes: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  for (let n = 0; n < bytes.length; n++) {
    const prefix = bytes.slice(0, n)
    let caught: unknown
    try {
      decode(prefix)
    } catch (e) {
      caught = e
    }
    expect((caught as { code?: unknown } | undefined)?.code, `prefix of ${n} bytes`).to.equal('ERR_SC_DECODE')
    const offset = (caught as { offset?: unknown }).offset
    expect(offset, `offset within prefix of ${n} bytes`).to.be.a('number').within(0, n)
  }
}
