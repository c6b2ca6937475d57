import { expect } from 'chai'
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { LabelledCredentialInput } from '../../lib/binding/credentials.js'
import { createCertificatePolicy } from '../../lib/policy/certificate-policy.js'
import { requireIdentities } from '../../lib/binding/require-identities.js'
import type { IdentityRequirement } from '../../lib/binding/require-identities.js'
import { purposeRequest } from '../../lib/cli/roles.js'
import { EKU, issueCertificate } from '../../lib/pki/test-pki.js'
import type { TestCredential } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

/**
 * Issue 4 item 3: the server shapes each request with certificate_authorities (RFC 8446 §4.2.4)
 * and oid_filters (§4.2.5, EKU digest §4.3) so that a client holding four credentials answers with
 * the right one using only the default selector.
 */
describe('integration: a client with four credentials, steered by the request', function () {
  this.timeout(15000)
  let deviceCa: TestCredential
  let userCa: TestCredential
  let partnerCa: TestCredential
  let creds: Record<'device' | 'user' | 'partnerUser' | 'partnerDevice', TestCredential>
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  let port: number
  const clients: http2.ClientHttp2Session[] = []

  before(async () => {
    const ca = (cn: string): Promise<TestCredential> =>
      issueCertificate({ subject: `CN=${cn}, O=four`, basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] })
    ;[deviceCa, userCa, partnerCa] = await Promise.all([ca('Device CA'), ca('User CA'), ca('Partner CA')])
    const leaf = (subject: string, issuer: TestCredential, eku: string, san: { dnsNames?: string[]; emails?: string[] }): Promise<TestCredential> =>
      issueCertificate({ subject, issuer, extKeyUsage: [eku], keyUsage: ['digitalSignature'], basicConstraints: { ca: false }, ...san })
    const [device, user, partnerUser, partnerDevice] = await Promise.all([
      leaf('CN=sensor-1, O=four', deviceCa, EKU.serverAuth, { dnsNames: ['sensor-1.four.test'] }),
      leaf('CN=alice, O=four', userCa, EKU.clientAuth, { emails: ['alice@four.test'] }),
      leaf('CN=bob, O=partner', partnerCa, EKU.clientAuth, { emails: ['bob@partner.test'] }),
      leaf('CN=gateway, O=partner', partnerCa, EKU.serverAuth, { dnsNames: ['gw.partner.test'] }),
    ])
    creds = { device, user, partnerUser, partnerDevice }
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  async function start(): Promise<void> {
    const pki = await testPki('p256')
    const own = createCertificatePolicy({ anchors: [userCa.certPem], anchorsByPurpose: { device: [deviceCa.certPem], user: [userCa.certPem] }, preset: 'frank' })
    const partner = createCertificatePolicy({ anchors: [partnerCa.certPem], preset: 'frank' })
    const table: Record<string, IdentityRequirement> = {
      '/device': { needs: [{ label: 'device', requestAnchors: [deviceCa.certPem] }], policy: own, timeoutMs: 3000 },
      '/user': { needs: [{ label: 'user', requestAnchors: [userCa.certPem] }], policy: own, timeoutMs: 3000 },
      '/both': {
        needs: [
          { label: 'device', requestAnchors: [deviceCa.certPem] },
          { label: 'user', requestAnchors: [userCa.certPem] },
        ],
        policy: own,
        timeoutMs: 3000,
      },
      '/partner': { needs: [{ label: 'device' }, { label: 'user' }], policy: partner, requestAnchors: [partnerCa.certPem], timeoutMs: 3000 },
      // Only oid_filters, no CA names: the selector cannot tell the two devices apart.
      '/device-unnamed': { needs: [{ label: 'device' }], policy: own, timeoutMs: 3000 },
    }
    const guards = new Map(Object.entries(table).map(([p, r]) => [p, requireIdentities(r)]))
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: own } }, async (req, res) => {
      if (req.url === '/purpose-request') {
        // The CLI's request shaping, straight through requestIdentities.
        const out = await sessionCerts(req)!.requestIdentities([purposeRequest('user', userCa.certPem), purposeRequest('device', deviceCa.certPem)])
        res.end(out.map((o) => (o.kind === 'identity' ? o.identity.subject.replace(/\n/g, ', ') : 'declined')).join(' | '))
        return
      }
      const guard = guards.get(req.url)
      if (!guard) {
        res.writeHead(404).end()
        return
      }
      if (!(await guard(req, res))) return
      res.end('ok')
    })
    sessions = trackSessions(server)
    port = await listen(server)
  }

  /** A client holding all four credentials, in an order that puts the wrong ones first. */
  async function client(): Promise<http2.ClientHttp2Session> {
    const pki = await testPki('p256')
    const list: LabelledCredentialInput[] = [
      { label: 'partner-device', cert: creds.partnerDevice.chainPem, key: creds.partnerDevice.keyPem },
      { label: 'partner-user', cert: creds.partnerUser.chainPem, key: creds.partnerUser.keyPem },
      { label: 'user', cert: creds.user.chainPem, key: creds.user.keyPem },
      { label: 'device', cert: creds.device.chainPem, key: creds.device.keyPem },
    ]
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: { credentials: list } })
    clients.push(s)
    await connected(s)
    return s
  }

  const answered = (s: http2.ClientHttp2Session): (string | null)[] => clientCerts(s)!.answers.map((a) => a.label)

  beforeEach(start)

  it('answers a device request with the device credential', async () => {
    const s = await client()
    expect((await get(s, '/device')).status).to.equal(200)
    expect(answered(s)).to.deep.equal(['device'])
  })

  it('answers a user request with the user credential', async () => {
    const s = await client()
    expect((await get(s, '/user')).status).to.equal(200)
    expect(answered(s)).to.deep.equal(['user'])
  })

  it('answers a device request and a user request of one requirement with the matching pair', async () => {
    const s = await client()
    expect((await get(s, '/both')).status).to.equal(200)
    expect(answered(s)).to.deep.equal(['device', 'user'])
  })

  it('answers the partner CA with the partner credentials', async () => {
    const s = await client()
    expect((await get(s, '/partner')).status).to.equal(200)
    expect(answered(s)).to.deep.equal(['partner-device', 'partner-user'])
  })

  it('steers through purposeRequest (CA name + EKU filter) as well', async () => {
    const s = await client()
    const r = await get(s, '/purpose-request')
    expect(r.body).to.equal('CN=alice,O=four | CN=sensor-1,O=four')
    expect(answered(s)).to.deep.equal(['user', 'device'])
  })

  it('needs the CA names: with oid_filters alone the first serverAuth credential is picked and rejected', async () => {
    const s = await client()
    const r = await get(s, '/device-unnamed')
    expect(r.status).to.equal(403)
    expect(answered(s)).to.deep.equal(['partner-device'])
    const body = JSON.parse(r.body) as { missing: { label: string; reason: string }[] }
    expect(body.missing[0]).to.include({ label: 'device', reason: 'no-path' })
  })
})
