import { expect } from 'chai'
import type http2 from 'node:http2'
import { createSecureServer } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ClientExtensionOptions, RequestInfo } from '../../lib/client.js'
import { createCertificatePolicy, ekuOidFilter, matchesCertificateAuthorities } from '../../lib/policy/certificate-policy.js'
import type { CertificatePolicyFn } from '../../lib/policy/certificate-policy.js'
import { ensureIdentities, problemDetails, requireIdentities } from '../../lib/binding/require-identities.js'
import type { IdentityRequirement, RequirementResult } from '../../lib/binding/require-identities.js'
import { EKU, issueCertificate } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

describe('binding/require-identities', function () {
  this.timeout(15000)
  let pki: TestPki
  let other: TestPki
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  let port: number
  const clients: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await testPki('p256')
    other = await testPki('p384')
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  /** A server whose handler runs `ensureIdentities` with the requirement picked by path. */
  async function start(pick: (path: string) => IdentityRequirement): Promise<void> {
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
      const r = await ensureIdentities(req, pick(req.url))
      res.end(JSON.stringify(summary(r)))
    })
    sessions = trackSessions(server)
    port = await listen(server)
  }

  function summary(r: RequirementResult): { ok: boolean; met: string[]; missing: { label: string; reason: string }[] } {
    return {
      ok: r.ok,
      met: r.met.map((m) => `${m.label}:${[...m.decision.roles].join('+')}`),
      missing: r.ok ? [] : r.missing.map((m) => ({ label: m.label, reason: m.reason })),
    }
  }

  async function client(ext: ClientExtensionOptions): Promise<http2.ClientHttp2Session> {
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: ext })
    clients.push(s)
    await connected(s)
    return s
  }

  async function json(s: http2.ClientHttp2Session, path: string): Promise<ReturnType<typeof summary>> {
    return JSON.parse((await get(s, path)).body) as ReturnType<typeof summary>
  }

  describe('ensureIdentities', () => {
    it('keeps the decisions of two policies apart on one connection', async () => {
      const frank = createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' })
      const rfc5280 = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
      await start((p) => ({ needs: [{ label: 'device' }], policy: p === '/strict' ? rfc5280 : frank, timeoutMs: 2000 }))
      const s = await client({ credentials: [{ label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem }] })
      expect(await json(s, '/lenient')).to.deep.equal({ ok: true, met: ['device:device'], missing: [] })
      // The same identity, judged by the stricter policy: not the cached frank decision.
      const strict = await json(s, '/strict')
      expect(strict.ok).to.equal(false)
      expect(strict.missing[0]!.reason).to.equal('eku-purpose')
      expect(await json(s, '/lenient')).to.deep.include({ ok: true })
    })

    it('turns a throwing policy into a policy-error result instead of a rejection', async () => {
      const broken: CertificatePolicyFn = () => {
        throw new Error('database down')
      }
      await start(() => ({ needs: [{ label: 'user' }], policy: broken, timeoutMs: 2000 }))
      const s = await client({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] })
      expect(await json(s, '/')).to.deep.equal({ ok: false, met: [], missing: [{ label: 'user', reason: 'policy-error' }] })
    })

    it('sends per-need certificate_authorities and oid_filters the default selector follows', async () => {
      const policy = createCertificatePolicy({ anchors: [pki.caPem], anchorsByPurpose: { device: [other.caPem] }, preset: 'frank' })
      await start(() => ({
        needs: [
          { label: 'device', requestAnchors: [other.caPem] },
          { label: 'user', requestAnchors: [pki.caPem] },
        ],
        policy,
        timeoutMs: 2000,
      }))
      const seen: RequestInfo[] = []
      const s = await client({
        credentials: [
          { label: 'device-a', cert: pki.device.chainPem, key: pki.device.keyPem },
          { label: 'user-b', cert: other.user.chainPem, key: other.user.keyPem },
          { label: 'user-a', cert: pki.user.chainPem, key: pki.user.keyPem },
          { label: 'device-b', cert: other.device.chainPem, key: other.device.keyPem },
        ],
      })
      clientCerts(s)!.on('request', (i: RequestInfo) => seen.push(i))
      expect(await json(s, '/')).to.deep.equal({ ok: true, met: ['device:device', 'user:user'], missing: [] })
      expect(seen).to.have.length(2)
      expect(matchesCertificateAuthorities(other.device.chainDer, seen[0]!.request.certificateAuthorities!)).to.equal(true)
      expect(matchesCertificateAuthorities(pki.device.chainDer, seen[0]!.request.certificateAuthorities!)).to.equal(false)
      expect(clientCerts(s)!.answers.map((a) => a.label)).to.deep.equal(['device-b', 'user-a'])
    })

    it('sends no oid_filters when a need overrides them with an empty list', async () => {
      const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
      await start((p) => ({ needs: [{ label: 'device', ...(p === '/none' ? { oidFilters: [] } : {}) }], policy, timeoutMs: 2000 }))
      const seen: RequestInfo[] = []
      // The device credential here carries clientAuth (the rfc5280 way); with the default serverAuth
      // filter the selector would decline, without filters it answers.
      const clientDevice = await issueCertificate({
        subject: 'CN=device-rfc5280',
        issuer: pki.intermediate,
        extKeyUsage: [EKU.clientAuth],
        dnsNames: ['dev.example.test'],
      })
      const s = await client({ credentials: [{ label: 'dev', cert: clientDevice.chainPem, key: clientDevice.keyPem }], credentialLimit: 2 })
      clientCerts(s)!.on('request', (i: RequestInfo) => seen.push(i))
      expect((await json(s, '/default')).missing[0]!.reason).to.equal('declined')
      expect(seen[0]!.request.oidFilters).to.deep.equal([ekuOidFilter('device')])
      expect(await json(s, '/none')).to.deep.equal({ ok: true, met: ['device:device'], missing: [] })
      expect(seen[1]!.request.oidFilters).to.equal(undefined)
    })
  })

  describe('matching identities to needs', () => {
    it('does not let one certificate serve two needs of a requirement', async () => {
      // Under rfc5280 a clientAuth certificate passes as device and as user; the requirement still
      // wants two certificates.
      const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
      await start(() => ({ needs: [{ label: 'device', oidFilters: [] }, { label: 'user' }], policy, timeoutMs: 2000 }))
      const s = await client({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], credentialLimit: 2 })
      const r = await json(s, '/')
      expect(r.ok).to.equal(false)
      expect(r.met).to.have.length(1)
      expect(r.missing).to.deep.equal([{ label: r.met[0]!.startsWith('user') ? 'device' : 'user', reason: 'not-presented' }])
      // The client did present its one certificate for both requests.
      expect(clientCerts(s)!.answers.map((a) => a.label)).to.deep.equal(['user', 'user'])
    })

    it('gives each need the identity presented for its label first', async () => {
      const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
      const clientDevice = await issueCertificate({
        subject: 'CN=device-client-auth',
        issuer: pki.intermediate,
        extKeyUsage: [EKU.clientAuth],
        dnsNames: ['dev.example.test'],
      })
      await start(() => ({ needs: [{ label: 'device', oidFilters: [] }, { label: 'user', oidFilters: [] }], policy, timeoutMs: 2000 }))
      // One request at a time, so the default selector's "not yet presented" preference applies.
      const s = await client({
        credentialLimit: 1,
        credentials: [
          { label: 'dev', cert: clientDevice.chainPem, key: clientDevice.keyPem },
          { label: 'usr', cert: pki.user.chainPem, key: pki.user.keyPem },
        ],
      })
      const first = await json(s, '/')
      expect(first.ok).to.equal(true)
      // Asked again on the connection: met from the identities there, each by its own label.
      const server1 = [...sessions][0]!
      const again = await ensureIdentities(server1, { needs: [{ label: 'user' }, { label: 'device' }], policy })
      expect(again.ok).to.equal(true)
      expect(again.met.map((m) => [m.label, m.identity.label])).to.deep.equal([
        ['user', 'user'],
        ['device', 'device'],
      ])
      expect(again.met.find((m) => m.label === 'device')!.identity.subject).to.equal('CN=device-client-auth')
    })
  })

  describe('problemDetails', () => {
    it('builds an RFC 9457 body naming each missing need with its reason', () => {
      const body = problemDetails({
        ok: false,
        met: [],
        missing: [
          { label: 'device', reason: 'declined', detail: 'the client declined the request' },
          { label: 'user', reason: 'eku-purpose', detail: 'serverAuth only: a device, not a person', row: 6, subject: 'CN=x' },
        ],
      })
      expect(body).to.include({ type: 'about:blank', title: 'Forbidden', status: 403 })
      expect(body['detail']).to.equal(
        'missing identity: device (declined: the client declined the request); user (eku-purpose: serverAuth only: a device, not a person)',
      )
      expect((body['missing'] as unknown[]).length).to.equal(2)
      expect(body['presented']).to.deep.equal([])
    })
  })

  describe('requireIdentities', () => {
    it('answers 500 problem+json for a requirement whose anchors cannot be parsed', async () => {
      const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' })
      const guard = requireIdentities({ needs: [{ label: 'user' }], policy, requestAnchors: ['not a certificate'] })
      server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
        if (await guard(req, res)) res.end('through')
      })
      sessions = trackSessions(server)
      port = await listen(server)
      const s = await client({ credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] })
      const r = await get(s, '/')
      expect(r.status).to.equal(500)
      expect(r.headers['content-type']).to.equal('application/problem+json')
      expect(JSON.parse(r.body)).to.include({ status: 500, code: 'ERR_SC_USAGE' })
      expect(s.destroyed).to.equal(false)
    })
  })
})
