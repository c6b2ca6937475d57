import { expect } from 'chai'
import {
  decodeCertificateFrame,
  encodeCertificateFrame,
  encodeExtensionFrame,
} from '../../../lib/wire/h2/certificate-frame.js'
import { decodeFrameHeader } from '../../../lib/wire/h2/frame-header.js'

const hex = (h: string): Uint8Array => Buffer.from(h.replace(/\s+/g, ''), 'hex')

describe('wire/h2/certificate-frame', () => {
  // Digest §2.2: an empty authenticator on a SHA-256 connection, client frame 0xfa (split mode).
  const empty256 = Buffer.concat([hex('14000020'), new Uint8Array(32).fill(0x5a)])

  it('decodes the payload as exactly one opaque authenticator', () => {
    const payload = decodeCertificateFrame(empty256)
    expect(Buffer.from(payload)).to.deep.equal(empty256)
  })

  it('rejects an empty payload with ERR_SC_DECODE', () => {
    expect(() => decodeCertificateFrame(new Uint8Array(0))).to.throw().with.property('code', 'ERR_SC_DECODE')
  })

  it('encodes the payload as the authenticator bytes and refuses an empty one', () => {
    expect(Buffer.from(encodeCertificateFrame(empty256))).to.deep.equal(empty256)
    expect(() => encodeCertificateFrame(new Uint8Array(0))).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('encodes a whole extension frame byte for byte (digest §2.2 example header)', () => {
    const frame = encodeExtensionFrame(0xfa, empty256)
    expect(Buffer.from(frame)).to.deep.equal(Buffer.concat([hex('000024 fa 00 00000000'), empty256]))
    const big = new Uint8Array(564).fill(3)
    expect(Buffer.from(encodeExtensionFrame(0xf8, big).subarray(0, 9))).to.deep.equal(Buffer.from(hex('000234 f8 00 00000000')))
  })

  it('writes the given stream identifier and flags', () => {
    const frame = encodeExtensionFrame(0xf9, hex('01'), 5, 0x80)
    expect(decodeFrameHeader(frame)).to.deep.equal({ length: 1, type: 0xf9, flags: 0x80, streamId: 5 })
  })

  it('refuses a bad type, stream identifier or a payload over 2^24-1 bytes (ERR_SC_USAGE)', () => {
    expect(() => encodeExtensionFrame(256, hex('00'))).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => encodeExtensionFrame(0xf8, hex('00'), -1)).to.throw().with.property('code', 'ERR_SC_USAGE')
    const huge = { length: 0x1000000 } as unknown as Uint8Array
    expect(() => encodeExtensionFrame(0xf8, huge)).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
