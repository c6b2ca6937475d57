/**
 * Trust decided once, visibly (issue 10 item 1): the server's `trust` option decides every
 * validated identity; untrusted ones never come back as `identity` outcomes, from `identitiesOf`
 * or from Fastify's `secondaryIdentities`; a server without anchors says so when it starts.
 * Real TLS 1.3 + node:http2 on 127.0.0.1; the "stranger" holds certificates from a second test
 * PKI the server never configured.
 */
import { expect } from 'chai'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { createSecureServer, identitiesOf, sessionCerts } from '../../lib/server.js'
import type { IdentityOutcome, ServerExtensionOptions } from '../../lib/server.js'
import { clientCerts } from '../../lib/client.js'
import { fastifySecondaryCerts } from '../../lib/fastify.js'
import { requireIdentities } from '../../lib/binding/require-identities.js'
import type { UntrustedIdentityEvent } from '../../lib/binding/events.js'
import { createCertificatePolicy, ekuOidFilter } from '../../lib/policy/certificate-policy.js'
import { EKU, issueCertificate } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { extensionClient, h2Request } from './bad-input/clients.js'

interface Report {
  outcomes: { label: string; kind: string; reason?: string; trusted?: boolean; roles?: string[] }[]
  trusted: string[]
  all: string[]
}

describe('integration: trust decided once, visibly (issue 10)', function () {
  this.timeout(15000)
  let pki: TestPki
  let stranger: TestPki
  const closers: (() => Promise<void>)[] = []
  const clients: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await testPki('p256')
    stranger = await testPki('p384')
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    for (const close of closers.splice(0)) await close()
  })

  /** A server whose `/` asks for device + user and reports outcomes and identitiesOf. */
  async function start(ext: ServerExtensionOptions): Promise<{ port: number; server: http2.Http2SecureServer; untrusted: UntrustedIdentityEvent[] }> {
    const untrusted: UntrustedIdentityEvent[] = []
    const server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: ext }, async (req, res) => {
      const certs = sessionCerts(req)!
      certs.on('untrusted', (ev) => untrusted.push(ev))
      const out: IdentityOutcome[] = await certs.requestIdentities([{ label: 'device' }, { label: 'user' }])
      const report: Report = {
        outcomes: out.map((o) =>
          o.kind === 'declined'
            ? { label: o.label, kind: o.kind }
            : { label: o.label, kind: o.kind, trusted: o.identity.trusted, roles: [...o.identity.roles], ...(o.kind === 'untrusted' ? { reason: o.reason } : {}) },
        ),
        trusted: identitiesOf(req).map((i) => i.label),
        all: identitiesOf(req, { includeUntrusted: true }).map((i) => i.label),
      }
      res.end(JSON.stringify(report))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    return { port: (server.address() as AddressInfo).port, server, untrusted }
  }

  async function ask(port: number, holder: TestPki): Promise<Report> {
    const c = extensionClient(port, holder, {}, pki.caPem)
    clients.push(c)
    const r = await h2Request(c, '/')
    expect(r.status, r.body).to.equal(200)
    return JSON.parse(r.body) as Report
  }

  it('reports identities from the configured CA as trusted, with their roles', async () => {
    const { port } = await start({ trust: { anchors: [pki.caPem], preset: 'frank' } })
    const r = await ask(port, pki)
    expect(r.outcomes).to.deep.equal([
      { label: 'device', kind: 'identity', trusted: true, roles: ['device'] },
      { label: 'user', kind: 'identity', trusted: true, roles: ['user'] },
    ])
    expect(r.trusted).to.deep.equal(['device', 'user'])
  })

  it('reports identities from an unknown CA as untrusted with the reason, never as identity', async () => {
    const { port, untrusted } = await start({ trust: { anchors: [pki.caPem], preset: 'frank' } })
    const r = await ask(port, stranger)
    expect(r.outcomes.map((o) => [o.kind, o.trusted, o.roles])).to.deep.equal([
      ['untrusted', false, []],
      ['untrusted', false, []],
    ])
    expect(r.outcomes[0]!.reason).to.be.a('string').and.not.equal('no-trust-anchors')
    // identitiesOf leaves them out unless asked; the event names the reason.
    expect(r.trusted).to.deep.equal([])
    expect(r.all).to.deep.equal(['device', 'user'])
    expect(untrusted.map((e) => e.label)).to.deep.equal(['device', 'user'])
  })

  it('decides by purpose: a clientAuth certificate answering the device request is not a device', async () => {
    const { port } = await start({ trust: { anchors: [pki.caPem], preset: 'frank' } })
    const userOnly = { ...pki, device: pki.user }
    const r = await ask(port, userOnly)
    expect(r.outcomes[0]).to.include({ label: 'device', kind: 'untrusted', reason: 'eku-purpose' })
  })

  it('accepts a policy function as trust', async () => {
    const { port } = await start({ trust: createCertificatePolicy({ anchors: [stranger.caPem], preset: 'frank' }) })
    expect((await ask(port, stranger)).trusted).to.deep.equal(['device', 'user'])
  })

  it('treats a throwing trust callback as untrusted (policy-error), without failing the request', async () => {
    const { port } = await start({
      trust: () => {
        throw new Error('boom')
      },
    })
    const r = await ask(port, pki)
    expect(r.outcomes.map((o) => o.reason)).to.deep.equal(['policy-error', 'policy-error'])
  })

  it('without trust anchors: nothing is trusted and the server says so once when it starts', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    try {
      const { port } = await start({})
      await new Promise((resolve) => setImmediate(resolve))
      const r = await ask(port, pki)
      expect(r.outcomes.map((o) => [o.kind, o.reason])).to.deep.equal([
        ['untrusted', 'no-trust-anchors'],
        ['untrusted', 'no-trust-anchors'],
      ])
      expect(r.trusted).to.deep.equal([])
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'SC_NO_TRUST_ANCHORS')
      expect(ours).to.have.length(1)
      expect(ours[0]!.message).to.match(/no trust anchors/)
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('a route guard without its own policy uses the server trust; with one, its own', async () => {
    const guardDefault = requireIdentities({ needs: [{ label: 'user' }], timeoutMs: 3000 })
    const guardStranger = requireIdentities({ needs: [{ label: 'user' }], policy: createCertificatePolicy({ anchors: [stranger.caPem], preset: 'frank' }), timeoutMs: 3000 })
    const server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' } } }, async (req, res) => {
      const guard = req.url === '/stranger' ? guardStranger : guardDefault
      if (!(await guard(req, res))) return
      res.end(`ok:${identitiesOf(req).map((i) => i.label).join(',')}`)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const good = extensionClient(port, pki)
    const bad = extensionClient(port, stranger, {}, pki.caPem)
    clients.push(good, bad)
    expect((await h2Request(good, '/')).body).to.equal('ok:user')
    const r = await h2Request(bad, '/')
    expect(r.status).to.equal(403)
    expect(JSON.parse(r.body).missing[0].reason).to.not.equal('not-presented')
    // The route's own policy trusts the stranger CA; the server's trust still does not.
    expect((await h2Request(bad, '/stranger')).body).to.equal('ok:')
  })

  it('a route guard with no policy on a server with no trust answers 403 no-trust-anchors without asking', async () => {
    const guard = requireIdentities({ needs: [{ label: 'user' }], timeoutMs: 3000 })
    const server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
      if (!(await guard(req, res))) return
      res.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const c = extensionClient((server.address() as AddressInfo).port, pki)
    clients.push(c)
    const asked: number[] = []
    clientCerts(c)!.on('request', (info) => asked.push(info.id))
    const r = await h2Request(c, '/')
    expect(r.status).to.equal(403)
    expect(JSON.parse(r.body).missing.map((m: { reason: string }) => m.reason)).to.deep.equal(['no-trust-anchors'])
    expect(asked).to.deep.equal([])
  })

  it("Fastify's secondaryIdentities holds trusted identities only", async () => {
    const app = Fastify({ http2: true, https: { key: pki.server.keyPem, cert: pki.server.chainPem } })
    await app.register(fastifySecondaryCerts, { policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }) })
    app.get('/ask', async (req) => {
      const out = await req.secondaryCerts!.requestIdentities([{ label: 'user', oidFilters: [ekuOidFilter('user')] }])
      return { kinds: out.map((o) => o.kind), identities: req.secondaryIdentities.map((i) => i.label) }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const port = (app.server.address() as AddressInfo).port
    const good = extensionClient(port, pki)
    const bad = extensionClient(port, stranger, {}, pki.caPem)
    clients.push(good, bad)
    expect(JSON.parse((await h2Request(good, '/ask')).body)).to.deep.equal({ kinds: ['identity'], identities: ['user'] })
    expect(JSON.parse((await h2Request(bad, '/ask')).body)).to.deep.equal({ kinds: ['untrusted'], identities: [] })
  })

  it('marks secondary server certificates trusted only when their chain is', async () => {
    const foreign = stranger.origin2
    const { port } = await start({
      trust: { anchors: [pki.caPem], preset: 'frank' },
      serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }, { cert: foreign.chainPem, key: foreign.keyPem }],
    })
    const c = extensionClient(port, pki)
    clients.push(c)
    await h2Request(c, '/')
    const certs = clientCerts(c)!.serverCertificates
    expect(certs.map((i) => [i.subject, i.trusted])).to.deep.equal([
      [pki.origin2.subject, true],
      [foreign.subject, false],
    ])
  })

  it('an expired client credential is not presented; the decline says why', async () => {
    const old = await issueCertificate({
      subject: 'CN=user, O=h2sc test',
      issuer: pki.intermediate,
      extKeyUsage: [EKU.clientAuth],
      keyUsage: ['digitalSignature'],
      basicConstraints: { ca: false },
      notBefore: new Date(Date.now() - 30 * 86400000),
      notAfter: new Date(Date.now() - 86400000),
    })
    const { port } = await start({ trust: { anchors: [pki.caPem], preset: 'frank' } })
    const c = extensionClient(port, { ...pki, device: old, user: old })
    clients.push(c)
    const answers: (string | undefined)[] = []
    clientCerts(c)!.on('answer', (a) => answers.push(a.reason))
    const r = JSON.parse((await h2Request(c, '/')).body) as Report
    expect(r.outcomes.map((o) => o.kind)).to.deep.equal(['declined', 'declined'])
    expect(answers).to.deep.equal(['expired', 'expired'])
    expect(clientCerts(c)!.answers.map((a) => a.declineReason)).to.deep.equal(['expired', 'expired'])
  })
})
