import { expect } from 'chai'
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import { validateChain, prepareAnchors } from '../../lib/policy/chain.js'
import { parseCertificate } from '../../lib/policy/parsed-cert.js'
import { issueCertificate } from '../../lib/pki/test-pki.js'
import type { MlDsaPkiKeyType } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { closeServer, get, listen, trackSessions } from '../../interop/support/h2.js'

/**
 * Post-quantum secondary certificates end to end (issue 14): real TLS 1.3 + node:http2 on
 * loopback, ML-DSA device and user chains, no provider configured on either side.
 */
describe('integration: ML-DSA secondary certificates (draft-ietf-tls-mldsa, RFC 9881)', function () {
  this.timeout(60000)
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  const clients: http2.ClientHttp2Session[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  for (const kt of ['mldsa65', 'mldsa87'] as MlDsaPkiKeyType[]) {
    it(`authenticates device and user with ${kt} chains that the policy layer validates`, async () => {
      const pki = await testPki(kt)
      server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [pki.caPem], preset: 'frank' } } }, async (req, res) => {
        const out = await sessionCerts(req)!.requestIdentities([{ label: 'device' }, { label: 'user' }])
        res.end(out.map((o) => o.kind).join(','))
      })
      sessions = trackSessions(server)
      const port = await listen(server)
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
      expect((await get(s, '/')).body).to.equal('identity,identity')
      // The chains are the ML-DSA ones and they chain to the ML-DSA root (RFC 9881 signatures).
      const anchors = prepareAnchors([pki.root.certDer])
      for (const c of [pki.device, pki.user]) {
        const v = await validateChain(c.chainDer, { anchors })
        expect(v.ok, JSON.stringify(v)).to.equal(true)
      }
      if (kt === 'mldsa87') {
        // Leaf + intermediate carry 2 × (2592-byte key + 4627-byte signature): past 16 KB.
        expect(pki.user.chainDer.reduce((n, c) => n + c.length, 0)).to.be.greaterThan(14000)
      }
    })
  }

  it('falls back to the empty authenticator, with a typed event, when an ML-DSA-87 one exceeds the peer limit', async () => {
    const pki = await testPki('mldsa87')
    server = createSecureServer(
      { key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { maxFrameSize: 16384, maxAuthenticatorBytes: 16000, trust: { anchors: [pki.caPem], preset: 'frank' } } },
      async (req, res) => {
        const out = await sessionCerts(req)!.requestIdentities([{ label: 'user' }])
        res.end(out[0]!.kind)
      },
    )
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] },
    })
    clients.push(s)
    const fallback = new Promise<{ reason: string }>((resolve) => clientCerts(s)!.once('declinedInstead', resolve))
    expect((await get(s, '/')).body).to.equal('declined')
    expect((await fallback).reason).to.match(/exceeds/)
  })

  it('validates a mixed chain: an ML-DSA-65 leaf under the ECDSA P-256 intermediate', async () => {
    const ec = await testPki('p256')
    const leaf = await issueCertificate({
      subject: 'CN=pq-user, O=h2sc test',
      issuer: ec.intermediate,
      keyType: 'mldsa65',
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['1.3.6.1.5.5.7.3.2'],
    })
    expect(leaf.keyType).to.equal('mldsa65')
    const anchors = prepareAnchors([ec.root.certDer])
    const v = await validateChain(leaf.chainDer, { anchors })
    expect(v.ok, JSON.stringify(v)).to.equal(true)
    // And the other way round fails where it should: the ML-DSA root is not this chain's anchor.
    const pq = await testPki('mldsa65')
    const w = await validateChain(leaf.chainDer, { anchors: prepareAnchors([pq.root.certDer]) })
    expect(w.ok).to.equal(false)
    expect(parseCertificate(leaf.certDer).keyUsage?.has('digitalSignature')).to.equal(true)
  })
})
