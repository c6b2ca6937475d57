import { expect } from 'chai'
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ServerCertificateEvent } from '../../lib/client.js'
import { loadCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

/** A chain padded with repeated CA certificates: still valid, but over 16 KB on the wire. */
async function bigChain(which: 'origin2' | 'user'): Promise<{ cert: Uint8Array[]; key: string }> {
  const pki = await testPki('p256')
  const c = pki[which]
  const pad = Array.from({ length: 40 }, () => pki.intermediate.certDer)
  return { cert: [...c.chainDer, ...pad], key: c.keyPem }
}

describe('integration: authenticators larger than 16 KB and SETTINGS_MAX_FRAME_SIZE', function () {
  this.timeout(20000)
  let server: http2.Http2SecureServer | undefined
  let sessions: Set<http2.Http2Session>
  const clients: http2.ClientHttp2Session[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
    if (server) await closeServer(server, sessions)
    server = undefined
  })

  it('delivers a >16 KB SERVER_CERTIFICATE when both sides raised the frame size', async () => {
    const pki = await testPki('p256')
    const big = await bigChain('origin2')
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { serverCertificates: [big] } }, (_q, r) => r.end('ok'))
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: {} })
    clients.push(s)
    const ev = await new Promise<ServerCertificateEvent>((resolve) => clientCerts(s)!.once('serverCertificate', resolve))
    expect(ev.accepted).to.equal(true)
    const inbound = clientCerts(s)!.frameLog.find((f) => f.type === 0xf8)!
    expect(inbound.bytes).to.be.greaterThan(16384)
  })

  it('refuses to send a server certificate over the client limit with ERR_SC_FRAME_TOO_LARGE, connection intact', async () => {
    const pki = await testPki('p256')
    const big = await bigChain('origin2')
    let thrown: unknown
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { serverCertAuth: true } }, (req, res) => {
      try {
        sessionCerts(req)!.sendServerCertificate(loadCredential(big, nodeCrypto))
      } catch (e) {
        thrown = e
      }
      res.end('ok')
    })
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: { maxFrameSize: 16384, maxAuthenticatorBytes: 16000 } })
    clients.push(s)
    await connected(s)
    expect((await get(s, '/')).body).to.equal('ok')
    expect(thrown).to.have.property('code', 'ERR_SC_FRAME_TOO_LARGE')
    expect((await get(s, '/again')).body).to.equal('ok')
  })

  it('answers with the empty authenticator when its authenticator exceeds the server limit', async () => {
    const pki = await testPki('p256')
    const big = await bigChain('user')
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { maxFrameSize: 16384, maxAuthenticatorBytes: 16000 } }, async (req, res) => {
      const out = await sessionCerts(req)!.requestIdentities([{ label: 'user' }])
      res.end(out[0]!.kind)
    })
    sessions = trackSessions(server)
    const port = await listen(server)
    const s = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: { credentials: [{ label: 'user', ...big }] } })
    clients.push(s)
    const fallback = new Promise<{ reason: string }>((resolve) => clientCerts(s)!.once('declinedInstead', resolve))
    expect((await get(s, '/')).body).to.equal('declined')
    expect((await fallback).reason).to.match(/exceeds/)
    expect((await get(s, '/')).body).to.equal('declined')
  })
})
