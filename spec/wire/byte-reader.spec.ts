import { expect } from 'chai'
import { ByteReader } from '../../lib/wire/byte-reader.js'
import { hex } from '../support/hex.js'
import { expectDecodeError } from '../support/vectors.js'

describe('wire/byte-reader', () => {
  it('reads big-endian u8, u16, u24 and u32 and tracks the offset', () => {
    const r = new ByteReader(hex('01 0203 040506 fffefdfc'), 'T')
    expect(r.u8()).to.equal(1)
    expect(r.u16()).to.equal(0x0203)
    expect(r.u24()).to.equal(0x040506)
    expect(r.offset).to.equal(6)
    expect(r.u32()).to.equal(0xfffefdfc)
    expect(r.isAtEnd).to.equal(true)
    expect(r.remaining).to.equal(0)
  })

  it('reports absolute offsets when created with a base', () => {
    const r = new ByteReader(hex('aa'), 'T', 100)
    expect(r.offset).to.equal(100)
    r.u8()
    expectDecodeError(() => r.u8(), { structure: 'T', offset: 101 })
  })

  for (const [name, read, n] of [
    ['u8', (r: ByteReader) => r.u8(), 1],
    ['u16', (r: ByteReader) => r.u16(), 2],
    ['u24', (r: ByteReader) => r.u24(), 3],
    ['u32', (r: ByteReader) => r.u32(), 4],
    ['take(5)', (r: ByteReader) => r.take(5), 5],
  ] as const) {
    it(`rejects ${name} on every shorter input`, () => {
      for (let have = 0; have < n; have++) {
        const r = new ByteReader(new Uint8Array(have), 'T')
        expectDecodeError(() => read(r), { structure: 'T', offset: 0 })
      }
    })
  }

  it('take returns a view of the requested bytes', () => {
    const src = hex('00112233')
    const r = new ByteReader(src, 'T')
    r.u8()
    const v = r.take(2)
    expect([...v]).to.deep.equal([0x11, 0x22])
    expect(v.buffer).to.equal(src.buffer)
  })

  it('reads 1-, 2- and 3-byte length-prefixed vectors', () => {
    const r = new ByteReader(hex('02aabb 0001cc 000000'), 'T')
    expect([...r.vector(1, 0, 255, 'a')]).to.deep.equal([0xaa, 0xbb])
    expect([...r.vector(2, 0, 0xffff, 'b')]).to.deep.equal([0xcc])
    expect(r.vector(3, 0, 0xffffff, 'c').length).to.equal(0)
    r.end()
  })

  it('rejects a vector length below its minimum, pointing at the length prefix', () => {
    const r = new ByteReader(hex('ee 0000'), 'T')
    r.u8()
    expectDecodeError(() => r.vector(2, 1, 0xffff, 'v'), { structure: 'T', offset: 1 })
  })

  it('rejects a vector length above its maximum, pointing at the length prefix', () => {
    const r = new ByteReader(hex('03 aabbcc'), 'T')
    expectDecodeError(() => r.vector(1, 0, 2, 'v'), { structure: 'T', offset: 0 })
  })

  it('rejects a vector that runs past the end, pointing after the length prefix', () => {
    const r = new ByteReader(hex('0005 aabb'), 'T')
    expectDecodeError(() => r.vector(2, 0, 0xffff, 'v'), { structure: 'T', offset: 2 })
  })

  it('sub-readers keep absolute offsets and their own structure name', () => {
    const r = new ByteReader(hex('ff 02 0102'), 'Outer')
    r.u8()
    const sub = r.subReader(1, 0, 255, 'inner', 'Inner')
    expect(sub.offset).to.equal(2)
    expect(sub.structure).to.equal('Inner')
    expect(sub.u16()).to.equal(0x0102)
    expectDecodeError(() => sub.u8(), { structure: 'Inner', offset: 4 })
  })

  it('sub-readers cannot read past their vector even when the parent has more bytes', () => {
    const r = new ByteReader(hex('01 aa bbccdd'), 'T')
    const sub = r.subReader(1, 0, 255, 'v')
    sub.u8()
    expectDecodeError(() => sub.u8(), { offset: 2 })
    expect(r.u24()).to.equal(0xbbccdd)
  })

  it('end() rejects trailing bytes at their offset', () => {
    const r = new ByteReader(hex('0102'), 'T')
    r.u8()
    expectDecodeError(() => r.end(), { structure: 'T', offset: 1 })
  })

  it('failAt builds a DecodeError at a given offset without throwing', () => {
    const e = new ByteReader(hex('00'), 'T').failAt(7, 'x', 'U')
    expect(e.code).to.equal('ERR_SC_DECODE')
    expect(e.structure).to.equal('U')
    expect(e.offset).to.equal(7)
  })
})
