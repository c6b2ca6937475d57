import { expect } from 'chai'
import { createHash, X509Certificate } from 'node:crypto'
import http2 from 'node:http2'
import https from 'node:https'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { AccessLogEntry, Gateway } from '../../lib/gateway/gateway.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, header, plainClient, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'

describe('gateway: device + user through the gateway to a Python backend', function () {
  this.timeout(60000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway | undefined
  const sessions: http2.ClientHttp2Session[] = []
  const log: AccessLogEntry[] = []

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
  })
  after(async () => {
    await backend.stop()
  })
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy()
    await gw?.close({ timeoutMs: 500 })
    gw = undefined
    log.length = 0
  })

  async function start(routes?: Parameters<typeof createGateway>[0]['routes'], more: Partial<Parameters<typeof createGateway>[0]> = {}): Promise<string> {
    gw = createGateway({
      cert: pki.server.chainPem,
      key: pki.server.keyPem,
      ca: pki.caPem,
      ...(routes ? { routes } : { upstream: backend.url, require: ['device', 'user'] }),
      limits: { identityTimeoutMs: 3000 },
      ...more,
    })
    gw.on('access', (e: AccessLogEntry) => log.push(e))
    const a = await gw.listen()
    return `https://127.0.0.1:${a.port}`
  }

  it('forwards the device and user certificates as RFC 8941 dictionaries the backend parses', async () => {
    const url = await start()
    const s = deviceUserClient(url, pki)
    sessions.push(s)
    const r = await fetchH2(s, '/hello?x=1')
    expect(r.status).to.equal(200)
    const echo = JSON.parse(r.body.toString()) as Echo
    expect(echo.parse_error).to.equal(undefined)
    expect(echo.path).to.equal('/hello?x=1')
    expect(Object.keys(echo.secondary ?? {}).sort()).to.deep.equal(['device', 'user'])
    expect(Buffer.from(echo.secondary!['device']!, 'base64').equals(Buffer.from(pki.device.certDer))).to.equal(true)
    expect(Buffer.from(echo.secondary!['user']!, 'base64').equals(Buffer.from(pki.user.certDer))).to.equal(true)
    // The chain members hold the intermediates in TLS order (leaf excluded).
    expect(echo.secondary_chain!['device']!.map((b) => Buffer.from(b, 'base64').equals(Buffer.from(pki.intermediate.certDer)))).to.deep.equal([true])
    expect(echo.secondary_chain!['user']!.map((b) => Buffer.from(b, 'base64').equals(Buffer.from(pki.intermediate.certDer)))).to.deep.equal([true])
    const fwd = header(echo, 'forwarded')
    expect(fwd).to.have.length(1)
    expect(fwd[0]).to.match(/^for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=https$/)
    // Hop-by-hop fields of the upstream's response do not reach the client (RFC 9110 §7.6.1).
    expect(r.headers['x-hop']).to.equal(undefined)
    expect(r.headers['keep-alive']).to.equal(undefined)
    expect(log[0]).to.include({ method: 'GET', status: 200, route: '/', protocol: 'h2' })
    expect(log[0]!.identities.map((i) => i.label).sort()).to.deep.equal(['device', 'user'])
    const sha = createHash('sha256').update(pki.user.certDer).digest('hex')
    expect(log[0]!.identities.find((i) => i.label === 'user')!.sha256).to.equal(sha)
    expect(new X509Certificate(Buffer.from(echo.secondary!['user']!, 'base64')).subject).to.contain('CN=user')
  })

  it('strips every spoofed identity field a client sends, also on public routes', async () => {
    const url = await start([
      { prefix: '/open', upstream: backend.url, public: true },
      { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
    ])
    const s = deviceUserClient(url, pki)
    sessions.push(s)
    const spoof = {
      'secondary-client-cert': 'device=:AAAA:, admin=:AAAA:',
      'secondary-client-cert-chain': 'admin=(:AAAA:)',
      'client-cert': ':AAAA:',
      'client-cert-chain': ':AAAA:',
      'secondary-identity-assertion': 'eyJhbGciOiJub25lIn0.e30.',
      connection: undefined,
    }
    delete (spoof as Record<string, unknown>)['connection']
    const open = JSON.parse((await fetchH2(s, '/open/x', { headers: spoof })).body.toString()) as Echo
    for (const n of Object.keys(spoof)) expect(header(open, n), n).to.deep.equal([])
    expect(open.secondary).to.equal(undefined)
    const prot = JSON.parse((await fetchH2(s, '/p', { headers: spoof })).body.toString()) as Echo
    expect(Object.keys(prot.secondary!).sort()).to.deep.equal(['device', 'user'])
    expect(header(prot, 'secondary-client-cert')).to.have.length(1)
    expect(header(prot, 'client-cert')).to.deep.equal([])
    expect(header(prot, 'secondary-identity-assertion')).to.deep.equal([])
  })

  it('answers 403 problem+json to an HTTP/2 client without the extension, and serves it public routes', async () => {
    const url = await start([
      { prefix: '/open', upstream: backend.url, public: true },
      { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
    ])
    const s = plainClient(url, pki)
    sessions.push(s)
    const denied = await fetchH2(s, '/secret')
    expect(denied.status).to.equal(403)
    expect(denied.headers['content-type']).to.equal('application/problem+json')
    const body = JSON.parse(denied.body.toString()) as { missing: { label: string; reason: string }[] }
    expect(body.missing.map((m) => m.reason)).to.deep.equal(['not-supported', 'not-supported'])
    const ok = await fetchH2(s, '/open/page')
    expect(ok.status).to.equal(200)
    expect((JSON.parse(ok.body.toString()) as Echo).secondary).to.equal(undefined)
  })

  it('serves HTTP/1.1 clients on public routes and answers 403 http2-required on protected ones', async () => {
    const url = await start([
      { prefix: '/open', upstream: backend.url, public: true },
      { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
    ])
    const get = (path: string): Promise<{ status: number; body: string; type: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = https.get(`${url}${path}`, { ca: pki.caPem, headers: { 'client-cert': ':AAAA:' } }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }))
        })
        req.on('error', reject)
      })
    const open = await get('/open/a')
    expect(open.status).to.equal(200)
    const echo = JSON.parse(open.body) as Echo
    expect(header(echo, 'client-cert')).to.deep.equal([])
    expect(header(echo, 'forwarded')[0]).to.contain('proto=https')
    const denied = await get('/private')
    expect(denied.status).to.equal(403)
    expect(denied.type).to.equal('application/problem+json')
    expect(JSON.parse(denied.body)).to.include({ reason: 'http2-required', status: 403 })
  })

  it('forwards only needs the policy accepted: a route needing a subject the user lacks gets 403 and nothing upstream', async () => {
    const url = await start([{ prefix: '/', upstream: backend.url, require: ['device', { label: 'user', subject: '^CN=admin$' }] }])
    const s = deviceUserClient(url, pki)
    sessions.push(s)
    const r = await fetchH2(s, '/x')
    expect(r.status).to.equal(403)
    const body = JSON.parse(r.body.toString()) as { missing: { label: string; reason: string }[] }
    expect(body.missing.map((m) => [m.label, m.reason])).to.deep.equal([['user', 'subject-mismatch']])
    expect(log[0]!.upstreamMs).to.equal(null)
  })

  it('refuses labels that are not RFC 8941 sf-keys at configuration time', () => {
    for (const bad of ['Device', '1user', 'us er', '', 'dev:ice']) {
      expect(() => createGateway({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caPem, upstream: backend.url, require: [bad] }), bad)
        .to.throw().with.property('code', 'ERR_SC_USAGE')
    }
    expect(() => createGateway({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caPem, upstream: 'ftp://x', require: ['device'] }))
      .to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('answers 502 problem+json when the upstream refuses connections, 504 when it is slow, 502 on a reset', async () => {
    const url = await start(
      [
        { prefix: '/down', upstream: 'http://127.0.0.1:1', public: true },
        { prefix: '/', upstream: backend.url, public: true },
      ],
      { limits: { upstreamHeadersTimeoutMs: 300, identityTimeoutMs: 3000 } },
    )
    const s = plainClient(url, pki)
    sessions.push(s)
    const down = await fetchH2(s, '/down/x')
    expect(down.status).to.equal(502)
    expect(down.headers['content-type']).to.equal('application/problem+json')
    expect(JSON.parse(down.body.toString())).to.include({ reason: 'upstream-refused', status: 502 })
    const slow = await fetchH2(s, '/slow?ms=2000')
    expect(slow.status).to.equal(504)
    expect(JSON.parse(slow.body.toString())).to.include({ reason: 'upstream-timeout' })
    const reset = await fetchH2(s, '/reset')
    expect(reset.status).to.equal(502)
    expect(JSON.parse(reset.body.toString())).to.include({ reason: 'upstream-reset' })
    // The connection is still good after all three.
    expect((await fetchH2(s, '/fine')).status).to.equal(200)
  })
})
