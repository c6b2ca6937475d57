/**
 * `connect()` composes with the caller's transport (issue 12 item 3): a `createConnection` that
 * returns an HTTP CONNECT tunnel gets TLS on top and the interposer around it; one that returns
 * a TLS socket the caller made is used as is. Either way the extension runs (device + user).
 */
import { expect } from 'chai'
import type http2 from 'node:http2'
import tls from 'node:tls'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { purposeRequest } from '../../lib/cli/roles.js'
import { testPki } from '../support/pki.js'
import { startConnectProxy } from '../support/connect-proxy.js'
import type { ConnectProxy } from '../support/connect-proxy.js'
import { closeServer, get, listen, trackSessions } from '../../interop/support/h2.js'

describe('integration: connect() over a caller-made transport (HTTP CONNECT proxy)', function () {
  this.timeout(15000)
  let pki: TestPki
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let port: number
  let proxy: ConnectProxy
  const clients: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await testPki('p256')
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' } } }, async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([purposeRequest('device', pki.caPem), purposeRequest('user', pki.caPem)])
      res.end(out.map((o) => o.kind).join(','))
    })
    sessions = trackSessions(server)
    port = await listen(server)
    proxy = await startConnectProxy()
  })

  after(async () => {
    for (const c of clients) if (!c.destroyed) c.destroy()
    await proxy.close()
    await closeServer(server, sessions)
  })

  const credentials = () => [
    { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
    { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
  ]

  it('runs TLS and the extension over a tunnel socket returned by createConnection', async () => {
    const tunnel = await proxy.tunnel('localhost', port)
    const s = connect(`https://localhost:${port}`, { ca: pki.caPem, createConnection: () => tunnel, secondaryCerts: { credentials: credentials() } })
    clients.push(s)
    const r = await get(s, '/whoami')
    expect([r.status, r.body]).to.deep.equal([200, 'identity,identity'])
    expect(clientCerts(s)!.answers.map((a) => a.label)).to.deep.equal(['device', 'user'])
    expect(proxy.tunnels).to.include(`localhost:${port}`)
  })

  it('uses a TLS socket the caller made (over the tunnel) as is', async () => {
    const tunnel = await proxy.tunnel('localhost', port)
    const own = tls.connect({ socket: tunnel, servername: 'localhost', ca: pki.caPem, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3' })
    const s = connect(`https://localhost:${port}`, { createConnection: () => own, secondaryCerts: { credentials: credentials() } })
    clients.push(s)
    const r = await get(s, '/whoami')
    expect([r.status, r.body]).to.deep.equal([200, 'identity,identity'])
    expect((s.socket as unknown as { getPeerCertificate(): { subject: { CN: string } } }).getPeerCertificate().subject.CN).to.equal('localhost')
  })
})
