/**
 * `h2sc request --authority` (issue 12 item 2): a name goes over the connection only when the TLS
 * certificate or an accepted secondary server certificate covers it (RFC 9113 §9.1.1, SERVER -02
 * §3.2); `--insecure-authority` sends it anyway.
 */
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSecureServer } from '../../lib/server.js'
import { request } from '../../lib/cli/h2sc.js'
import { writeTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { hostOfAuthority } from '../../lib/fetch/authority.js'
import { testPki } from '../support/pki.js'
import { closeServer, listen, trackSessions } from '../../interop/support/h2.js'

const BIN = fileURLToPath(new URL('../../bin/h2sc.js', import.meta.url))

describe('cli/h2sc request --authority', function () {
  this.timeout(20000)
  let pki: TestPki
  let dir: string
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let port: number
  const seen: string[] = []

  before(async () => {
    pki = await testPki('p256')
    dir = mkdtempSync(join(tmpdir(), 'h2sc-authority-'))
    await writeTestPki(pki, dir)
    server = createSecureServer(
      { key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }] } },
      (req, res) => {
        seen.push(String(req.headers[':authority']))
        res.end(`authority ${String(req.headers[':authority'])}`)
      },
    )
    sessions = trackSessions(server)
    port = await listen(server)
  })

  after(async () => {
    await closeServer(server, sessions)
    rmSync(dir, { recursive: true, force: true })
  })

  const run = (authority: string, insecureAuthority = false) =>
    request({ url: `https://127.0.0.1:${port}/`, ca: join(dir, 'ca.pem'), creds: [], decline: false, json: true, authority, insecureAuthority, timeoutMs: 5000 })

  it('sends a name the TLS certificate covers', async () => {
    const r = await run(`localhost:${port}`)
    expect([r.status, r.body]).to.deep.equal([200, `authority localhost:${port}`])
  })

  it('sends a name an accepted SERVER_CERTIFICATE covers (waiting for it after connect)', async () => {
    const r = await run(`other.localhost:${port}`)
    expect([r.status, r.body]).to.deep.equal([200, `authority other.localhost:${port}`])
    expect(r.serverCertificates.map((c) => c.accepted)).to.deep.equal([true])
  })

  it('refuses a name no certificate on the connection covers, sending nothing', async () => {
    seen.length = 0
    let error: Error | undefined
    try {
      await run(`evil.example:${port}`)
    } catch (e) {
      error = e as Error
    }
    expect(error?.message).to.match(/no certificate on this connection covers evil\.example/)
    expect(seen).to.deep.equal([])
  })

  it('sends it anyway with --insecure-authority', async () => {
    const r = await run(`evil.example:${port}`, true)
    expect(r.body).to.equal(`authority evil.example:${port}`)
  })

  it('exits non-zero with a one-line reason from the command line', async () => {
    const child = spawn(process.execPath, [BIN, 'request', `https://127.0.0.1:${port}/`, '--ca', join(dir, 'ca.pem'), '--authority', 'evil.example'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code).to.equal(1)
    expect(stderr.trim()).to.match(/^h2sc: no certificate on this connection covers evil\.example; --insecure-authority sends it anyway$/)
  })

  it('takes the host out of host, host:port and [v6]:port authorities', () => {
    expect(['a.example', 'a.example:8443', '[::1]:8443', '::1', '127.0.0.1:1'].map(hostOfAuthority)).to.deep.equal(['a.example', 'a.example', '::1', '::1', '127.0.0.1'])
  })
})
