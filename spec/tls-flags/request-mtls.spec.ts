import { expect } from 'chai'
import { parseClientHello, type ClientHello } from '../../lib/tls-flags/client-hello.js'
import {
  decideClientCertificateRequest,
  hasRequestMtlsFlag,
  REQUEST_MTLS_FLAG_EXPERIMENTAL,
  requestMtlsSignal,
} from '../../lib/tls-flags/request-mtls.js'
import { encodeTlsFlags } from '../../lib/tls-flags/tls-flags.js'
import { hex } from '../support/hex.js'
import { nodeHelloRecord, records, reencode } from './support.js'

function helloWith(add: readonly (readonly [number, Uint8Array])[]): ClientHello {
  const base = parseClientHello(nodeHelloRecord())
  if (base.kind !== 'complete') throw new Error('fixture')
  const p = parseClientHello(records(reencode(base.hello, { add })))
  if (p.kind !== 'complete') throw new Error('rebuilt hello incomplete')
  return p.hello
}

describe('tls-flags/request-mtls', () => {
  it('defaults to flag 80', () => {
    expect(REQUEST_MTLS_FLAG_EXPERIMENTAL).to.equal(80)
  })

  it('finds the flag in a Node ClientHello modified to carry tls_flags (62) with flag 80', () => {
    const hello = helloWith([[62, encodeTlsFlags([80])]])
    const s = requestMtlsSignal(hello)
    expect(s.kind).to.equal('flags')
    if (s.kind === 'flags') {
      expect(s.requested).to.equal(true)
      expect(s.requestedBy).to.deep.equal([62])
      expect([...s.flags]).to.deep.equal([80])
    }
    expect(hasRequestMtlsFlag(hello)).to.equal(true)
    expect(decideClientCertificateRequest(hello)).to.equal(true)
  })

  it('finds the flag under the Cloudflare demo codepoint 0xFE01 (bytes from the demo capture)', () => {
    const hello = helloWith([[0xfe01, hex('0b 00 00 00 00 00 00 00 00 00 00 01')]])
    expect(hasRequestMtlsFlag(hello)).to.equal(true)
  })

  it('reports absent when no tls_flags extension is sent, and does not request a certificate', () => {
    const p = parseClientHello(nodeHelloRecord())
    if (p.kind !== 'complete') throw new Error('fixture')
    expect(requestMtlsSignal(p.hello).kind).to.equal('absent')
    expect(decideClientCertificateRequest(p.hello)).to.equal(false)
  })

  it('reports flags without the request when only other flags are set', () => {
    const hello = helloWith([[62, encodeTlsFlags([8])]])
    const s = requestMtlsSignal(hello)
    expect(s.kind === 'flags' && s.requested).to.equal(false)
    expect(s.kind === 'flags' && [...s.flags]).to.deep.equal([8])
    expect(decideClientCertificateRequest(hello)).to.equal(false)
  })

  it('uses configured codepoints: another flag number and extension type', () => {
    const hello = helloWith([[0xff77, encodeTlsFlags([3])]])
    expect(hasRequestMtlsFlag(hello)).to.equal(false)
    expect(hasRequestMtlsFlag(hello, { extensionTypes: [0xff77], flag: 3 })).to.equal(true)
    expect(hasRequestMtlsFlag(hello, { extensionTypes: [0xff77] })).to.equal(false)
  })

  it('ignores a codepoint that is not configured', () => {
    const hello = helloWith([[0xfe01, encodeTlsFlags([80])]])
    expect(hasRequestMtlsFlag(hello, { extensionTypes: [62] })).to.equal(false)
  })

  it('reports a malformed tls_flags extension and treats it as no flag', () => {
    const hello = helloWith([[62, hex('02 50 00')]])
    const s = requestMtlsSignal(hello)
    expect(s.kind).to.equal('malformed')
    if (s.kind === 'malformed') {
      expect(s.extensionType).to.equal(62)
      expect(s.error.code).to.equal('ERR_SC_DECODE')
    }
    expect(decideClientCertificateRequest(hello)).to.equal(false)
  })

  it('applies the always/never policies regardless of the flag', () => {
    const flagged = helloWith([[62, encodeTlsFlags([80])]])
    const plain = helloWith([])
    expect(decideClientCertificateRequest(plain, { policy: 'always' })).to.equal(true)
    expect(decideClientCertificateRequest(flagged, { policy: 'never' })).to.equal(false)
  })

  it('lets a policy function decide from the hello and the flag', () => {
    const flagged = helloWith([[62, encodeTlsFlags([80])]])
    const seen: boolean[] = []
    const policy = (c: { hello: ClientHello; requestMtls: boolean }): boolean => {
      seen.push(c.requestMtls)
      return c.requestMtls && c.hello.serverName === 'flags.example'
    }
    expect(decideClientCertificateRequest(flagged, { policy })).to.equal(true)
    expect(decideClientCertificateRequest(helloWith([]), { policy })).to.equal(false)
    expect(seen).to.deep.equal([true, false])
  })
})
