import { expect } from 'chai'
import http2 from 'node:http2'
import https from 'node:https'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { fastifySecondaryCerts, secondaryCertsServerFactory } from '../../lib/fastify.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ClientExtensionOptions } from '../../lib/client.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { createCertificatePolicy } from '../../lib/policy/certificate-policy.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { connected, get } from '../../interop/support/h2.js'

type H2App = FastifyInstance<http2.Http2SecureServer, http2.Http2ServerRequest, http2.Http2ServerResponse>

const AUTH_REQUESTS = DEFAULT_CODEPOINTS.frameAuthenticatorRequests

describe('integration: Fastify 5 plugin', function () {
  this.timeout(15000)
  let pki: TestPki
  let app: H2App | undefined
  let port: number
  const clients: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await testPki('p256')
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (app) await app.close()
    app = undefined
  })

  function create(): H2App {
    return Fastify({ http2: true, https: { key: pki.server.keyPem, cert: pki.server.chainPem, allowHTTP1: true } })
  }

  async function start(): Promise<H2App> {
    const a = create()
    app = a
    const frank = createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' })
    const rfc5280 = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
    await a.register(fastifySecondaryCerts, { policy: frank, requestAnchors: [pki.caPem], timeoutMs: 3000 })
    a.get('/open', async (req) => ({ identities: req.secondaryIdentities.map((i) => i.label), extension: req.secondaryCerts !== undefined }))
    a.get('/whoami', { config: { requireIdentities: ['device', 'user'] } }, async (req) => ({
      identities: req.secondaryIdentities.map((i) => i.label),
      met: req.identityCheck?.met.map((m) => ({ label: m.label, roles: [...m.decision.roles], rows: [...m.decision.rows] })),
    }))
    a.get('/user', { onRequest: a.requireIdentities(['user']) }, async (req) => ({ user: req.identityCheck?.ok }))
    a.get('/device-strict', { config: { requireIdentities: { needs: ['device'], policy: rfc5280 } } }, async () => 'unreachable')
    a.post('/upload', { preHandler: a.requireIdentities({ needs: [{ label: 'user' }], timeoutMs: 2000 }) }, async (req) => ({ got: req.body }))
    await a.listen({ port: 0, host: '127.0.0.1' })
    port = (a.server.address() as { port: number }).port
    return a
  }

  async function client(ext: ClientExtensionOptions): Promise<http2.ClientHttp2Session> {
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: ext })
    clients.push(s)
    await connected(s)
    return s
  }

  const both = (): ClientExtensionOptions => ({
    credentials: [
      { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
      { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
    ],
  })

  const requestFrames = (s: http2.ClientHttp2Session): number =>
    clientCerts(s)!.frameLog.filter((f) => f.dir === 'in' && f.type === AUTH_REQUESTS).length

  it("runs on Fastify's Http2SecureServer with the interposer in place of http2's connection listener", async () => {
    const a = create()
    app = a
    const before = a.server.listeners('secureConnection')
    expect(before.map((l) => l.name)).to.include('connectionListener')
    await a.register(fastifySecondaryCerts, {})
    // Attached while the plugin loaded, i.e. before listen.
    const after = a.server.listeners('secureConnection')
    expect(after).to.have.length(before.length)
    expect(after.map((l) => l.name)).to.not.include('connectionListener')
    expect(a.server.listening).to.equal(false)
    expect(a.secondaryCertServer.customSettings).to.not.deep.equal({})
  })

  it('exposes the session and its identities on the request', async () => {
    await start()
    const s = await client(both())
    const r = await get(s, '/open')
    expect(r.status).to.equal(200)
    expect(JSON.parse(r.body)).to.deep.equal({ identities: [], extension: true })
  })

  it('asks for the route requirement, holds the request, then answers 200 with the roles', async () => {
    await start()
    const s = await client(both())
    const r = await get(s, '/whoami')
    expect(r.status).to.equal(200)
    const body = JSON.parse(r.body) as { identities: string[]; met: { label: string; roles: string[]; rows: number[] }[] }
    expect(body.identities).to.deep.equal(['device', 'user'])
    expect(body.met).to.deep.equal([
      { label: 'device', roles: ['device'], rows: [5] },
      { label: 'user', roles: ['user'], rows: [1] },
    ])
    expect(requestFrames(s)).to.equal(1)
    // Met now: no new exchange; visible from other routes of the connection too.
    expect((await get(s, '/whoami')).status).to.equal(200)
    expect(JSON.parse((await get(s, '/open')).body)).to.deep.include({ identities: ['device', 'user'] })
    expect(requestFrames(s)).to.equal(1)
  })

  it('shares one exchange among concurrent requests on one connection', async () => {
    await start()
    const s = await client(both())
    const rs = await Promise.all(Array.from({ length: 5 }, () => get(s, '/whoami')))
    expect(rs.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200])
    expect(requestFrames(s)).to.equal(1)
  })

  it('replies 403 problem+json from fastify.requireIdentities, and the connection stays usable', async () => {
    await start()
    const s = await client({ ...both(), select: () => null })
    const r = await get(s, '/user')
    expect(r.status).to.equal(403)
    expect(r.headers['content-type']).to.match(/^application\/problem\+json/)
    const p = JSON.parse(r.body) as { status: number; missing: { label: string; reason: string }[] }
    expect(p.status).to.equal(403)
    expect(p.missing).to.deep.equal([{ label: 'user', reason: 'declined', detail: 'the client declined the request' }])
    expect((await get(s, '/open')).status).to.equal(200)
  })

  it('rejects a serverAuth-only device on a route with the rfc5280 policy, naming the reason', async () => {
    await start()
    const s = await client(both())
    const r = await get(s, '/device-strict')
    expect(r.status).to.equal(403)
    const p = JSON.parse(r.body) as { missing: { label: string; reason: string; row?: number }[] }
    expect(p.missing[0]).to.include({ label: 'device', reason: 'eku-purpose' })
    // Internal decision-table rows stay out of problem bodies (issue 10 item 4).
    expect(p.missing[0]).to.not.have.property('row')
    expect((await get(s, '/user')).status).to.equal(200)
    expect(s.destroyed).to.equal(false)
  })

  it('works as a preHandler on a route with a body', async () => {
    await start()
    const s = await client(both())
    const stream = s.request({ ':method': 'POST', ':path': '/upload', 'content-type': 'application/json' })
    stream.end(JSON.stringify({ hello: 'world' }))
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      let st = 0
      let b = ''
      stream.on('response', (h) => (st = Number(h[':status'])))
      stream.on('data', (c: Buffer) => (b += c.toString()))
      stream.on('end', () => resolve({ status: st, body: b }))
      stream.on('error', reject)
    })
    expect(status).to.equal(200)
    expect(JSON.parse(body)).to.deep.equal({ got: { hello: 'world' } })
  })

  it('serves HTTP/1.1 (allowHTTP1) without the extension: open routes work, protected ones say not-supported', async () => {
    await start()
    const fetch1 = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path, ca: pki.caPem, servername: 'localhost', agent: false }, (res) => {
            let b = ''
            res.on('data', (c: Buffer) => (b += c.toString()))
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }))
          })
          .on('error', reject)
      })
    expect(JSON.parse((await fetch1('/open')).body)).to.deep.equal({ identities: [], extension: false })
    const r = await fetch1('/user')
    expect(r.status).to.equal(403)
    expect((JSON.parse(r.body) as { missing: { reason: string }[] }).missing[0]!.reason).to.equal('not-supported')
  })

  it('answers a plain HTTP/2 client (no extension) 403 not-supported on protected routes', async () => {
    await start()
    const plain = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
    clients.push(plain)
    expect(JSON.parse((await get(plain, '/open')).body)).to.deep.equal({ identities: [], extension: false })
    expect((await get(plain, '/whoami')).status).to.equal(403)
  })

  it('applies to routes of child plugins registered after it (no encapsulation)', async () => {
    const a = create()
    app = a
    await a.register(fastifySecondaryCerts, { policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }), timeoutMs: 3000 })
    await a.register(async (child) => {
      child.get('/child', { config: { requireIdentities: ['user'] } }, async (req) => ({ n: req.secondaryIdentities.length }))
    })
    await a.listen({ port: 0, host: '127.0.0.1' })
    port = (a.server.address() as { port: number }).port
    const s = await client({ ...both(), select: () => null })
    expect((await get(s, '/child')).status).to.equal(403)
    const ok = await client(both())
    const r = await get(ok, '/child')
    expect(r.status).to.equal(200)
    expect(JSON.parse(r.body)).to.deep.equal({ n: 1 })
  })

  it('works with secondaryCertsServerFactory: attached once, extension in the first SETTINGS', async () => {
    const tlsOptions = { key: pki.server.keyPem, cert: pki.server.chainPem }
    // The factory builds and attaches the server, so its trust comes with the factory's options.
    const factoryOptions = { ...tlsOptions, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' as const } } }
    const a: H2App = Fastify({ http2: true, https: tlsOptions, serverFactory: secondaryCertsServerFactory(factoryOptions) })
    app = a
    const before = a.server.listeners('secureConnection')
    await a.register(fastifySecondaryCerts, { policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }), timeoutMs: 3000 })
    // The plugin saw the server was set up and did not wrap the connection listener again.
    expect(a.server.listeners('secureConnection')).to.deep.equal(before)
    a.get('/user', { config: { requireIdentities: ['user'] } }, async (req) => ({ n: req.secondaryIdentities.length }))
    await a.listen({ port: 0, host: '127.0.0.1' })
    port = (a.server.address() as { port: number }).port
    const s = await client(both())
    const r = await get(s, '/user')
    expect(r.status).to.equal(200)
    expect(JSON.parse(r.body)).to.deep.equal({ n: 1 })
    expect(requestFrames(s)).to.equal(1)
  })

  it('refuses a Fastify instance without http2 + https', async () => {
    const plain = Fastify()
    try {
      let err: unknown
      try {
        await plain.register(fastifySecondaryCerts, {})
        await plain.ready()
      } catch (e) {
        err = e
      }
      expect((err as { code?: string }).code).to.equal('ERR_SC_USAGE')
    } finally {
      await plain.close().catch(() => {})
    }
  })

  it('refuses a route requirement when no policy is given anywhere', async () => {
    const a = create()
    app = a
    await a.register(fastifySecondaryCerts, {})
    expect(() => a.requireIdentities(['user'])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
