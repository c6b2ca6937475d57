import { expect } from 'chai'
import { DEFAULT_HEADER_NAMES, matchRoute, parseUpstream, resolveHeaderNames, resolveRoutes } from '../../lib/gateway/config.js'
import { clientResponseHeaders, forwardedElement, upstreamRequestHeaders } from '../../lib/gateway/forwarding.js'
import { isSfKey, serializeByteSequence, serializeDictionary, serializeInnerList } from '../../lib/gateway/structured-fields.js'

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

describe('gateway/structured-fields', () => {
  it('serializes a Byte Sequence as colon-delimited padded base64 (RFC 8941 §4.1.8)', () => {
    expect(serializeByteSequence(Uint8Array.of(0, 1, 2, 3))).to.equal(':AAECAw==:')
    expect(serializeByteSequence(new Uint8Array(0))).to.equal('::')
  })
  it('serializes Inner Lists and Dictionaries', () => {
    expect(serializeInnerList([Uint8Array.of(1), Uint8Array.of(2)])).to.equal('(:AQ==: :Ag==:)')
    expect(serializeInnerList([])).to.equal('()')
    expect(serializeDictionary([['device', ':AQ==:'], ['user', '()']])).to.equal('device=:AQ==:, user=()')
  })
  it('accepts sf-keys and refuses everything else (RFC 8941 §3.1.2)', () => {
    for (const k of ['device', 'user', 'a', '*x', 'dev-1.b_c*']) expect(isSfKey(k), k).to.equal(true)
    for (const k of ['', 'Device', '1a', '-a', 'a b', 'a=b', 'ü', 'x'.repeat(65)]) expect(isSfKey(k), k).to.equal(false)
    expect(() => serializeDictionary([['User', ':AQ==:']])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})

describe('gateway/forwarding', () => {
  const names = DEFAULT_HEADER_NAMES
  it('drops hop-by-hop fields and those Connection lists (RFC 9110 §7.6.1), pseudo-headers and Host', () => {
    const out = pairs(upstreamRequestHeaders({
      raw: [':method', 'GET', ':path', '/', 'Connection', 'close, X-Secret', 'X-Secret', '1', 'Keep-Alive', '5', 'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Connection', 'x', 'Host', 'evil', 'Accept', '*/*'],
      authority: 'gw.example:8443',
      hop: { for: '127.0.0.1', proto: 'https', host: 'gw.example:8443' },
      names,
      identities: [],
    }))
    expect(out).to.deep.equal([
      ['accept', '*/*'],
      ['host', 'gw.example:8443'],
      ['forwarded', 'for=127.0.0.1;host="gw.example:8443";proto=https'],
    ])
  })
  it('removes every incoming identity field whatever its case, and appends to an existing Forwarded (RFC 7239 §4)', () => {
    const out = pairs(upstreamRequestHeaders({
      raw: ['SECONDARY-CLIENT-CERT', 'device=:AA==:', 'secondary-client-cert-chain', 'x', 'Client-Cert', ':AA==:', 'client-cert-chain', ':AA==:', 'Secondary-Identity-Assertion', 'e30', 'Forwarded', 'for=192.0.2.1', 'cookie', 'a=1', 'cookie', 'b=2'],
      authority: undefined,
      hop: { for: '::1', proto: 'https' },
      names,
      identities: [{ label: 'user', chain: [Uint8Array.of(1), Uint8Array.of(2)] }],
      handshake: [Uint8Array.of(3), Uint8Array.of(4)],
    }))
    expect(out).to.deep.equal([
      ['cookie', 'a=1; b=2'],
      ['forwarded', 'for=192.0.2.1, for="[::1]";proto=https'],
      ['secondary-client-cert', 'user=:AQ==:'],
      ['secondary-client-cert-chain', 'user=(:Ag==:)'],
      ['client-cert', ':Aw==:'],
      ['client-cert-chain', ':BA==:'],
    ])
  })
  it('uses configured header names and strips both the configured and the default names', () => {
    const custom = resolveHeaderNames({ secondaryClientCert: 'X-Ids', secondaryClientCertChain: 'X-Id-Chains' })
    const out = pairs(upstreamRequestHeaders({ raw: ['x-ids', 'spoof', 'Secondary-Client-Cert', 'spoof'], authority: 'a', hop: { proto: 'https' }, names: custom, identities: [{ label: 'device', chain: [Uint8Array.of(9)] }] }))
    expect(out.filter(([n]) => n === 'x-ids')).to.deep.equal([['x-ids', 'device=:CQ==:']])
    expect(out.filter(([n]) => n === 'secondary-client-cert')).to.deep.equal([])
    expect(() => resolveHeaderNames({ clientCert: 'bad name' })).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => resolveHeaderNames({ clientCert: 'Secondary-Client-Cert' })).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
  it('keeps end-to-end response fields and drops per-hop ones', () => {
    expect(clientResponseHeaders({ 'content-type': 'a', connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 't', 'transfer-encoding': 'chunked', 'set-cookie': ['a', 'b'] }))
      .to.deep.equal({ 'content-type': 'a', 'set-cookie': ['a', 'b'] })
  })
  it('quotes Forwarded values that are not tokens', () => {
    expect(forwardedElement({ for: '2001:db8::1', proto: 'https', host: 'h' })).to.equal('for="[2001:db8::1]";host=h;proto=https')
  })
})

describe('gateway/config', () => {
  it('parses http, https and h2c upstreams with an optional base path', () => {
    expect(parseUpstream('http://127.0.0.1:9000')).to.deep.equal({ kind: 'http', origin: 'http://127.0.0.1:9000', basePath: '' })
    expect(parseUpstream('h2c://backend:81/api/')).to.deep.equal({ kind: 'h2c', origin: 'http://backend:81', basePath: '/api' })
    expect(parseUpstream('https://b')).to.deep.equal({ kind: 'https', origin: 'https://b:443', basePath: '' })
    for (const bad of ['ftp://x', 'not a url', 'http://x/?q=1']) expect(() => parseUpstream(bad), bad).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
  it('matches the longest prefix on path segment boundaries', () => {
    const routes = resolveRoutes(
      [{ prefix: '/', upstream: 'http://a:1', public: true }, { prefix: '/api', upstream: 'http://b:1', public: true }, { prefix: '/api/admin/', upstream: 'http://c:1', public: true }],
      { anchors: [], policy: 'frank', identityTimeoutMs: 1000 },
    )
    expect(matchRoute(routes, '/api')!.prefix).to.equal('/api')
    expect(matchRoute(routes, '/api/x?y')!.prefix).to.equal('/api')
    expect(matchRoute(routes, '/api?y')!.prefix).to.equal('/api')
    expect(matchRoute(routes, '/apix')!.prefix).to.equal('/')
    expect(matchRoute(routes, '/api/admin/users')!.prefix).to.equal('/api/admin')
  })
  it('refuses a protected route without anchors, duplicate labels and bad regexes', () => {
    const d = { anchors: [], policy: 'frank' as const, identityTimeoutMs: 1000 }
    expect(() => resolveRoutes([{ upstream: 'http://a:1', require: ['user'] }], d)).to.throw().with.property('code', 'ERR_SC_USAGE')
    const withCa = { ...d, anchors: ['-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----'] }
    expect(() => resolveRoutes([{ upstream: 'http://a:1', require: ['user', 'user'] }], withCa)).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => resolveRoutes([{ upstream: 'http://a:1', require: [{ label: 'user', subject: '(' }] }], withCa)).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
