import { expect } from 'chai'
import {
  CLIENT_PREFACE,
  FRAME_HEADER_BYTES,
  decodeFrameHeader,
  encodeFrameHeader,
  writeFrameHeader,
} from '../../../lib/wire/h2/frame-header.js'

const hex = (h: string): Uint8Array => Buffer.from(h.replace(/\s+/g, ''), 'hex')

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (e) {
    expect((e as { code?: string }).code, String(e)).to.equal(code)
    return
  }
  expect.fail(`expected ${code}`)
}

describe('wire/h2/frame-header', () => {
  // The digest's worked example (http2-secondary-certs §2.1): AUTHENTICATOR_REQUESTS, 34 bytes.
  const example = hex('000022 f9 00 00000000')

  it('decodes length, type, flags and stream identifier', () => {
    expect(decodeFrameHeader(example)).to.deep.equal({ length: 34, type: 0xf9, flags: 0, streamId: 0 })
    expect(decodeFrameHeader(hex('ffffff 01 25 7fffffff'))).to.deep.equal({
      length: 0xffffff,
      type: 1,
      flags: 0x25,
      streamId: 0x7fffffff,
    })
  })

  it('ignores the reserved bit on receipt (RFC 9113 §4.1)', () => {
    expect(decodeFrameHeader(hex('000001 00 01 80000003')).streamId).to.equal(3)
  })

  it('decodes at an offset and ignores bytes after the header', () => {
    const b = hex('aabb 000010 08 00 00000005 ff')
    expect(decodeFrameHeader(b, 2)).to.deep.equal({ length: 16, type: 8, flags: 0, streamId: 5 })
  })

  it('rejects every truncated prefix with ERR_SC_DECODE', () => {
    for (let n = 0; n < FRAME_HEADER_BYTES; n++) {
      expectCode(() => decodeFrameHeader(example.subarray(0, n)), 'ERR_SC_DECODE')
    }
  })

  it('encodes byte for byte, reserved bit cleared', () => {
    expect(Buffer.from(encodeFrameHeader({ length: 34, type: 0xf9, flags: 0, streamId: 0 }))).to.deep.equal(
      Buffer.from(example),
    )
    expect(Buffer.from(encodeFrameHeader({ length: 0x123456, type: 0xfa, flags: 0x81, streamId: 0x7fffffff }))).to.deep.equal(
      Buffer.from(hex('123456 fa 81 7fffffff')),
    )
  })

  it('round-trips through writeFrameHeader at an offset', () => {
    const buf = new Uint8Array(12)
    writeFrameHeader(buf, 3, { length: 300, type: 4, flags: 1, streamId: 7 })
    expect(decodeFrameHeader(buf, 3)).to.deep.equal({ length: 300, type: 4, flags: 1, streamId: 7 })
    expect(buf.subarray(0, 3)).to.deep.equal(new Uint8Array(3))
  })

  it('refuses out-of-range fields with ERR_SC_USAGE', () => {
    const ok = { length: 0, type: 0, flags: 0, streamId: 0 }
    for (const bad of [
      { ...ok, length: 0x1000000 },
      { ...ok, length: -1 },
      { ...ok, type: 256 },
      { ...ok, flags: 1.5 },
      { ...ok, streamId: 0x80000000 },
    ]) {
      expectCode(() => encodeFrameHeader(bad), 'ERR_SC_USAGE')
    }
    expectCode(() => writeFrameHeader(new Uint8Array(8), 0, ok), 'ERR_SC_USAGE')
  })

  it('holds the 24-byte client preface of RFC 9113 §3.4', () => {
    expect(Buffer.from(CLIENT_PREFACE).toString('latin1')).to.equal('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
    expect(CLIENT_PREFACE.length).to.equal(24)
  })
})
