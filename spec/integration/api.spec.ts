import { expect } from 'chai'
import http2 from 'node:http2'
import { attachSecondaryCerts, sessionCerts, identitiesOf } from '../../lib/server.js'
import type { Identity } from '../../lib/index.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { RequestInfo } from '../../lib/client.js'
import { ekuOidFilter } from '../../lib/policy/certificate-policy.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

describe('integration: server and client API shape', function () {
  this.timeout(15000)
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  const clients: http2.ClientHttp2Session[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  it('adds the extension to an existing Http2SecureServer, stream API included', async () => {
    const pki = await testPki('p256')
    server = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem })
    attachSecondaryCerts(server, { trust: { anchors: [pki.caPem], preset: 'frank' } })
    server.on('stream', (stream) => {
      void sessionCerts(stream)!
        .requestIdentities([{ label: 'user', oidFilters: [ekuOidFilter('user')] }])
        .then((out) => {
          stream.respond({ ':status': 200 })
          stream.end(`${out[0]!.kind}:${identitiesOf(stream).length}`)
        })
    })
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] },
    })
    clients.push(s)
    expect((await get(s, '/')).body).to.equal('identity:1')
  })

  it("emits 'identity' on the server and hands the decoded request to the client's selector", async () => {
    const pki = await testPki('p256')
    const seen: Identity[] = []
    server = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
      const ctl = sessionCerts(req)!
      ctl.on('identity', (i: Identity) => seen.push(i))
      const out = await ctl.requestIdentities([{ label: 'device', oidFilters: [ekuOidFilter('device')], signatureAlgorithms: [0x0403, 0x0807] }])
      res.end(out[0]!.kind)
    })
    attachSecondaryCerts(server, { trust: { anchors: [pki.caPem], preset: 'frank' } })
    sessions = trackSessions(server)
    const port = await listen(server)
    const infos: RequestInfo[] = []
    const s = connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: {
        credentials: [{ label: 'dev', purpose: 'device', cert: pki.device.chainPem, key: pki.device.keyPem }],
        select: (info, creds) => {
          infos.push(info)
          return creds.find((c) => c.purpose === 'device') ?? null
        },
      },
    })
    clients.push(s)
    expect((await get(s, '/')).body).to.equal('identity')
    expect(infos).to.have.length(1)
    expect(infos[0]!.request.type).to.equal(13)
    expect(infos[0]!.schemes).to.deep.equal(['ecdsa_secp256r1_sha256', 'ed25519'])
    expect(infos[0]!.request.oidFilters).to.have.length(1)
    expect(seen).to.have.length(1)
    expect(seen[0]!.label).to.equal('device')
    expect(seen[0]!.eku).to.include('1.3.6.1.5.5.7.3.1')
    expect(seen[0]!.sha256).to.match(/^[0-9a-f]{64}$/)
  })

  it('answers two requests that arrive in one frame with two different credentials (default selector)', async () => {
    const pki = await testPki('p256')
    server = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
      // No filters: both credentials fit both requests, so only "already presented" separates them.
      const out = await sessionCerts(req)!.requestIdentities([{ label: 'first' }, { label: 'second' }])
      res.end(JSON.stringify(out.map((o) => (o.kind === 'identity' ? o.identity.sha256 : o.kind))))
    })
    attachSecondaryCerts(server, { trust: { anchors: [pki.caPem], preset: 'frank' } })
    sessions = trackSessions(server)
    const port = await listen(server)
    const frames: number[] = []
    const s = connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: {
        credentials: [
          { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
          { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
        ],
      },
    })
    clients.push(s)
    const answered: (string | null)[] = []
    clientCerts(s)!.on('answer', (a: { label: string | null }) => answered.push(a.label))
    clientCerts(s)!.on('request', () => frames.push(Date.now()))
    const body = JSON.parse((await get(s, '/')).body) as string[]
    expect(frames).to.have.length(2)
    expect(answered).to.deep.equal(['device', 'user'])
    expect(body).to.have.length(2)
    expect(body[0]).to.match(/^[0-9a-f]{64}$/)
    expect(body[1]).to.match(/^[0-9a-f]{64}$/)
    expect(body[0]).to.not.equal(body[1])
  })

  it('declines through the selector with the empty authenticator, connection stays open', async () => {
    const pki = await testPki('p256')
    server = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([{ label: 'user' }])
      res.end(out[0]!.kind)
    })
    attachSecondaryCerts(server, { trust: { anchors: [pki.caPem], preset: 'frank' } })
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], select: () => null },
    })
    clients.push(s)
    await connected(s)
    expect((await get(s, '/a')).body).to.equal('declined')
    expect((await get(s, '/b')).body).to.equal('declined')
    const f = clientCerts(s)!.frameLog.filter((x) => x.dir === 'out')
    expect(f.every((x) => x.bytes === 52)).to.equal(true)
  })

  it('serves HTTP/1.1 clients with allowHTTP1 next to the extension', async () => {
    const pki = await testPki('p256')
    server = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, allowHTTP1: true }, (req, res) => res.end(`v${req.httpVersion}:${sessionCerts(req) ? 'ext' : 'none'}`))
    attachSecondaryCerts(server, { trust: { anchors: [pki.caPem], preset: 'frank' } })
    sessions = trackSessions(server)
    const port = await listen(server)
    const https = await import('node:https')
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', ca: pki.caPem, servername: 'localhost' }, (res) => {
          let b = ''
          res.on('data', (c: Buffer) => (b += c.toString()))
          res.on('end', () => resolve(b))
        })
        .on('error', reject)
    })
    expect(body).to.equal('v1.1:none')
  })
})
