import { expect } from 'chai'
import http2 from 'node:http2'
import { createSecureServer, sessionCerts, identitiesOf } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ServerCertificateEvent } from '../../lib/client.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'
import { purposeRequest } from '../../lib/cli/roles.js'

describe('integration: device + user identities over real TLS 1.3 and node:http2', function () {
  this.timeout(20000)
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let port: number
  const clients: http2.ClientHttp2Session[] = []

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
  })

  async function start(handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void, ext: Parameters<typeof createSecureServer>[0]['secondaryCerts'] = {}) {
    const pki = await testPki('p256')
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' }, ...ext } }, handler)
    sessions = trackSessions(server)
    port = await listen(server)
    return pki
  }

  async function client(opts: Parameters<typeof connect>[1] = {}) {
    const pki = await testPki('p256')
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', ...opts })
    clients.push(s)
    await connected(s)
    return s
  }

  it('asks for a device and a user identity and gets both, in order', async () => {
    const pki = await start(async (req, res) => {
      const ctl = sessionCerts(req)!
      const out = await ctl.requestIdentities([purposeRequest('device', pki.caPem), purposeRequest('user', pki.caPem)])
      res.end(JSON.stringify(out.map((o) => (o.kind === 'identity' ? [o.label, o.identity.subject] : [o.label, 'declined']))))
    })
    // Credentials listed user first: the default selector must still pick by oid_filters.
    const s = await client({
      secondaryCerts: {
        credentials: [
          { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
          { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        ],
      },
    })
    const r = await get(s, '/whoami')
    expect(r.status).to.equal(200)
    const got = JSON.parse(r.body) as [string, string][]
    expect(got.map((x) => x[0])).to.deep.equal(['device', 'user'])
    expect(got[0]![1]).to.match(/device/i)
    expect(got[1]![1]).to.match(/user/i)
    const answers = clientCerts(s)!.answers.map((a) => a.label)
    expect(answers).to.deep.equal(['device', 'user'])
  })

  it('reports a declined request when the client has no matching credential', async () => {
    const pki = await start(async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([purposeRequest('device', pki.caPem), purposeRequest('user', pki.caPem)])
      res.end(out.map((o) => o.kind).join(','))
    })
    const s = await client({ secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], credentialLimit: 2 } })
    const r = await get(s, '/')
    expect(r.body).to.equal('declined,identity')
  })

  it('makes identities visible from every stream of the session and from no other session', async () => {
    const pki = await start(async (req, res) => {
      if (req.url === '/login') await sessionCerts(req)!.requestIdentities([purposeRequest('user', pki.caPem)])
      res.end(String(identitiesOf(req).length))
    })
    const creds = { secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] } }
    const a = await client(creds)
    const b = await client(creds)
    expect((await get(a, '/login')).body).to.equal('1')
    expect((await get(a, '/other')).body).to.equal('1')
    expect((await get(b, '/other')).body).to.equal('0')
  })

  it('queues requests beyond the client limit and still answers all of them in order', async () => {
    const pki = await start(async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([
        purposeRequest('user', pki.caPem),
        purposeRequest('device', pki.caPem),
        purposeRequest('user2', pki.caPem),
      ])
      res.end(out.map((o) => o.kind).join(','))
    })
    const s = await client({
      secondaryCerts: {
        credentialLimit: 1,
        credentials: [
          { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
          { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        ],
      },
    })
    const r = await get(s, '/')
    expect(r.body).to.equal('identity,identity,identity')
    const frames = clientCerts(s)!.frameLog.filter((f) => f.dir === 'in' && f.type === 0xf9)
    expect(frames.length).to.equal(3)
  })

  it('times out cleanly when the client does not speak the extension', async () => {
    const pki = await start(async (req, res) => {
      const ctl = sessionCerts(req)
      res.end(ctl ? 'extension' : 'plain')
    })
    const plain = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
    clients.push(plain)
    const r = await get(plain, '/')
    expect(r.body).to.equal('plain')
  })

  /** Handler: `/later` lists the connection's identity labels; any other path asks for 'user'. */
  const askUserWithin = (timeoutMs: number) => async (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> => {
    if (req.url === '/later') {
      res.end(String(identitiesOf(req).map((i) => i.label)))
      return
    }
    try {
      await sessionCerts(req)!.requestIdentities([{ label: 'user' }], { timeoutMs })
      res.end('answered')
    } catch (e) {
      res.end((e as { code?: string }).code ?? 'error')
    }
  }

  it('rejects requestIdentities with ERR_SC_TIMEOUT when answers do not come', async () => {
    const pki = await start(askUserWithin(300))
    const s = await client({
      secondaryCerts: {
        credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }],
        select: () => new Promise(() => {}),
      },
    })
    expect((await get(s, '/')).body).to.equal('ERR_SC_TIMEOUT')
  })

  it('still validates an answer that arrives after the timeout and adds its identity to the connection', async () => {
    const pki = await start(askUserWithin(200))
    const s = await client({
      secondaryCerts: {
        credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }],
        // Answers 500 ms after the request: well after the server's 200 ms timeout.
        select: (_info, creds) => new Promise((resolve) => setTimeout(() => resolve(creds[0] ?? null), 500)),
      },
    })
    expect((await get(s, '/')).body).to.equal('ERR_SC_TIMEOUT')
    expect((await get(s, '/later')).body).to.equal('')
    await new Promise<void>((resolve) => clientCerts(s)!.once('answer', () => resolve()))
    // The answer is on the wire; give the server a moment to validate it.
    let seen = ''
    for (let i = 0; i < 40 && seen === ''; i++) {
      await new Promise((r) => setTimeout(r, 25))
      seen = (await get(s, '/later')).body
    }
    expect(seen).to.equal('user')
    expect(s.destroyed).to.equal(false)
  })

  it('sends configured secondary server certificates and the client accepts the extra origin', async () => {
    const pki = await testPki('p256')
    await start((req, res) => res.end(String(req.headers[':authority'])), {
      serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }],
    })
    const s = await client()
    const ev = await new Promise<ServerCertificateEvent>((resolve) => clientCerts(s)!.once('serverCertificate', resolve))
    expect(ev.accepted).to.equal(true)
    expect(ev.origins).to.include('other.localhost')
    expect(clientCerts(s)!.hasOrigin('other.localhost')).to.equal(true)
    const r = await get(s, '/', { ':authority': 'other.localhost' })
    expect(r.body).to.equal('other.localhost')
  })

  it('does not accept a secondary server certificate from an untrusted CA, without closing', async () => {
    const pki = await testPki('p256')
    const other = await testPki('p384')
    await start((_req, res) => res.end('ok'), { serverCertificates: [{ cert: other.origin2.chainPem, key: other.origin2.keyPem }] })
    const s = await client()
    const ev = await new Promise<ServerCertificateEvent>((resolve) => clientCerts(s)!.once('serverCertificate', resolve))
    expect(ev.accepted).to.equal(false)
    expect(clientCerts(s)!.hasOrigin('other.localhost')).to.equal(false)
    expect((await get(s, '/')).body).to.equal('ok')
    void pki
  })
})
