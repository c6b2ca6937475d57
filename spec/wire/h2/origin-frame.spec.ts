import { expect } from 'chai'
import { decodeOriginFrame, encodeOriginFrame } from '../../../lib/wire/h2/origin-frame.js'

/** RFC 8336 §2.1 payload written out by hand: Origin-Len (16) then the ASCII origin. */
function entry(origin: string): number[] {
  return [origin.length >> 8, origin.length & 0xff, ...Buffer.from(origin, 'latin1')]
}

describe('wire/h2/origin-frame', () => {
  it('decodes a payload of two entries in order', () => {
    const payload = Uint8Array.from([...entry('https://a.example'), ...entry('https://b.example:8443')])
    expect(decodeOriginFrame(payload)).to.deep.equal(['https://a.example', 'https://b.example:8443'])
  })

  it('decodes an empty payload as no origin', () => {
    expect(decodeOriginFrame(new Uint8Array(0))).to.deep.equal([])
  })

  it('encodes byte for byte', () => {
    const bytes = encodeOriginFrame(['https://a.example', 'https://b.example:8443'])
    expect(Buffer.from(bytes).toString('hex')).to.equal(Buffer.from([...entry('https://a.example'), ...entry('https://b.example:8443')]).toString('hex'))
  })

  it('rejects every truncated prefix that cuts an entry with ERR_SC_DECODE', () => {
    const full = Uint8Array.from([...entry('https://a.example'), ...entry('https://b.example')])
    const boundaries = new Set([0, entry('https://a.example').length, full.length])
    for (let n = 1; n < full.length; n++) {
      if (boundaries.has(n)) continue
      expect(() => decodeOriginFrame(full.subarray(0, n)), `prefix ${n}`).to.throw().with.property('code', 'ERR_SC_DECODE')
    }
  })

  it('rejects a byte outside printable ASCII with ERR_SC_DECODE at its offset', () => {
    const payload = Uint8Array.from(entry('https://a.example'))
    payload[5] = 0x80
    expect(() => decodeOriginFrame(payload)).to.throw().that.includes({ code: 'ERR_SC_DECODE', structure: 'OriginEntry', offset: 5 })
  })

  it('refuses to encode a non-ASCII origin (ERR_SC_USAGE)', () => {
    expect(() => encodeOriginFrame(['https://ä.example'])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
