import { expect } from 'chai'
import { decodeGoaway, encodeGoawayFrame } from '../../../lib/wire/h2/goaway-frame.js'
import { hex, toHex } from '../../support/hex.js'

describe('wire/h2/goaway-frame', () => {
  it('encodes a GOAWAY frame byte for byte (RFC 9113 §6.8)', () => {
    expect(toHex(encodeGoawayFrame(5, 0x1))).to.equal(toHex(hex('000008 07 00 00000000 | 00000005 00000001')))
    expect(toHex(encodeGoawayFrame(0, 0xf5a1, hex('6869')))).to.equal(toHex(hex('00000a 07 00 00000000 | 00000000 0000f5a1 6869')))
  })

  it('decodes last stream id (reserved bit ignored), code and debug data', () => {
    expect(decodeGoaway(hex('80000003 00000006 ff'))).to.deep.equal({ lastStreamId: 3, errorCode: 6, debugData: hex('ff') })
    expect(decodeGoaway(hex('00000000 ffffffff')).errorCode).to.equal(0xffffffff)
  })

  it('rejects every payload shorter than 8 bytes with ERR_SC_DECODE', () => {
    const full = hex('00000003 00000006')
    for (let n = 0; n < 8; n++) expect(() => decodeGoaway(full.subarray(0, n)), `prefix ${n}`).to.throw().with.property('code', 'ERR_SC_DECODE')
  })

  it('refuses out-of-range fields', () => {
    expect(() => encodeGoawayFrame(0x80000000, 0)).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => encodeGoawayFrame(0, -1)).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
