import { expect } from 'chai'
import { decodeVarint, encodeVarint, varintSize } from '../../lib/wire/varint.js'
import { hex, toHex } from '../support/hex.js'
import { bytesOf, expectDecodeError, expectUsageError, loadVectors } from '../support/vectors.js'
import type { ValidVector, VectorFile } from '../support/vectors.js'

interface VarintVector extends ValidVector {
  readonly value: number
  readonly size: 1 | 2 | 4 | 8
  readonly minimal: boolean
}

const vectors = loadVectors<VectorFile<VarintVector>>('varint.json')

describe('wire/varint', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        expect(decodeVarint(bytesOf(v), 0)).to.deep.equal({ value: v.value, size: v.size })
      })
      if (v.minimal) {
        it(`encodes ${v.name} byte for byte`, () => {
          expect(toHex(encodeVarint(v.value))).to.equal(v.hex)
          expect(varintSize(v.value)).to.equal(v.size)
        })
      } else {
        it(`re-encodes ${v.name} in the shortest form`, () => {
          const out = encodeVarint(v.value)
          expect(out.length).to.be.lessThan(v.size)
          expect(decodeVarint(out, 0).value).to.equal(v.value)
        })
      }
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeVarint(bytesOf(v), 0), { structure: 'varint', ...(v.offset === undefined ? {} : { offset: v.offset }) })
      })
    }
  })

  it('uses each size exactly up to its boundary: 63/64, 16383/16384, 2^30-1/2^30', () => {
    expect([63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30].map(varintSize)).to.deep.equal([1, 2, 2, 4, 4, 8])
    expect(toHex(encodeVarint(64))).to.equal('4040')
    expect(toHex(encodeVarint(16384))).to.equal('80004000')
    expect(toHex(encodeVarint(2 ** 30))).to.equal('c000000040000000')
    expect(toHex(encodeVarint(Number.MAX_SAFE_INTEGER))).to.equal('c01fffffffffffff')
  })

  it('decodes at an offset and reports truncation at that offset', () => {
    const bytes = hex('ffff 4025 80')
    expect(decodeVarint(bytes, 2)).to.deep.equal({ value: 37, size: 2 })
    expectDecodeError(() => decodeVarint(bytes, 4, 'Frame.length'), { structure: 'Frame.length', offset: 4 })
    expectDecodeError(() => decodeVarint(bytes, 5), { offset: 5 })
  })

  it('rejects every truncated prefix of each size', () => {
    for (const v of [0, 64, 16384, 2 ** 30]) {
      const enc = encodeVarint(v)
      for (let n = 0; n < enc.length; n++) expectDecodeError(() => decodeVarint(enc.slice(0, n), 0))
    }
  })

  it('refuses negative, fractional, NaN and unsafe values (ERR_SC_USAGE)', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expectUsageError(() => encodeVarint(bad))
      expectUsageError(() => varintSize(bad))
    }
  })
})
