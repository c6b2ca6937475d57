import { expect } from 'chai'
import { encodeHandshake, HandshakeType, openHandshake, splitHandshakeMessages } from '../../../lib/wire/tls/handshake.js'
import { cat, hex, toHex } from '../../support/hex.js'
import { expectDecodeError, expectUsageError } from '../../support/vectors.js'

describe('wire/tls/handshake', () => {
  it('uses the RFC 8446 / RFC 9261 §8.3 handshake type values', () => {
    expect(HandshakeType).to.deep.equal({
      certificate: 11,
      certificate_request: 13,
      certificate_verify: 15,
      client_certificate_request: 17,
      finished: 20,
    })
  })

  describe('splitHandshakeMessages', () => {
    const a = hex('0b 000002 aabb')
    const b = hex('0f 000000')
    const c = hex('14 000003 010203')

    it('splits consecutive messages, keeping raw bytes, bodies and offsets', () => {
      const bytes = cat(a, b, c)
      const msgs = splitHandshakeMessages(bytes)
      expect(msgs.map((m) => [m.type, toHex(m.body), toHex(m.raw), m.offset])).to.deep.equal([
        [11, 'aabb', toHex(a), 0],
        [15, '', toHex(b), 6],
        [20, '010203', toHex(c), 10],
      ])
      expect(msgs[2]!.raw.buffer).to.equal(bytes.buffer)
    })

    it('returns no messages for no bytes', () => {
      expect(splitHandshakeMessages(new Uint8Array(0))).to.deep.equal([])
    })

    it('accepts any message type (sequence rules belong to the caller)', () => {
      expect(splitHandshakeMessages(hex('ff000000 00000000')).map((m) => m.type)).to.deep.equal([255, 0])
    })

    it('rejects every truncation that cuts a message, naming the given structure', () => {
      const bytes = cat(a, b, c)
      const boundaries = new Set([0, 6, 10, 17])
      for (let n = 1; n < bytes.length; n++) {
        if (boundaries.has(n)) continue
        const e = expectDecodeError(() => splitHandshakeMessages(bytes.subarray(0, n), 'Auth'), { structure: 'Auth' })
        expect(e['offset']).to.be.within(0, n)
      }
    })

    it('reports a length past the end at the end of that header', () => {
      expectDecodeError(() => splitHandshakeMessages(cat(a, hex('14 000004 0102'))), { offset: 10 })
    })
  })

  describe('openHandshake', () => {
    it('returns the type and a body reader with absolute offsets', () => {
      const { type, body } = openHandshake(hex('0d 000002 0102'), [13, 17], 'R')
      expect(type).to.equal(13)
      expect(body.offset).to.equal(4)
      expect(body.structure).to.equal('R')
      expect(body.u16()).to.equal(0x0102)
    })

    it('rejects an unexpected type', () => {
      expectDecodeError(() => openHandshake(hex('0b 000000'), [13, 17], 'R'), { structure: 'R', offset: 0 })
    })

    it('rejects trailing bytes after the message', () => {
      expectDecodeError(() => openHandshake(hex('0d 000000 00'), [13], 'R'), { structure: 'R', offset: 4 })
    })

    it('rejects a body shorter than the header says', () => {
      expectDecodeError(() => openHandshake(hex('0d 000003 0000'), [13], 'R'), { structure: 'R', offset: 4 })
    })

    it('rejects every prefix of the header', () => {
      for (const h of ['', '0d', '0d00', '0d0000']) expectDecodeError(() => openHandshake(hex(h), [13], 'R'))
    })
  })

  describe('encodeHandshake', () => {
    it('frames a body given as bytes or as a writer callback', () => {
      expect(toHex(encodeHandshake(20, hex('aabb')))).to.equal('14000002aabb')
      expect(toHex(encodeHandshake(15, (w) => w.u16(0x0403)))).to.equal('0f0000020403')
      expect(toHex(encodeHandshake(11, new Uint8Array(0)))).to.equal('0b000000')
    })

    it('refuses a type outside uint8 (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeHandshake(256, new Uint8Array(0)))
      expectUsageError(() => encodeHandshake(-1, new Uint8Array(0)))
    })
  })
})
