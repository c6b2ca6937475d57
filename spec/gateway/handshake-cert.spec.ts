import { expect } from 'chai'
import http2 from 'node:http2'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { AccessLogEntry, Gateway } from '../../lib/gateway/gateway.js'
import { createTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { connect } from '../../lib/client.js'
import { fetchH2, gatewayPki, header, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'

describe('gateway: RFC 9440 Client-Cert for the TLS handshake certificate, and untrusted identities', function () {
  this.timeout(60000)
  let pki: TestPki
  let stranger: TestPki
  let backend: Backend
  let gw: Gateway
  let url: string
  const log: AccessLogEntry[] = []
  const sessions: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await gatewayPki()
    stranger = await createTestPki({ keyType: 'p256' })
    backend = await startBackend()
    gw = createGateway({
      cert: pki.server.chainPem,
      key: pki.server.keyPem,
      ca: pki.caPem,
      handshakeClientCert: true,
      routes: [
        { prefix: '/open', upstream: backend.url, public: true },
        { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
      ],
      limits: { identityTimeoutMs: 3000 },
    })
    gw.on('access', (e: AccessLogEntry) => log.push(e))
    url = `https://127.0.0.1:${(await gw.listen()).port}`
  })
  after(async () => {
    for (const s of sessions) s.destroy()
    await gw.close({ timeoutMs: 300 })
    await backend.stop()
  })

  it('forwards a trusted handshake certificate as Client-Cert and its chain as Client-Cert-Chain', async () => {
    const s = http2.connect(url, { ca: pki.caPem, cert: pki.user.chainPem, key: pki.user.keyPem })
    s.on('error', () => {})
    sessions.push(s)
    const echo = JSON.parse((await fetchH2(s, '/open/mtls')).body.toString()) as Echo
    expect(Buffer.from(echo.client_cert!, 'base64').equals(Buffer.from(pki.user.certDer))).to.equal(true)
    expect(header(echo, 'client-cert-chain')).to.deep.equal([`:${Buffer.from(pki.intermediate.certDer).toString('base64')}:`])
  })

  it('never forwards a handshake certificate the policy rejects', async () => {
    const s = http2.connect(url, { ca: pki.caPem, cert: stranger.user.chainPem, key: stranger.user.keyPem })
    s.on('error', () => {})
    sessions.push(s)
    const echo = JSON.parse((await fetchH2(s, '/open/mtls')).body.toString()) as Echo
    expect(echo.client_cert).to.equal(undefined)
    expect(header(echo, 'client-cert')).to.deep.equal([])
  })

  it('answers 403 and forwards nothing when the secondary identities chain to another CA; counts them untrusted', async () => {
    const s = connect(url, {
      ca: pki.caPem,
      secondaryCerts: {
        credentials: [
          { label: 'device', cert: stranger.device.chainPem, key: stranger.device.keyPem },
          { label: 'user', cert: stranger.user.chainPem, key: stranger.user.keyPem },
        ],
        // Present them even though they do not match the request's certificate_authorities.
        select: (info, creds) => creds.find((c) => !info.alreadyPresented.includes(c.label)) ?? null,
      },
    })
    s.on('error', () => {})
    sessions.push(s)
    const before = log.length
    const r = await fetchH2(s, '/protected')
    expect(r.status).to.equal(403)
    const body = JSON.parse(r.body.toString()) as { missing: { label: string; reason: string }[] }
    expect(body.missing.map((m) => m.label).sort()).to.deep.equal(['device', 'user'])
    expect(body.missing.every((m) => m.reason !== 'declined')).to.equal(true)
    const entry = log.slice(before).find((e) => e.path === '/protected')!
    expect(entry.upstreamMs).to.equal(null)
    expect(entry.identities).to.deep.equal([])
    const text = await gw.metrics.registry.metrics()
    expect(text).to.match(/h2sc_gateway_identities_total\{label="user",outcome="untrusted"\} 1/)
    // Both answers validated as authenticators (RFC 9261) before the trust decision rejected them.
    expect(text).to.match(/h2sc_gateway_identities_total\{label="user",outcome="validated"\} 1/)
  })
})
