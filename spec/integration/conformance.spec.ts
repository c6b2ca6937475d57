/**
 * The conformance mode (lib/conformance/conformance.ts) against our own server and client: every check
 * passes (or is skipped with a reason), each result names a draft section.
 */
import { expect } from 'chai'
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect } from '../../lib/client.js'
import { CLIENT_CHECK_NAMES, SERVER_CHECK_NAMES, formatResults, runConformanceClient, runConformanceServer } from '../../lib/conformance/index.js'
import type { ConformanceResult } from '../../lib/conformance/index.js'
import { testPki } from '../support/pki.js'
import { closeServer, listen, trackSessions } from '../../interop/support/h2.js'

function expectAllPass(results: readonly ConformanceResult[], names: readonly { check: string }[]): void {
  expect(results.map((r) => r.check)).to.deep.equal(names.map((n) => n.check))
  for (const r of results) expect(r.section, r.check).to.match(/§/)
  // Our server offers every TLS 1.3 scheme, so no tester key has a scheme it did not offer.
  const failed = results.filter((r) => r.result !== 'pass' && !(r.check === 'scheme-not-offered' && r.result === 'skipped'))
  expect(failed, formatResults(results)).to.deep.equal([])
}

describe('integration/conformance', function () {
  this.timeout(20000)

  describe('runConformanceServer against our server', () => {
    let server: http2.Http2SecureServer
    let sessions: Set<http2.Http2Session>
    let port: number

    before(async () => {
      const pki = await testPki('p256')
      server = createSecureServer(
        { key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { requestTimeoutMs: 2000 } },
        (req, res) => {
          const ctl = sessionCerts(req)
          if (req.url === '/whoami' && ctl) {
            ctl.requestIdentities([{ label: 'device' }, { label: 'user' }]).then(
              (o) => res.end(o.map((x) => x.kind).join(',')),
              (e: { code?: string }) => res.stream.destroyed || res.writeHead(403).end(String(e.code)),
            )
            return
          }
          res.end('ok')
        },
      )
      server.on('sessionError', () => {})
      sessions = trackSessions(server)
      port = await listen(server)
    })

    after(async () => {
      if (server) await closeServer(server, sessions)
    })

    it('passes every server-side check, each with its draft section', async () => {
      const pki = await testPki('p256')
      const results = await runConformanceServer(`https://127.0.0.1:${port}/`, { ca: pki.caPem, servername: 'localhost', timeoutMs: 2000 })
      expectAllPass(results, SERVER_CHECK_NAMES)
      expect(server.listening).to.equal(true)
    })

    it('reports a failure, with a reason, when the server never asks for identities', async () => {
      const pki = await testPki('p256')
      const results = await runConformanceServer(`https://127.0.0.1:${port}/`, {
        ca: pki.caPem,
        servername: 'localhost',
        requestPath: '/nothing-here',
        timeoutMs: 500,
        only: ['declining'],
      })
      expect(results).to.have.length(1)
      expect(results[0]!.result).to.equal('fail')
      expect(results[0]!.detail).to.match(/did not ask/)
    })
  })

  describe('runConformanceClient against our client', () => {
    it('passes every client-side check (one client connection per check)', async () => {
      const pki = await testPki('p256')
      let listening: (p: number) => void = () => {}
      const portP = new Promise<number>((r) => (listening = r))
      const run = runConformanceClient(0, {
        cert: pki.server.chainPem,
        key: pki.server.keyPem,
        serverCredential: { cert: pki.origin2.chainPem, key: pki.origin2.keyPem },
        timeoutMs: 2000,
        onListening: (p) => listening(p),
      })
      const port = await portP
      for (let i = 0; i < CLIENT_CHECK_NAMES.length; i++) {
        const s = connect(`https://127.0.0.1:${port}`, {
          ca: pki.caPem,
          servername: 'localhost',
          secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], credentialLimit: 2 },
        })
        s.on('error', () => {})
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 3000)
          s.once('close', () => {
            clearTimeout(t)
            resolve()
          })
        })
        if (!s.destroyed) s.destroy()
      }
      const results = await run
      expectAllPass(results, CLIENT_CHECK_NAMES)
      const t17 = results.find((r) => r.check === 'type-17-request')!
      expect(t17.detail).to.match(/rejected/)
    })
  })
})
