/**
 * undici fetch through SecondaryCertsAgent against our server over real TLS 1.3 on 127.0.0.1:
 * identities on demand, route protection, declines, timeouts, large bodies, aborts, violations
 * from a raw misbehaving server, connection reuse for other origins, a CONNECT proxy.
 */
import { expect } from 'chai'
import { createHash } from 'node:crypto'
import type http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import { fetch } from 'undici'
import { createSecureServer, sessionCerts, identitiesOf } from '../../lib/server.js'
import { SecondaryCertsAgent } from '../../lib/fetch/agent.js'
import type { SecondaryCertsAgentOptions } from '../../lib/fetch/agent.js'
import type { ServerCertificateEvent } from '../../lib/binding/attach-client.js'
import { requireIdentities } from '../../lib/binding/require-identities.js'
import { createCertificatePolicy } from '../../lib/policy/certificate-policy.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { purposeRequest } from '../../lib/cli/roles.js'
import { testPki } from '../support/pki.js'
import { startConnectProxy } from '../support/connect-proxy.js'
import { closeServer, listen, trackSessions } from '../../interop/support/h2.js'
import { Ext, encodeGoaway, encodeRequestList, extensionSettings, listenRaw } from '../../lib/conformance/raw-peer.js'
import type { RawServer } from '../../lib/conformance/raw-peer.js'

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void | Promise<void>

/** The error a rejected fetch carries as `cause`, with its code. */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await p
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause
    return (cause ?? e) as Error & { code?: string }
  }
  throw new Error('fetch did not reject')
}

describe('fetch/agent: undici fetch through SecondaryCertsAgent', function () {
  this.timeout(15000)
  let pki: TestPki
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  let tlsConnections: number
  let port: number
  const agents: SecondaryCertsAgent[] = []
  const closers: (() => Promise<void> | void)[] = []

  before(async () => {
    pki = await testPki('p256')
  })

  afterEach(async () => {
    for (const a of agents.splice(0)) await a.destroy()
    for (const c of closers.splice(0)) await c()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  async function start(handler: Handler, options: { originFrame?: boolean; secondary?: boolean; sni?: boolean } = {}): Promise<void> {
    const other = tls.createSecureContext({ key: pki.origin2.keyPem, cert: pki.origin2.chainPem })
    server = createSecureServer(
      {
        key: pki.server.keyPem,
        cert: pki.server.chainPem,
        // A connection made for other.localhost gets its certificate (RFC 6066 §3 SNI).
        ...(options.sni ? { SNICallback: (name: string, cb: (e: Error | null, c?: tls.SecureContext) => void) => cb(null, name === 'other.localhost' ? other : undefined) } : {}),
        // The test PKI's CA is the server's trust anchor (issue 10: only trusted identities count).
        secondaryCerts: {
          trust: { anchors: [pki.caPem], preset: 'frank' },
          ...(options.secondary ? { serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }] } : {}),
        },
      },
      (req, res) => void handler(req, res),
    )
    sessions = trackSessions(server)
    tlsConnections = 0
    server.on('connection', () => tlsConnections++)
    // RFC 8336: the server lists the origin of its secondary certificate in an ORIGIN frame.
    if (options.originFrame) server.on('session', (s: http2.ServerHttp2Session) => s.origin(`https://other.localhost:${port}`))
    port = await listen(server)
  }

  function agent(options: SecondaryCertsAgentOptions = {}): SecondaryCertsAgent {
    const a = new SecondaryCertsAgent({
      ca: pki.caPem,
      credentials: [
        { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
      ],
      ...options,
    })
    agents.push(a)
    return a
  }

  const whoami: Handler = async (req, res) => {
    const out = await sessionCerts(req)!.requestIdentities([purposeRequest('device', pki.caPem), purposeRequest('user', pki.caPem)], { timeoutMs: 3000 })
    res.end(JSON.stringify(out.map((o) => (o.kind === 'identity' ? o.label : 'declined'))))
  }

  it('presents device and user identities when the server asks, with no session code', async () => {
    await start(whoami)
    const dispatcher = agent()
    const r = await fetch(`https://127.0.0.1:${port}/whoami`, { dispatcher })
    expect(r.status).to.equal(200)
    expect(await r.json()).to.deep.equal(['device', 'user'])
    const conn = dispatcher.connections[0]!
    expect(conn.certs.answers.map((a) => a.label)).to.deep.equal(['device', 'user'])
  })

  it('keeps one connection for many requests; identities stay on it', async () => {
    await start(async (req, res) => {
      if (req.url === '/login') await sessionCerts(req)!.requestIdentities([purposeRequest('user', pki.caPem)])
      res.end(identitiesOf(req).map((i) => i.label).join(','))
    })
    const dispatcher = agent()
    expect(await (await fetch(`https://127.0.0.1:${port}/login`, { dispatcher })).text()).to.equal('user')
    const again = await Promise.all([1, 2, 3].map(async (i) => (await fetch(`https://127.0.0.1:${port}/after/${i}`, { dispatcher })).text()))
    expect(again).to.deep.equal(['user', 'user', 'user'])
    expect(tlsConnections).to.equal(1)
  })

  it('reaches a protected route: 200 with both identities, 403 problem+json with one declined', async () => {
    const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' })
    const guard = requireIdentities({ needs: [{ label: 'device' }, { label: 'user' }], policy, requestAnchors: [pki.caPem], timeoutMs: 3000 })
    await start(async (req, res) => {
      if (!(await guard(req, res))) return
      res.end('welcome')
    })
    const full = await fetch(`https://127.0.0.1:${port}/protected`, { dispatcher: agent() })
    expect(full.status).to.equal(200)
    expect(await full.text()).to.equal('welcome')
    const userOnly = agent({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], secondaryCerts: { credentialLimit: 2 } })
    const denied = await fetch(`https://127.0.0.1:${port}/protected`, { dispatcher: userOnly })
    expect(denied.status).to.equal(403)
    expect(denied.headers.get('content-type')).to.equal('application/problem+json')
    const body = (await denied.json()) as { missing: { label: string; reason: string }[] }
    expect(body.missing.map((m) => [m.label, m.reason])).to.deep.equal([['device', 'declined']])
  })

  it('declines with empty authenticators when the selector says no', async () => {
    await start(whoami)
    const r = await fetch(`https://127.0.0.1:${port}/whoami`, { dispatcher: agent({ select: () => null }) })
    expect(await r.json()).to.deep.equal(['declined', 'declined'])
  })

  it('server-side timeout: a selector slower than the server waits gets the server answer, not a hang', async () => {
    await start(async (req, res) => {
      try {
        await sessionCerts(req)!.requestIdentities([purposeRequest('user', pki.caPem)], { timeoutMs: 200 })
        res.end('answered')
      } catch (e) {
        res.writeHead(504)
        res.end(String((e as { code?: string }).code))
      }
    })
    const slow = agent({ select: (_info, creds) => new Promise((resolve) => setTimeout(() => resolve(creds[1] ?? null), 800)) })
    const r = await fetch(`https://127.0.0.1:${port}/slow`, { dispatcher: slow })
    expect(r.status).to.equal(504)
    expect(await r.text()).to.equal('ERR_SC_TIMEOUT')
  })

  it('client-side headers timeout rejects the fetch with undici HeadersTimeoutError', async () => {
    await start(() => {})
    const dispatcher = agent({ client: { headersTimeout: 300 } })
    const cause = await rejection(fetch(`https://127.0.0.1:${port}/never`, { dispatcher }))
    expect(cause.code).to.equal('UND_ERR_HEADERS_TIMEOUT')
  })

  it('carries large bodies both ways (1 MiB up, 4 MiB down) after authenticating', async () => {
    await start(async (req, res) => {
      await sessionCerts(req)!.requestIdentities([purposeRequest('device', pki.caPem)])
      const h = createHash('sha256')
      let n = 0
      for await (const c of req) {
        h.update(c as Buffer)
        n += (c as Buffer).length
      }
      res.setHeader('x-upload', `${n}:${h.digest('hex')}`)
      res.end(Buffer.alloc(4 * 1024 * 1024, 0x61))
    })
    const up = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < up.length; i++) up[i] = i % 251
    const r = await fetch(`https://127.0.0.1:${port}/upload`, { method: 'POST', body: up, dispatcher: agent() })
    expect(r.headers.get('x-upload')).to.equal(`${up.length}:${createHash('sha256').update(up).digest('hex')}`)
    const down = Buffer.from(await r.arrayBuffer())
    expect(down.length).to.equal(4 * 1024 * 1024)
    expect(down.every((b) => b === 0x61)).to.equal(true)
  })

  it('aborts a request with an AbortSignal; the connection serves the next request', async () => {
    await start(async (req, res) => {
      if (req.url === '/hang') {
        res.write('partial')
        return
      }
      res.end('ok')
    })
    const dispatcher = agent()
    const ac = new AbortController()
    const r = await fetch(`https://127.0.0.1:${port}/hang`, { dispatcher, signal: ac.signal })
    const reading = r.text()
    ac.abort()
    const err = await rejection(reading)
    expect(err.name).to.equal('AbortError')
    expect(await (await fetch(`https://127.0.0.1:${port}/next`, { dispatcher })).text()).to.equal('ok')
    expect(tlsConnections).to.equal(1)
  })

  it('close() lets an in-flight request finish and refuses new ones; destroy() fails in-flight ones', async () => {
    let release: (() => void) | undefined
    await start(async (req, res) => {
      if (req.url === '/slow') await new Promise<void>((resolve) => (release = resolve))
      res.end('done')
    })
    const a = agent()
    const slow = fetch(`https://127.0.0.1:${port}/slow`, { dispatcher: a })
    while (!release) await new Promise((r) => setTimeout(r, 10))
    const closed = a.close()
    expect((await rejection(fetch(`https://127.0.0.1:${port}/after`, { dispatcher: a }))).code).to.equal('UND_ERR_CLOSED')
    release()
    expect(await (await slow).text()).to.equal('done')
    await closed
    const b = agent()
    release = undefined
    const failed = rejection(fetch(`https://127.0.0.1:${port}/slow`, { dispatcher: b }))
    while (!release) await new Promise((r) => setTimeout(r, 10))
    await b.destroy()
    expect((await failed).code).to.equal('UND_ERR_DESTROYED')
    ;(release as () => void)()
  })

  it('follows redirects across paths of the same origin', async () => {
    await start(async (req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new' })
        res.end()
        return
      }
      await whoami(req, res)
    })
    const r = await fetch(`https://127.0.0.1:${port}/old`, { dispatcher: agent() })
    expect(r.redirected).to.equal(true)
    expect(await r.json()).to.deep.equal(['device', 'user'])
  })

  it('a violation by a raw server rejects the fetch with the typed ProtocolError as cause', async () => {
    const rs: RawServer = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, settings: extensionSettings(1), autoRespond: false })
    closers.push(() => rs.close())
    const dispatcher = agent()
    const pending = fetch(`https://127.0.0.1:${rs.port}/x`, { dispatcher })
    const peer = await rs.peer(0)
    await peer.waitForSettings()
    // CLIENT -00 §4.1.1: AUTHENTICATOR_REQUESTS on a non-zero stream is a connection error.
    peer.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 1, encodeRequestList([peer.ea().request()]))
    const cause = await rejection(pending)
    expect(cause.code).to.equal('ERR_SC_PROTOCOL')
    expect((cause as unknown as { http2Code: number }).http2Code).to.equal(0x1)
    expect((cause as unknown as { violation: string }).violation).to.equal('authenticator-requests-on-stream')
    // RFC 9113 §5.4.1: GOAWAY with the code, then the connection closes.
    expect((await peer.waitForGoaway(2000)).code).to.equal(0x1)
    expect(await peer.waitForClose(2000)).to.equal(true)
  })

  it("a server's GOAWAY after our CLIENT_CERTIFICATE rejects the fetch with a remote ProtocolError", async () => {
    const rs: RawServer = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, settings: extensionSettings(1), autoRespond: false })
    closers.push(() => rs.close())
    const pending = fetch(`https://127.0.0.1:${rs.port}/x`, { dispatcher: agent() })
    const peer = await rs.peer(0)
    await peer.waitForSettings()
    peer.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([peer.ea().request()]))
    await peer.waitFor((f) => f.type === Ext.CLIENT_CERTIFICATE, 3000, 'CLIENT_CERTIFICATE')
    // CLIENT -00 §4.2.1: the server may end the connection over an authenticator it rejects.
    peer.write(encodeGoaway(0, 0x1))
    const cause = await rejection(pending)
    expect(cause.code).to.equal('ERR_SC_PROTOCOL')
    expect((cause as unknown as { remote: boolean }).remote).to.equal(true)
    expect((cause as unknown as { http2Code: number }).http2Code).to.equal(0x1)
  })

  it('advertises both settings in its first SETTINGS frame (nghttp2 does not know them)', async () => {
    const rs: RawServer = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, settings: extensionSettings(1) })
    closers.push(() => rs.close())
    const r = await fetch(`https://127.0.0.1:${rs.port}/x`, { dispatcher: agent() })
    expect(r.status).to.equal(200)
    const peer = await rs.peer(0)
    const first = peer.peerSettings[0]!
    expect(first).to.deep.include.members([
      [Ext.SETTINGS_HTTP_CLIENT_CERT_AUTH, 2],
      [Ext.SETTINGS_HTTP_SERVER_CERT_AUTH, 1],
    ])
  })

  it('goes through an HTTP CONNECT proxy given as connect (the tunnel is wrapped, not replaced)', async () => {
    await start(whoami)
    const proxy = await startConnectProxy()
    closers.push(() => proxy.close())
    const dispatcher = agent({ connect: (t) => proxy.tunnel(t.hostname, t.port) })
    const r = await fetch(`https://localhost:${port}/whoami`, { dispatcher })
    expect(await r.json()).to.deep.equal(['device', 'user'])
    expect(proxy.tunnels).to.deep.equal([`localhost:${port}`])
  })

  it("Node's global fetch (its bundled undici) accepts the agent", async () => {
    await start(whoami)
    const r = await globalThis.fetch(`https://127.0.0.1:${port}/whoami`, { dispatcher: agent() } as unknown as RequestInit)
    expect(await r.json()).to.deep.equal(['device', 'user'])
  })

  it('the README fetch snippet runs as written (device + user)', async () => {
    const setup = await import('../../examples/readme/setup.js')
    const { readmeFetch } = await import('../../examples/readme/fetch.js')
    server = createSecureServer({ key: setup.key, cert: setup.cert, secondaryCerts: { trust: { anchors: [setup.caPem], preset: 'frank' } } }, async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([purposeRequest('device', setup.caPem), purposeRequest('user', setup.caPem)])
      res.end(out.map((o) => o.kind).join(','))
    })
    sessions = trackSessions(server)
    port = await listen(server)
    const r = await readmeFetch(`https://127.0.0.1:${port}`)
    agents.push(r.dispatcher)
    expect([r.status, r.body]).to.deep.equal([200, 'identity,identity'])
  })

  describe('connection reuse for origins proved by SERVER_CERTIFICATE (SERVER -02 §3.2, §7.1)', () => {
    const other = (): string => `https://other.localhost:${port}/who`
    const authorityEcho: Handler = (req, res) => void res.end(`${String(req.headers[':authority'])} ${req.socket.remotePort}`)

    /** An agent that connects every name to 127.0.0.1 and resolves names by a table. */
    function coalescingAgent(dnsTable: Record<string, string[]>, more: SecondaryCertsAgentOptions = {}) {
      const accepted: ServerCertificateEvent[] = []
      let notify: (() => void) | undefined
      const a = agent({
        connect: (t) => net.connect(t.port, '127.0.0.1'),
        coalescing: { lookup: async (h) => dnsTable[h] ?? [], ...((more.coalescing || {}) as object) },
        onServerCertificate: (ev) => {
          accepted.push(ev)
          notify?.()
        },
        ...(more.coalescing === false ? { coalescing: false } : {}),
        ...(more.client ? { client: more.client } : {}),
      })
      const certificate = (): Promise<void> =>
        accepted.some((e) => e.accepted) ? Promise.resolve() : new Promise<void>((resolve) => (notify = resolve))
      return { a, certificate, accepted }
    }

    it('with the ORIGIN frame listing it: the request goes over the same connection with its :authority', async () => {
      await start(authorityEcho, { secondary: true, originFrame: true })
      const { a, certificate } = coalescingAgent({})
      const first = await (await fetch(`https://localhost:${port}/who`, { dispatcher: a })).text()
      await certificate()
      await originSetOf(a)
      const second = await (await fetch(other(), { dispatcher: a })).text()
      expect(second.split(' ')[0]).to.equal(`other.localhost:${port}`)
      expect(second.split(' ')[1]).to.equal(first.split(' ')[1])
      expect(tlsConnections).to.equal(1)
    })

    it('with the server announcing its secondary origins itself (announceOrigins)', async () => {
      server = createSecureServer(
        {
          key: pki.server.keyPem,
          cert: pki.server.chainPem,
          secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' }, serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }], announceOrigins: true },
        },
        (req, res) => void authorityEcho(req, res),
      )
      sessions = trackSessions(server)
      tlsConnections = 0
      server.on('connection', () => tlsConnections++)
      port = await listen(server)
      const { a, certificate } = coalescingAgent({})
      const first = await (await fetch(`https://localhost:${port}/who`, { dispatcher: a })).text()
      await certificate()
      await originSetOf(a)
      expect([...a.connections[0]!.originSet!]).to.deep.equal([`https://localhost:${port}`, `https://other.localhost:${port}`])
      const second = await (await fetch(other(), { dispatcher: a })).text()
      expect(second).to.equal(`other.localhost:${port} ${first.split(' ')[1]}`)
      expect(tlsConnections).to.equal(1)
    })

    it('without ORIGIN, when DNS for the host includes the connected address', async () => {
      await start(authorityEcho, { secondary: true })
      const { a, certificate } = coalescingAgent({ 'other.localhost': ['127.0.0.1'] })
      const first = await (await fetch(`https://localhost:${port}/who`, { dispatcher: a })).text()
      await certificate()
      const second = await (await fetch(other(), { dispatcher: a })).text()
      expect(second).to.equal(`other.localhost:${port} ${first.split(' ')[1]}`)
      expect(tlsConnections).to.equal(1)
    })

    it('without ORIGIN and with DNS elsewhere: a new connection, never the proved one', async () => {
      await start(authorityEcho, { secondary: true })
      const { a, certificate } = coalescingAgent({ 'other.localhost': ['192.0.2.7'] })
      await fetch(`https://localhost:${port}/who`, { dispatcher: a })
      await certificate()
      // The new connection asks for other.localhost by SNI; this server only has the localhost
      // certificate, so the TLS check fails: proof the request did not go over the first one.
      const cause = await rejection(fetch(other(), { dispatcher: a }))
      expect(cause.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID')
      expect(tlsConnections).to.equal(2)
    })

    it('never for a host no accepted certificate covers, whatever DNS says', async () => {
      await start(authorityEcho, { secondary: true })
      const { a, certificate } = coalescingAgent({ 'evil.localhost': ['127.0.0.1'] })
      await fetch(`https://localhost:${port}/who`, { dispatcher: a })
      await certificate()
      const cause = await rejection(fetch(`https://evil.localhost:${port}/who`, { dispatcher: a }))
      expect(cause.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID')
      expect(tlsConnections).to.equal(2)
    })

    it('with coalescing off: a new connection even when DNS matches', async () => {
      await start(authorityEcho, { secondary: true })
      const { a, certificate } = coalescingAgent({ 'other.localhost': ['127.0.0.1'] }, { coalescing: false })
      await fetch(`https://localhost:${port}/who`, { dispatcher: a })
      await certificate()
      const cause = await rejection(fetch(other(), { dispatcher: a }))
      expect(cause.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID')
      expect(tlsConnections).to.equal(2)
    })

    it('retries a 421 (Misdirected Request) over a connection of the origin\'s own (RFC 9113 §9.1.2)', async () => {
      // This server serves other.localhost only on connections made for it (by SNI).
      await start(
        (req, res) => {
          const host = String(req.headers[':authority']).split(':')[0]
          const sni = (req.socket as unknown as tls.TLSSocket).servername
          if (host !== sni) return void res.writeHead(421).end('misdirected')
          res.end(`${host} ${req.socket.remotePort}`)
        },
        { secondary: true, sni: true },
      )
      const { a, certificate } = coalescingAgent({ 'other.localhost': ['127.0.0.1'] })
      const first = await (await fetch(`https://localhost:${port}/who`, { dispatcher: a })).text()
      await certificate()
      const r = await fetch(other(), { dispatcher: a })
      expect(r.status).to.equal(200)
      const [host, remotePort] = (await r.text()).split(' ')
      expect(host).to.equal('other.localhost')
      expect(remotePort).to.not.equal(first.split(' ')[1])
      expect(tlsConnections).to.equal(2)
      // The origin now has a connection of its own: later requests use it directly.
      expect((await (await fetch(other(), { dispatcher: a })).text()).split(' ')[1]).to.equal(remotePort)
      expect(tlsConnections).to.equal(2)
    })

    it('forgets the origins when the connection closes (never assumed co-located later)', async () => {
      await start(authorityEcho, { secondary: true })
      const { a, certificate } = coalescingAgent({ 'other.localhost': ['127.0.0.1'] })
      await fetch(`https://localhost:${port}/who`, { dispatcher: a })
      await certificate()
      const conn = a.connections[0]!
      for (const s of sessions) s.destroy()
      await new Promise<void>((resolve) => (conn.closed ? resolve() : conn.once('close', () => resolve())))
      expect(a.connections).to.have.length(0)
      const cause = await rejection(fetch(other(), { dispatcher: a }))
      expect(cause.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID')
    })

    async function originSetOf(a: SecondaryCertsAgent): Promise<void> {
      const conn = a.connections[0]!
      if (conn.originSet) return
      await new Promise<void>((resolve) => conn.once('origin', () => resolve()))
    }
  })
})
