import { expect } from 'chai'
import http2 from 'node:http2'
import { createSecureServer, sessionCerts, identitiesOf } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ClientExtensionOptions } from '../../lib/client.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { createCertificatePolicy } from '../../lib/policy/certificate-policy.js'
import { CHAIN_FAILURES } from '../../lib/policy/chain.js'
import { requireIdentities, requireIdentitiesOnStream } from '../../lib/binding/require-identities.js'
import type { IdentityRequirement, MissingNeed } from '../../lib/binding/require-identities.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

const AUTH_REQUESTS = DEFAULT_CODEPOINTS.frameAuthenticatorRequests

interface Problem {
  type: string
  title: string
  status: number
  detail: string
  missing: MissingNeed[]
  presented: { label: string; subject: string; roles: string[] }[]
}

/** Route table shared by the compat and the stream server. */
function routes(pki: TestPki): Record<string, IdentityRequirement> {
  const frank = createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' })
  const rfc5280 = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
  return {
    '/protected': { needs: [{ label: 'device' }, { label: 'user' }], policy: frank, requestAnchors: [pki.caPem], timeoutMs: 3000 },
    '/user': { needs: [{ label: 'user' }], policy: frank, timeoutMs: 3000 },
    '/user-quick': { needs: [{ label: 'user' }], policy: frank, timeoutMs: 300 },
    '/device-rfc5280': { needs: [{ label: 'device' }], policy: rfc5280, timeoutMs: 3000 },
    '/admin': { needs: [{ label: 'user', subject: /^CN=admin$/m }], policy: frank, timeoutMs: 3000 },
    '/partner': { needs: [{ label: 'user', issuer: /Partner CA/ }], policy: frank, timeoutMs: 3000 },
  }
}

describe('integration: route protection over real TLS 1.3 and node:http2', function () {
  this.timeout(15000)
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  let port: number
  let pki: TestPki
  let other: TestPki
  const clients: http2.ClientHttp2Session[] = []
  const handled: string[] = []

  before(async () => {
    pki = await testPki('p256')
    other = await testPki('p384')
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
    handled.length = 0
  })

  async function startCompat(): Promise<void> {
    const table = routes(pki)
    const guards = new Map(Object.entries(table).map(([p, r]) => [p, requireIdentities(r)]))
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' } } }, async (req, res) => {
      const path = req.url.split('?')[0]!
      if (path === '/login') await sessionCerts(req)!.requestIdentities([{ label: 'user' }])
      const guard = guards.get(path)
      if (guard && !(await guard(req, res))) return
      handled.push(path)
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`${path}:${identitiesOf(req).map((i) => i.label).join(',')}`)
    })
    sessions = trackSessions(server)
    port = await listen(server)
  }

  async function startStream(): Promise<void> {
    const table = routes(pki)
    const guards = new Map(Object.entries(table).map(([p, r]) => [p, requireIdentitiesOnStream(r)]))
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' } } })
    server.on('stream', (stream, headers) => {
      void (async () => {
        const path = String(headers[':path'])
        const guard = guards.get(path)
        if (guard && !(await guard(stream))) return
        handled.push(path)
        stream.respond({ ':status': 200 })
        stream.end(`${path}:${identitiesOf(stream).map((i) => i.label).join(',')}`)
      })()
    })
    sessions = trackSessions(server)
    port = await listen(server)
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

  function requestFrames(s: http2.ClientHttp2Session): number {
    return clientCerts(s)!.frameLog.filter((f) => f.dir === 'in' && f.type === AUTH_REQUESTS).length
  }

  function problem(r: { status: number; headers: http2.IncomingHttpHeaders; body: string }): Problem {
    expect(r.status).to.equal(403)
    expect(r.headers['content-type']).to.equal('application/problem+json')
    const p = JSON.parse(r.body) as Problem
    expect(p.status).to.equal(403)
    expect(p.title).to.equal('Forbidden')
    return p
  }

  describe('compat API', () => {
    beforeEach(startCompat)

    it('asks for device and user when missing, holds the response, then answers 200', async () => {
      const s = await client(both())
      const r = await get(s, '/protected')
      expect(r.status).to.equal(200)
      expect(r.body).to.equal('/protected:device,user')
      // Both requests went out in one AUTHENTICATOR_REQUESTS frame.
      expect(requestFrames(s)).to.equal(1)
      expect(clientCerts(s)!.answers.map((a) => a.label)).to.deep.equal(['device', 'user'])
    })

    it('meets the requirement without asking when the identities are already on the connection', async () => {
      const s = await client(both())
      expect((await get(s, '/login')).body).to.equal('/login:user')
      expect(requestFrames(s)).to.equal(1)
      const r = await get(s, '/user')
      expect(r.status).to.equal(200)
      expect(requestFrames(s)).to.equal(1)
      expect((await get(s, '/protected')).status).to.equal(200)
      // Only the device was still missing.
      expect(requestFrames(s)).to.equal(2)
      expect(clientCerts(s)!.answers.map((a) => a.label)).to.deep.equal(['user', 'device'])
      expect((await get(s, '/protected')).status).to.equal(200)
      expect(requestFrames(s)).to.equal(2)
    })

    it('shares one exchange among concurrent requests on one connection', async () => {
      const s = await client(both())
      const rs = await Promise.all(Array.from({ length: 6 }, () => get(s, '/protected')))
      expect(rs.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200, 200])
      expect(requestFrames(s)).to.equal(1)
      const out = sessionFrames(s)
      expect(out).to.equal(1)
      expect(clientCerts(s)!.answers).to.have.length(2)
    })

    it('shares one declined exchange among concurrent requests and answers each with 403', async () => {
      const s = await client({ ...both(), select: () => null })
      const rs = await Promise.all(Array.from({ length: 4 }, () => get(s, '/user')))
      for (const r of rs) expect(problem(r).missing[0]!.reason).to.equal('declined')
      expect(requestFrames(s)).to.equal(1)
      expect(handled).to.deep.equal([])
    })

    it('answers 403 naming the declined need, and the connection stays usable', async () => {
      const s = await client({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], credentialLimit: 2 })
      const p = problem(await get(s, '/protected'))
      expect(p.missing.map((m) => [m.label, m.reason])).to.deep.equal([['device', 'declined']])
      expect(p.presented.map((m) => m.label)).to.deep.equal(['user'])
      expect(p.detail).to.match(/device \(declined/)
      expect((await get(s, '/open')).status).to.equal(200)
      expect(s.destroyed).to.equal(false)
    })

    it('answers 403 with reason timeout when the client does not answer in time', async () => {
      const s = await client({ ...both(), select: () => new Promise(() => {}) })
      const t0 = Date.now()
      const p = problem(await get(s, '/user-quick'))
      expect(p.missing[0]).to.include({ label: 'user', reason: 'timeout' })
      expect(Date.now() - t0).to.be.lessThan(2500)
      expect((await get(s, '/open')).status).to.equal(200)
    })

    it('rejects a serverAuth-only device under rfc5280 with the EKU reason, without closing the connection', async () => {
      const s = await client(both())
      let goaway = false
      s.on('goaway', () => (goaway = true))
      const p = problem(await get(s, '/device-rfc5280'))
      expect(p.missing[0]).to.include({ label: 'device', reason: 'eku-purpose' })
      // Internal decision-table rows stay out of problem bodies (issue 10 item 4).
      expect(p.missing[0]).to.not.have.property('row')
      expect(p.missing[0]!.subject).to.match(/CN=device-/)
      // A later request on the same session still works.
      const r = await get(s, '/user')
      expect(r.status).to.equal(200)
      expect(goaway).to.equal(false)
      expect(s.destroyed).to.equal(false)
    })

    it('rejects a certificate from an untrusted CA with a chain reason', async () => {
      const s = await client({ credentials: [{ label: 'user', cert: other.user.chainPem, key: other.user.keyPem }] })
      const p = problem(await get(s, '/user'))
      expect(p.missing[0]!.label).to.equal('user')
      expect(CHAIN_FAILURES as readonly string[]).to.include(p.missing[0]!.reason)
      expect(p.missing[0]!.reason).to.equal('no-path')
      expect((await get(s, '/open')).status).to.equal(200)
    })

    it('rejects a subject mismatch and an issuer mismatch', async () => {
      const s = await client(both())
      const a = problem(await get(s, '/admin'))
      expect(a.missing[0]).to.include({ label: 'user', reason: 'subject-mismatch' })
      const b = problem(await get(s, '/partner'))
      expect(b.missing[0]).to.include({ label: 'user', reason: 'issuer-mismatch' })
      expect((await get(s, '/user')).status).to.equal(200)
    })

    it('answers 403 not-supported to a client without the extension, without waiting', async () => {
      const plain = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
      clients.push(plain)
      const p = problem(await get(plain, '/user'))
      expect(p.missing[0]).to.include({ reason: 'not-supported' })
    })

    it('answers 403 not-supported at once when the client turned client certificates off', async () => {
      const s = await client({ ...both(), credentialLimit: 0 })
      const t0 = Date.now()
      const p = problem(await get(s, '/protected'))
      expect(p.missing.map((m) => m.reason)).to.deep.equal(['not-supported', 'not-supported'])
      expect(Date.now() - t0).to.be.lessThan(1000)
    })

    it('survives the client cancelling a held request; the answer still lands on the connection', async () => {
      let release: (() => void) | undefined
      const gate = new Promise<void>((r) => (release = r))
      const s = await client({
        ...both(),
        select: async (_info, creds) => {
          await gate
          return creds.find((c) => c.label === 'user') ?? null
        },
      })
      const stream = s.request({ ':path': '/user' })
      stream.on('error', () => {})
      await new Promise((r) => setTimeout(r, 100))
      stream.close(http2.constants.NGHTTP2_CANCEL)
      await new Promise((r) => setTimeout(r, 50))
      release!()
      // The identity presented for the cancelled request now serves the next one without asking.
      const r = await get(s, '/user')
      expect(r.status).to.equal(200)
      expect(requestFrames(s)).to.equal(1)
      expect(handled).to.deep.equal(['/user'])
    })

    function sessionFrames(_s: http2.ClientHttp2Session): number {
      const [srv] = [...sessions]
      return sessionCerts(srv!)!.frameLog.filter((f) => f.dir === 'out' && f.type === AUTH_REQUESTS).length
    }
  })

  describe('stream API', () => {
    beforeEach(startStream)

    it('asks, holds the stream, then answers 200', async () => {
      const s = await client(both())
      const r = await get(s, '/protected')
      expect(r.status).to.equal(200)
      expect(r.body).to.equal('/protected:device,user')
      expect(requestFrames(s)).to.equal(1)
    })

    it('shares one exchange among concurrent streams', async () => {
      const s = await client(both())
      const rs = await Promise.all(Array.from({ length: 5 }, () => get(s, '/protected')))
      expect(rs.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200])
      expect(requestFrames(s)).to.equal(1)
      expect(clientCerts(s)!.answers).to.have.length(2)
    })

    it('answers 403 problem+json on a policy rejection and keeps the session', async () => {
      const s = await client(both())
      const p = problem(await get(s, '/device-rfc5280'))
      expect(p.missing[0]!.reason).to.equal('eku-purpose')
      expect((await get(s, '/user')).status).to.equal(200)
      expect(s.destroyed).to.equal(false)
    })

    it('answers 403 with reason declined', async () => {
      const s = await client({ ...both(), select: () => null })
      const p = problem(await get(s, '/user'))
      expect(p.missing[0]!.reason).to.equal('declined')
    })
  })
})
