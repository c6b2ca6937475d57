/**
 * Ordinary HTTP/2 peers are unaffected by the extension (issue 3 item 7): curl, nghttp, h2load
 * (Debian curl, nghttp2-client) and a plain node:http2 client against a createSecureServer with
 * the extension on, and `allowHTTP1` serving HTTP/1.1. Each external tool is skipped, with the
 * reason, when it is not installed. The tools run as child processes (asynchronously: the server
 * lives in this process).
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { connect } from '../../lib/client.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, get, listen, trackSessions } from '../../interop/support/h2.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], timeoutMs = 10000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** True when `tool` is on PATH. */
async function have(tool: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${tool}`])).code === 0
}

for (const nativePath of [true, false]) describe(`integration/plain-peers (${nativePath ? 'plain clients on the native path' : 'every connection through the interposer'})`, function () {
  this.timeout(15000)
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let port: number
  let dir: string
  let caFile: string
  let url: string
  const extensionSessions: boolean[] = []

  before(async () => {
    const pki = await testPki('p256')
    dir = mkdtempSync(join(tmpdir(), 'h2sc-plain-'))
    caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, pki.caPem)
    server = createSecureServer(
      {
        key: pki.server.keyPem,
        cert: pki.server.chainPem,
        allowHTTP1: true,
        secondaryCerts: { nativePathForPlainClients: nativePath, serverCertAuth: true, serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }] },
      },
      (req, res) => {
        extensionSessions.push(sessionCerts(req) !== undefined)
        res.setHeader('content-type', 'text/plain')
        res.end(`hello ${req.httpVersion} ${req.url}\n`)
      },
    )
    sessions = trackSessions(server)
    port = await listen(server)
    url = `https://127.0.0.1:${port}/`
  })

  after(async () => {
    if (server) await closeServer(server, sessions)
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves curl --http2 (HTTP/2 over TLS, ALPN h2)', async function () {
    if (!(await have('curl'))) this.skip() // curl not installed
    const r = await run('curl', ['--http2', '-sS', '--cacert', caFile, '-w', '\n%{http_version} %{http_code}', url])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('hello 2.0 /')
    expect(r.stdout.trim().split('\n').pop()).to.equal('2 200')
  })

  it('serves nghttp (nghttp2-client) and ignores nothing it needs', async function () {
    if (!(await have('nghttp'))) this.skip() // nghttp (nghttp2-client) not installed
    const r = await run('nghttp', ['-v', '--no-verify-peer', url + 'n'])
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(r.stdout).to.contain('hello 2.0 /n')
    expect(r.stdout).to.match(/:status: 200/)
    expect(r.stdout).to.not.match(/GOAWAY[^\n]*error_code=(?!NO_ERROR)/)
  })

  it('serves a bounded h2load run (-n 200 -c 4) with no failed request', async function () {
    if (!(await have('h2load'))) this.skip() // h2load (nghttp2-client) not installed
    const r = await run('h2load', ['-n', '200', '-c', '4', '-m', '4', url], 15000)
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    const m = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(r.stdout)
    expect(m, r.stdout).to.not.equal(null)
    expect(Number(m![3])).to.equal(200)
    expect(Number(m![4])).to.equal(0)
    expect(Number(m![5])).to.equal(0)
    expect(r.stdout).to.match(/status codes: 200 2xx/)
  })

  it('serves a plain node:http2 client (no extension settings)', async () => {
    const pki = await testPki('p256')
    const c = http2.connect(url, { ca: pki.caPem, servername: 'localhost' })
    try {
      const r = await get(c, '/plain')
      expect(r.status).to.equal(200)
      expect(extensionSessions[extensionSessions.length - 1]).to.equal(!nativePath)
      expect(r.body).to.equal('hello 2.0 /plain\n')
      expect(c.encrypted).to.equal(true)
      expect(c.alpnProtocol).to.equal('h2')
    } finally {
      c.destroy()
    }
  })

  it('serves HTTP/1.1 (curl --http1.1) through allowHTTP1', async function () {
    if (!(await have('curl'))) this.skip() // curl not installed
    const r = await run('curl', ['--http1.1', '-sS', '--cacert', caFile, '-w', '\n%{http_version} %{http_code}', url + 'one'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('hello 1.1 /one')
    expect(r.stdout.trim().split('\n').pop()).to.equal('1.1 200')
  })

  it('still speaks the extension to our client on the same server', async () => {
    const pki = await testPki('p256')
    const c = connect(url, { ca: pki.caPem, servername: 'localhost' })
    try {
      await connected(c)
      const before = extensionSessions.length
      expect((await get(c, '/ours')).status).to.equal(200)
      expect(extensionSessions[before]).to.equal(true)
    } finally {
      c.destroy()
    }
  })
})
