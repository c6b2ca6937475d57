import { expect } from 'chai'
import { ByteWriter } from '../../lib/wire/byte-writer.js'
import { toHex } from '../support/hex.js'
import { expectUsageError } from '../support/vectors.js'

describe('wire/byte-writer', () => {
  it('writes big-endian integers and raw bytes', () => {
    const w = new ByteWriter(1)
    w.u8(1).u16(0x0203).u24(0x040506).u32(0xfffefdfc).bytes(new Uint8Array([9, 8]))
    expect(toHex(w.finish())).to.equal('01020304050' + '6fffefdfc0908')
    expect(w.length).to.equal(12)
  })

  it('grows past its initial size', () => {
    const w = new ByteWriter(2)
    const big = new Uint8Array(1000).fill(7)
    w.bytes(big).u8(1)
    const out = w.finish()
    expect(out.length).to.equal(1001)
    expect(out[999]).to.equal(7)
    expect(out[1000]).to.equal(1)
  })

  it('back-patches 1-, 2- and 3-byte vector lengths, including nested ones', () => {
    const w = new ByteWriter(4)
    w.vector(3, (a) => {
      a.vector(1, (b) => b.u8(0xaa).u8(0xbb))
      a.vector(2, (b) => b.bytes(new Uint8Array(300)))
    })
    const out = w.finish()
    expect(toHex(out.subarray(0, 3))).to.equal('000131') // 3 + 2 + 300 = 305
    expect(toHex(out.subarray(3, 6))).to.equal('02aabb')
    expect(toHex(out.subarray(6, 8))).to.equal('012c')
    expect(out.length).to.equal(3 + 305)
  })

  it('writes empty vectors', () => {
    const w = new ByteWriter()
    w.vector(1, () => {}).vector(2, () => {}).vector(3, () => {})
    expect(toHex(w.finish())).to.equal('00' + '0000' + '000000')
  })

  it('accepts a vector of exactly the largest length its prefix can hold', () => {
    const w = new ByteWriter()
    w.vector(1, (x) => x.bytes(new Uint8Array(255)))
    expect(w.finish()[0]).to.equal(255)
  })

  it('refuses a vector longer than its length prefix can express (ERR_SC_USAGE)', () => {
    expectUsageError(() => new ByteWriter().vector(1, (x) => x.bytes(new Uint8Array(256))))
    expectUsageError(() => new ByteWriter().vector(2, (x) => x.bytes(new Uint8Array(0x10000))))
  })

  it('finish returns a copy that later writes do not change', () => {
    const w = new ByteWriter()
    w.u8(1)
    const first = w.finish()
    w.u8(2)
    expect([...first]).to.deep.equal([1])
    expect([...w.finish()]).to.deep.equal([1, 2])
  })
})

describe('wire/byte-writer integer ranges', () => {
  it('accepts the extreme values of each width', () => {
    const w = new ByteWriter()
    w.u8(0).u8(0xff).u16(0xffff).u24(0xffffff).u32(0xffffffff)
    expect(toHex(w.finish())).to.equal('00ff' + 'ffff' + 'ffffff' + 'ffffffff')
  })

  it('refuses values that do not fit their width instead of truncating them (ERR_SC_USAGE)', () => {
    const w = new ByteWriter()
    for (const v of [-1, 0x100, 1.5, Number.NaN]) expectUsageError(() => w.u8(v))
    for (const v of [-1, 0x10000, 0.5]) expectUsageError(() => w.u16(v))
    for (const v of [-1, 0x1000000]) expectUsageError(() => w.u24(v))
    for (const v of [-1, 2 ** 32, 2.5]) expectUsageError(() => w.u32(v))
    expect(w.length).to.equal(0)
  })
})
