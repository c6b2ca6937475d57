import { expect } from 'chai'
import {
  authenticatorRequestsSize,
  decodeAuthenticatorRequests,
  encodeAuthenticatorRequests,
} from '../../../lib/wire/h2/authenticator-requests-frame.js'
import { DecodeError } from '../../../lib/errors.js'

const hex = (h: string): Uint8Array => Buffer.from(h.replace(/\s+/g, ''), 'hex')
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length)

function decodeFailure(payload: Uint8Array): DecodeError {
  try {
    decodeAuthenticatorRequests(payload)
  } catch (e) {
    expect((e as DecodeError).code).to.equal('ERR_SC_DECODE')
    expect((e as DecodeError).structure).to.equal('AUTHENTICATOR_REQUESTS')
    return e as DecodeError
  }
  return expect.fail(`decoded ${Buffer.from(payload).toString('hex')}`)
}

// The request of the digest's worked example (http2-secondary-certs §2.1), 33 bytes.
const request33 = hex('0d00001d 10 00112233445566778899aabbccddeeff 000a 000d 0006 0004 0403 0804')
const examplePayload = Buffer.concat([hex('21'), request33])

describe('wire/h2/authenticator-requests-frame', () => {
  it('decodes the worked example of the digest into one request', () => {
    const list = decodeAuthenticatorRequests(examplePayload)
    expect(list).to.have.length(1)
    expect(buf(list[0]!)).to.deep.equal(buf(request33))
  })

  it('decodes several requests with 1-, 2- and 4-byte varint lengths in order', () => {
    const r300 = new Uint8Array(300).fill(0xab)
    const r20000 = new Uint8Array(20000).fill(0xcd)
    const payload = Buffer.concat([hex('21'), request33, hex('412c'), r300, hex('80004e20'), r20000])
    const list = decodeAuthenticatorRequests(payload)
    expect(list.map((r) => r.length)).to.deep.equal([33, 300, 20000])
    expect(buf(list[1]!)).to.deep.equal(Buffer.from(r300))
    expect(buf(list[2]!)).to.deep.equal(Buffer.from(r20000))
  })

  it('accepts a non-minimal varint length (the draft does not require the shortest form)', () => {
    const list = decodeAuthenticatorRequests(Buffer.concat([hex('4021'), request33]))
    expect(buf(list[0]!)).to.deep.equal(buf(request33))
  })

  it('returns views into the payload without copying', () => {
    const list = decodeAuthenticatorRequests(examplePayload)
    expect(list[0]!.buffer).to.equal(examplePayload.buffer)
  })

  it('rejects an empty payload', () => {
    expect(decodeFailure(new Uint8Array(0)).offset).to.equal(0)
  })

  it('rejects every truncated prefix of a valid payload', () => {
    const payload = Buffer.concat([examplePayload, hex('412c'), new Uint8Array(300)])
    for (let n = 0; n < payload.length; n++) {
      if (n === examplePayload.length) continue // a whole first entry is itself valid
      decodeFailure(payload.subarray(0, n))
    }
  })

  it('rejects a truncated varint', () => {
    expect(decodeFailure(Buffer.concat([examplePayload, hex('41')])).offset).to.equal(34)
    decodeFailure(hex('80 00 01'))
  })

  it('rejects a length running past the payload', () => {
    const e = decodeFailure(Buffer.concat([hex('22'), request33]))
    expect(e.offset).to.equal(0)
  })

  it('rejects a zero-length entry, alone or after a valid one', () => {
    decodeFailure(hex('00'))
    expect(decodeFailure(Buffer.concat([examplePayload, hex('00')])).offset).to.equal(34)
  })

  it('encodes byte for byte with shortest varints', () => {
    expect(buf(encodeAuthenticatorRequests([request33]))).to.deep.equal(Buffer.from(examplePayload))
    const r300 = new Uint8Array(300).fill(1)
    const enc = encodeAuthenticatorRequests([request33, r300])
    expect(buf(enc)).to.deep.equal(Buffer.concat([examplePayload, hex('412c'), r300]))
    expect(authenticatorRequestsSize([request33, r300])).to.equal(enc.length)
  })

  it('round-trips what it encodes', () => {
    const reqs = [request33, new Uint8Array(64).fill(7), new Uint8Array(16384).fill(9)]
    const back = decodeAuthenticatorRequests(encodeAuthenticatorRequests(reqs))
    expect(back.map((r) => buf(r))).to.deep.equal(reqs.map((r) => Buffer.from(r)))
  })

  it('refuses to encode an empty list or an empty request (ERR_SC_USAGE)', () => {
    expect(() => encodeAuthenticatorRequests([])).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => encodeAuthenticatorRequests([request33, new Uint8Array(0)])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
