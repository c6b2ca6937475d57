import { expect } from 'chai'
import fc from 'fast-check'
import {
  decodeClientHello,
  parseClientHello,
  type ClientHello,
  type ClientHelloParse,
} from '../../lib/tls-flags/client-hello.js'
import { encodeTlsFlags, TLS_FLAGS_EXTENSION_TYPE } from '../../lib/tls-flags/tls-flags.js'
import { be, cat, hex, vec } from '../support/hex.js'
import { expectDecodeError } from '../support/vectors.js'
import { helloMessage, NODE_HELLO, nodeHelloRecord, records, reencode } from './support.js'

function complete(p: ClientHelloParse): ClientHello {
  if (p.kind !== 'complete') throw new Error(`expected a complete hello, got ${p.kind}`)
  return p.hello
}

describe('tls-flags/client-hello', () => {
  it('decodes a ClientHello captured from a Node 20 client', () => {
    const bytes = nodeHelloRecord()
    const p = parseClientHello(bytes)
    const hello = complete(p)
    expect(p.kind === 'complete' && p.consumed).to.equal(bytes.length)
    expect(hello.recordVersion).to.equal(0x0301)
    expect(hello.legacyVersion).to.equal(0x0303)
    expect(hello.random.length).to.equal(32)
    expect(hello.legacySessionId.length).to.equal(32)
    expect(hello.cipherSuites).to.include(0x1302)
    expect(hello.serverName).to.equal(NODE_HELLO.serverName)
    expect(hello.alpn).to.deep.equal(NODE_HELLO.alpn)
    expect(hello.supportedVersions).to.deep.equal([0x0304, 0x0303])
    expect(hello.extensionOrder).to.include.members([0, 10, 13, 16, 43, 51])
    expect(hello.extensions.has(TLS_FLAGS_EXTENSION_TYPE)).to.equal(false)
  })

  it('answers need-more for every proper prefix of a ClientHello', () => {
    const bytes = nodeHelloRecord()
    for (let n = 0; n < bytes.length; n++) {
      const p = parseClientHello(bytes.subarray(0, n))
      expect(p.kind, `prefix ${n}`).to.equal('need-more')
      if (p.kind === 'need-more') {
        expect(p.have).to.equal(n)
        expect(p.atLeast, `prefix ${n}`).to.be.greaterThan(n).and.at.most(bytes.length)
      }
    }
  })

  it('reassembles a ClientHello spread over several records', () => {
    const original = complete(parseClientHello(nodeHelloRecord()))
    const message = reencode(original)
    const split = records(message, 50)
    const p = parseClientHello(split)
    const hello = complete(p)
    expect(p.kind === 'complete' && p.consumed).to.equal(split.length)
    expect(hello.serverName).to.equal(NODE_HELLO.serverName)
    expect(hello.extensionOrder).to.deep.equal(original.extensionOrder)
    // ... and asks for more bytes while records are missing.
    expect(parseClientHello(split.subarray(0, split.length - 3)).kind).to.equal('need-more')
    expect(parseClientHello(split.subarray(0, 55 + 5 + 10)).kind).to.equal('need-more')
  })

  it('reassembles a large (16 KiB + padding) ClientHello across full-size records', () => {
    const message = helloMessage({ extensions: [[21, new Uint8Array(20000)]] })
    const bytes = records(message)
    const hello = complete(parseClientHello(bytes))
    expect(hello.extensions.get(21)?.length).to.equal(20000)
  })

  it('ignores bytes after the records of the ClientHello (e.g. a following record)', () => {
    const bytes = cat(nodeHelloRecord(), hex('14 0303 0001 01'))
    const p = parseClientHello(bytes)
    expect(p.kind === 'complete' && p.consumed).to.equal(nodeHelloRecord().length)
  })

  it('accepts a TLS 1.2 ClientHello without an extensions block', () => {
    const hello = complete(parseClientHello(records(helloMessage())))
    expect(hello.extensions.size).to.equal(0)
    expect(hello.serverName).to.equal(undefined)
    expect(hello.alpn).to.equal(undefined)
  })

  it('keeps unknown extensions, including flags under any codepoint', () => {
    const flags = encodeTlsFlags([80])
    const hello = complete(parseClientHello(records(helloMessage({ extensions: [[0xfe01, flags], [0x0a0a, new Uint8Array(0)]] }))))
    expect(hello.extensions.get(0xfe01)).to.deep.equal(flags)
    expect(hello.extensionOrder).to.deep.equal([0xfe01, 0x0a0a])
  })

  it('rejects a first record that is not a handshake record (offset 0)', () => {
    expectDecodeError(() => parseClientHello(hex('17 0303 0005 0000000000')), { structure: 'TLSPlaintext', offset: 0 })
  })

  it('rejects an SSLv2-style or plaintext HTTP opening', () => {
    expectDecodeError(() => parseClientHello(new TextEncoder().encode('GET / HTTP/1.1\r\n')), { offset: 0 })
    expectDecodeError(() => parseClientHello(hex('80 2e 01 0002')), { offset: 0 })
  })

  it('rejects a record whose version is not 3.x', () => {
    expectDecodeError(() => parseClientHello(hex('16 0201 0004 01000000')), { structure: 'TLSPlaintext', offset: 1 })
  })

  it('rejects a record longer than 2^14', () => {
    expectDecodeError(() => parseClientHello(hex('16 0301 4001')), { structure: 'TLSPlaintext', offset: 3 })
  })

  it('rejects a zero-length handshake fragment', () => {
    expectDecodeError(() => parseClientHello(hex('16 0301 0000')), { structure: 'TLSPlaintext', offset: 3 })
  })

  it('rejects another record type interleaved in a split ClientHello', () => {
    const message = helloMessage({ extensions: [[21, new Uint8Array(100)]] })
    const split = records(message, 60)
    const bad = Uint8Array.from(split)
    bad[65] = 21 // second record becomes an alert
    expectDecodeError(() => parseClientHello(bad), { structure: 'TLSPlaintext', offset: 65 })
  })

  it('rejects a handshake message that is not a ClientHello', () => {
    expectDecodeError(() => parseClientHello(hex('16 0303 0004 02000000')), { structure: 'Handshake', offset: 5 })
  })

  it('rejects a ClientHello larger than maxBytes as soon as its length is known', () => {
    const message = helloMessage({ extensions: [[21, new Uint8Array(5000)]] })
    const bytes = records(message, 1000)
    expectDecodeError(() => parseClientHello(bytes.subarray(0, 20), { maxBytes: 4096 }), { structure: 'Handshake' })
  })

  it('rejects extra handshake bytes after the ClientHello', () => {
    const message = cat(helloMessage(), hex('0b000000'))
    expectDecodeError(() => parseClientHello(records(message)), { structure: 'ClientHello' })
  })

  it('rejects duplicate extensions with the offset of the second one', () => {
    const message = helloMessage({ extensions: [[5, new Uint8Array(0)], [5, new Uint8Array(0)]] })
    // record(5) + header(4) + version(2) + random(32) + sid(1) + suites(2+4) + comp(1+1) + extlen(2) + first ext(4)
    expectDecodeError(() => parseClientHello(records(message)), { structure: 'ClientHello', offset: 5 + 4 + 2 + 32 + 1 + 6 + 2 + 2 + 4 })
  })

  it('maps offsets of errors inside a split ClientHello back to the record stream', () => {
    // An odd cipher_suites length; the field sits at message offset 4+2+32+1 = 39.
    const body = cat(be(0x0303, 2), new Uint8Array(32), vec(1, new Uint8Array(0)), vec(2, hex('130113')), vec(1, hex('00')))
    const message = cat(hex('01'), be(body.length, 3), body)
    const bytes = records(message, 20)
    // message offset 39 is in the 2nd record (bytes 20..39 -> stream 30..49): stream offset 49.
    expectDecodeError(() => parseClientHello(bytes), { structure: 'ClientHello', offset: 49 })
  })

  it('rejects a malformed ALPN extension', () => {
    const message = helloMessage({ extensions: [[16, hex('0003 00 6832')]] })
    expectDecodeError(() => parseClientHello(records(message)), { structure: 'application_layer_protocol_negotiation' })
  })

  it('rejects a legacy_session_id longer than 32 bytes', () => {
    const message = helloMessage({ legacySessionId: new Uint8Array(33) })
    expectDecodeError(() => decodeClientHello(message), { structure: 'ClientHello', offset: 38 })
  })

  it('rejects trailing bytes inside the handshake message', () => {
    const m = helloMessage()
    const body = cat(m.subarray(4), hex('00'))
    expectDecodeError(() => decodeClientHello(cat(hex('01'), be(body.length, 3), body)), { structure: 'ClientHello' })
  })

  it('decodeClientHello rejects every truncated prefix of a message', () => {
    const m = helloMessage({ extensions: [[0, hex('0007 00 0004 612e6578')]] })
    for (let n = 0; n < m.length; n++) {
      expectDecodeError(() => decodeClientHello(m.subarray(0, n)))
    }
    expect(decodeClientHello(m).serverName).to.equal('a.ex')
  })
})

describe('tls-flags/client-hello (properties)', () => {
  it('parseClientHello only returns need-more/complete or throws DecodeError, for mutated and random input', () => {
    const base = nodeHelloRecord()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }).map((b) => cat(hex('16 0301'), b)),
          fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(base.length)).map(([i, v, cut]) => {
            const m = Uint8Array.from(base)
            m[i] = v
            return m.subarray(0, Math.max(cut, i + 1))
          }),
        ),
        (b) => {
          try {
            const p = parseClientHello(b, { maxBytes: 4096 })
            expect(['need-more', 'complete']).to.include(p.kind)
          } catch (e) {
            expect((e as { code?: unknown }).code).to.equal('ERR_SC_DECODE')
          }
        },
      ),
      { seed: 0x3e, numRuns: 1000 },
    )
  })
})
