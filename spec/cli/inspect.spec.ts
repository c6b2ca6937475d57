import { expect } from 'chai'
import { inspect, looksLikeHexText, parseHex } from '../../lib/cli/inspect.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { encodeFrameHeader } from '../../lib/wire/h2/frame-header.js'
import { encodeExtensionFrame } from '../../lib/wire/h2/certificate-frame.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { testPki } from '../support/pki.js'

const frame = (type: number, flags: number, streamId: number, payload: Uint8Array): Buffer =>
  Buffer.concat([encodeFrameHeader({ length: payload.length, type, flags, streamId }), payload])

/** SETTINGS payload from [id, value] pairs (RFC 9113 §6.5.1). */
const settings = (pairs: [number, number][]): Buffer => {
  const b = Buffer.alloc(6 * pairs.length)
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, 6 * i)
    b.writeUInt32BE(v, 6 * i + 2)
  })
  return b
}

/** A real spontaneous server authenticator over a made-up exporter (bytes only, no socket). */
async function serverAuthenticator(): Promise<Uint8Array> {
  const pki = await testPki('p256')
  const ea = new ExportedAuthenticators({ role: 'server', exporter: (_l, _c, n) => new Uint8Array(n).fill(7), hash: 'sha256' })
  return ea.authenticate({ credential: { chain: pki.origin2.chainDer, key: nodeCrypto.importPrivateKey(pki.origin2.keyPem) } })
}

describe('cli/inspect', () => {
  describe('parseHex', () => {
    it('accepts 0x, spaces, newlines, colons and per-byte 0x prefixes', () => {
      for (const text of ['0a0b', '0x0a0b', '0A 0B', '0a\n0b\r\n', '0a:0b', '0x0a 0x0b', ' 0x0A0b \t']) {
        const r = parseHex(text)
        expect('bytes' in r && Buffer.from(r.bytes).toString('hex'), text).to.equal('0a0b')
      }
    })

    it('rejects odd lengths, non-hex characters and empty text with a reason', () => {
      expect(parseHex('abc')).to.deep.equal({ error: 'odd number of hex digits (3)' })
      expect(parseHex('0g')).to.deep.equal({ error: "unexpected 'g' after 1 hex digit(s)" })
      expect(parseHex('  ')).to.deep.equal({ error: 'no hex digits' })
    })

    it('tells hex text from binary', () => {
      expect(looksLikeHexText(Buffer.from('00 00 00 04 01 00 00 00 00\n'))).to.equal(true)
      expect(looksLikeHexText(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]))).to.equal(false)
      expect(looksLikeHexText(Buffer.from('abc'))).to.equal(false)
      expect(looksLikeHexText(new Uint8Array(0))).to.equal(false)
    })
  })

  describe('inspect', () => {
    it('decodes a record holding SETTINGS, SERVER_CERTIFICATE and a SETTINGS ACK', async () => {
      const record = Buffer.concat([
        frame(0x4, 0, 0, settings([[0x3, 100], [0x4, 65535], [0xf5a1, 1]])),
        encodeExtensionFrame(0xf8, await serverAuthenticator()),
        frame(0x4, 0x1, 0, new Uint8Array(0)),
      ])
      const r = inspect(record)
      expect(r).to.include({ decoded: 3, failed: 0 })
      const text = r.lines.join('\n')
      expect(text).to.match(/^frame SETTINGS, length 18, flags 0x0, stream 0$/m)
      expect(text).to.match(/^  SETTINGS_MAX_CONCURRENT_STREAMS \(0x3\) = 100$/m)
      expect(text).to.match(/^  SETTINGS_INITIAL_WINDOW_SIZE \(0x4\) = 65535$/m)
      expect(text).to.match(/^  SETTINGS_HTTP_SERVER_CERT_AUTH \(0xf5a1\) = 1$/m)
      expect(text).to.match(/^frame SERVER_CERTIFICATE, length \d+, flags 0x0, stream 0$/m)
      expect(text).to.match(/certificate\[0\]: CN=other\.localhost,O=h2sc test/)
      expect(text).to.match(/CertificateVerify: ecdsa_secp256r1_sha256/)
      expect(text).to.match(/^frame SETTINGS, length 0, flags 0x1, stream 0\n  ACK$/m)
      expect(text).to.match(/^3 frames: 3 decoded, 0 failed$/m)
    })

    it('skips a client connection preface and names GOAWAY, WINDOW_UPDATE, PING and RST_STREAM fields', () => {
      const goaway = Buffer.alloc(8 + 3)
      goaway.writeUInt32BE(5, 0)
      goaway.writeUInt32BE(0x1, 4)
      goaway.write('bad', 8)
      const wu = Buffer.alloc(4)
      wu.writeUInt32BE(1000, 0)
      const rst = Buffer.alloc(4)
      rst.writeUInt32BE(0x8, 0)
      const r = inspect(Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        frame(0x8, 0, 0, wu),
        frame(0x6, 0x1, 0, Buffer.from('0102030405060708', 'hex')),
        frame(0x3, 0, 3, rst),
        frame(0x7, 0, 0, goaway),
      ]))
      expect(r).to.include({ decoded: 4, failed: 0 })
      expect(r.lines).to.include.members([
        'client connection preface (24 bytes)',
        '  increment 1000',
        '  ACK opaque 0102030405060708',
        '  error code 0x8',
        '  last stream 5, error code 0x1, debug "bad"',
      ])
    })

    it('reports each bad frame on its own and goes on with the next', () => {
      const r = inspect(Buffer.concat([
        frame(0x4, 0, 0, Buffer.alloc(7)), // not a multiple of 6
        frame(0x4, 0x1, 0, Buffer.alloc(6)), // ACK with payload
        frame(0x4, 0, 1, Buffer.alloc(0)), // on a stream
        frame(0xf8, 0, 0, Buffer.alloc(0)), // empty authenticator payload
        frame(0xf9, 0, 0, Buffer.from([0x00, 0x01])), // truncated request list
        frame(0x4, 0x1, 0, Buffer.alloc(0)), // fine
      ]))
      expect(r).to.include({ decoded: 1, failed: 5 })
      const errors = r.lines.filter((l) => l.startsWith('  error: '))
      expect(errors).to.have.length(5)
      expect(errors[0]).to.match(/SETTINGS \(frame #1, offset 0\): .*length 7 is not a multiple of 6 \(rule length/)
      expect(errors[1]).to.match(/frame #2, offset 16\): .*ACK with 6 payload bytes \(rule length/)
      expect(errors[2]).to.match(/on stream 1 \(rule stream/)
      expect(errors[3]).to.match(/^  error: SERVER_CERTIFICATE \(frame #4, offset \d+\): /)
      expect(errors[4]).to.match(/^  error: AUTHENTICATOR_REQUESTS \(frame #5, offset \d+\): /)
      expect(r.lines.at(-1)).to.equal('6 frames: 1 decoded, 5 failed')
    })

    it('reports SETTINGS values out of their RFC 9113 §6.5.2 bounds', () => {
      const r = inspect(Buffer.concat([
        frame(0x4, 0, 0, settings([[0x2, 2]])),
        frame(0x4, 0, 0, settings([[0x5, 1]])),
        frame(0x4, 0, 0, settings([[0x4, 0x80000000]])),
        frame(0x4, 0, 0, settings([[0x5, 16384], [0x7777, 0xffffffff]])),
      ]))
      expect(r).to.include({ decoded: 1, failed: 3 })
      const errors = r.lines.filter((l) => l.startsWith('  error: ')).join('\n')
      expect(errors).to.match(/rule enable-push/)
      expect(errors).to.match(/rule max-frame-size/)
      expect(errors).to.match(/rule initial-window-size/)
      expect(r.lines).to.include('  SETTINGS_MAX_FRAME_SIZE (0x5) = 16384')
      expect(r.lines).to.include('  unknown setting 0x7777 (0x7777) = 4294967295')
    })

    it('reports a truncated last frame and trailing bytes', () => {
      const t = inspect(Buffer.from('000010040000000000aabb', 'hex'))
      expect(t).to.include({ decoded: 0, failed: 1 })
      expect(t.lines[1]).to.equal('  error: truncated: header says 16 payload bytes, 2 present (frame #1, offset 0)')
      const trailing = inspect(Buffer.from('000000040100000000ffff', 'hex'))
      expect(trailing).to.include({ decoded: 1, failed: 1 })
      expect(trailing.lines).to.include('frame #2 at offset 9: error: 2 trailing byte(s), too short for a 9-byte frame header')
    })

    it('decodes a bare CertificateRequest and an AUTHENTICATOR_REQUESTS frame', () => {
      const req = encodeCertificateRequest({ context: new Uint8Array([9, 9]), signatureAlgorithms: [0x0807] })
      const bare = inspect(req)
      expect(bare).to.include({ decoded: 1, failed: 0 })
      expect(bare.lines[0]).to.match(/^CertificateRequest \(13\)/)
      const framed = inspect(encodeExtensionFrame(0xf9, encodeAuthenticatorRequests([req, req])))
      expect(framed.lines.filter((l) => /CertificateRequest \(13\)/.test(l))).to.have.length(2)
    })

    it('decodes a bare authenticator', async () => {
      const r = inspect(await serverAuthenticator())
      expect(r).to.include({ decoded: 1, failed: 0 })
      expect(r.lines[0]).to.match(/^authenticator, \d+ bytes$/)
    })

    it('says what it tried when nothing decodes', () => {
      const r = inspect(Buffer.from('0d0000ff', 'hex'))
      expect(r).to.include({ decoded: 0, failed: 1 })
      expect(r.lines[0]).to.equal('could not decode 4 bytes:')
      expect(r.lines.join('\n')).to.match(/not a CertificateRequest: /)
      expect(r.lines.join('\n')).to.match(/as HTTP\/2 frames:/)
      expect(inspect(new Uint8Array(0))).to.include({ decoded: 0, failed: 1 })
    })

    it('names frames by the codepoints it is given', () => {
      const r = inspect(encodeExtensionFrame(0xf0, new Uint8Array([0x14, 0, 0, 0])), {
        settingServerCertAuth: 1, settingClientCertAuth: 2, frameServerCertificate: 0xf0, frameAuthenticatorRequests: 0xf1, frameClientCertificate: 0xf2, errorServerCertificateInvalid: 3,
      })
      expect(r.lines[0]).to.match(/^frame SERVER_CERTIFICATE/)
    })
  })
})
