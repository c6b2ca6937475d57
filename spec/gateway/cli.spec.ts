import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import http from 'node:http'
import type http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { writeTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'
import { startH2sc } from './support/processes.js'
import type { H2scProcess } from './support/processes.js'

function getText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    }).on('error', reject)
  })
}

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }))
  })
}

function peerSubject(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const c = s.getPeerX509Certificate()
      s.destroy()
      resolve(c ? c.subject : '')
    })
    s.on('error', reject)
  })
}

describe('h2sc gateway / h2sc sidecar as processes', function () {
  this.timeout(180000)
  let pki: TestPki
  let dir: string
  let backend: Backend
  const procs: H2scProcess[] = []
  const sessions: http2.ClientHttp2Session[] = []

  before(async () => {
    pki = await gatewayPki()
    dir = mkdtempSync(join(tmpdir(), 'h2sc-gw-'))
    await writeTestPki(pki, dir)
    backend = await startBackend()
  })
  after(async () => {
    await backend.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy()
    for (const p of procs.splice(0)) await p.kill()
  })

  function gateway(extra: string[] = []): H2scProcess {
    const p = startH2sc(['gateway', '--port', '0', '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server-key.pem'), '--ca', join(dir, 'ca.pem'), '--admin-port', '0', ...extra])
    procs.push(p)
    return p
  }

  it('prints "listening on" first; curl through h2sc sidecar reaches a route requiring device + user; metrics and healthz on the admin port', async () => {
    const gw = gateway(['--upstream', backend.url, '--require', 'device,user'])
    const port = Number((await gw.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    expect(gw.lines[0]).to.match(/^listening on https:/)
    const admin = Number((await gw.line(/^admin on http:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const sc = startH2sc([
      'sidecar', '--port', '0', '--upstream', `https://127.0.0.1:${port}`, '--ca', join(dir, 'ca.pem'),
      '--cred', `device:${join(dir, 'device.pem')}:${join(dir, 'device-key.pem')}`,
      '--cred', `user:${join(dir, 'user.pem')}:${join(dir, 'user-key.pem')}`,
    ])
    procs.push(sc)
    const scPort = Number((await sc.line(/^listening on http:\/\/127\.0\.0\.1:(\d+)$/))[1])
    expect(sc.lines[0]).to.match(/^listening on http:/)
    const r = await curl([`http://127.0.0.1:${scPort}/through/both`])
    expect(r.code, r.stdout).to.equal(0)
    const echo = JSON.parse(r.stdout) as Echo
    expect(Buffer.from(echo.secondary!['device']!, 'base64').equals(Buffer.from(pki.device.certDer))).to.equal(true)
    expect(Buffer.from(echo.secondary!['user']!, 'base64').equals(Buffer.from(pki.user.certDer))).to.equal(true)
    // The access log line (JSON) names the identities forwarded.
    const access = JSON.parse((await gw.line(/^\{.*"path":"\/through\/both".*$/))[0]) as { status: number; identities: { label: string; sha256: string }[]; upstreamMs: number }
    expect(access.status).to.equal(200)
    expect(access.identities.map((i) => i.label).sort()).to.deep.equal(['device', 'user'])
    expect(access.upstreamMs).to.be.a('number')
    const metrics = await getText(`http://127.0.0.1:${admin}/metrics`)
    expect(metrics.status).to.equal(200)
    expect(metrics.body).to.match(/h2sc_gateway_requests_total\{status="200"\} 1/)
    expect(metrics.body).to.match(/h2sc_gateway_identities_total\{label="device",outcome="validated"\} 1/)
    expect(metrics.body).to.match(/h2sc_gateway_upstream_duration_seconds_count\{route="\/"\} 1/)
    expect((await getText(`http://127.0.0.1:${admin}/healthz`)).status).to.equal(200)
  })

  it('SIGTERM: GOAWAY(NO_ERROR) to clients, /healthz 503, the in-flight request finishes, exit 0', async () => {
    const gw = gateway(['--upstream', backend.url, '--require', 'device,user', '--drain-ms', '5000'])
    const port = Number((await gw.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const admin = Number((await gw.line(/^admin on http:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const s = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    sessions.push(s)
    expect((await fetchH2(s, '/warm')).status).to.equal(200)
    const goaway = new Promise<number>((r) => s.once('goaway', (code: number) => r(code)))
    const slow = fetchH2(s, '/slow?ms=1000')
    await new Promise((r) => setTimeout(r, 200))
    gw.child.kill('SIGTERM')
    expect(await goaway).to.equal(0)
    // While draining, health checks say so (a balancer stops sending new connections).
    expect((await getText(`http://127.0.0.1:${admin}/healthz`)).status).to.equal(503)
    const r = await slow
    expect(r.status).to.equal(200)
    expect(await gw.exited()).to.equal(0)
  })

  it('SIGHUP: new certificate and config for new connections, open connections keep working', async () => {
    const certFile = join(dir, 'live.pem')
    const keyFile = join(dir, 'live-key.pem')
    copyFileSync(join(dir, 'server.pem'), certFile)
    copyFileSync(join(dir, 'server-key.pem'), keyFile)
    const cfg = join(dir, 'gw.json')
    writeFileSync(cfg, JSON.stringify({ routes: [{ prefix: '/', upstream: backend.url, require: ['device', 'user'] }] }))
    const p = startH2sc(['gateway', '--port', '0', '--cert', certFile, '--key', keyFile, '--ca', join(dir, 'ca.pem'), '--config', cfg])
    procs.push(p)
    const port = Number((await p.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const s = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    sessions.push(s)
    expect((await fetchH2(s, '/a')).status).to.equal(200)
    expect(await peerSubject(port, pki.caPem, 'localhost')).to.contain('CN=localhost')
    // Swap in the origin2 certificate and a config with a public route, then SIGHUP.
    copyFileSync(join(dir, 'origin2.pem'), certFile)
    copyFileSync(join(dir, 'origin2-key.pem'), keyFile)
    writeFileSync(cfg, JSON.stringify({ routes: [
      { prefix: '/open', upstream: backend.url, public: true },
      { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
    ] }))
    p.child.kill('SIGHUP')
    await new Promise((r) => setTimeout(r, 300))
    for (let i = 0; i < 50 && !(await peerSubject(port, pki.caPem, 'other.localhost')).includes('other.localhost'); i++) await new Promise((r) => setTimeout(r, 100))
    expect(await peerSubject(port, pki.caPem, 'other.localhost')).to.contain('CN=other.localhost')
    // The connection opened before the reload is still up and sees the new routes.
    const open = await fetchH2(s, '/open/x')
    expect(open.status).to.equal(200)
    expect((JSON.parse(open.body.toString()) as Echo).secondary).to.equal(undefined)
    expect((await fetchH2(s, '/b')).status).to.equal(200)
    expect(new X509Certificate(pki.origin2.certDer).subject).to.contain('other.localhost')
    // A broken config on SIGHUP keeps the running one.
    writeFileSync(cfg, JSON.stringify({ routes: [{ prefix: '/', upstream: backend.url, require: ['Not-A-Key'] }] }))
    p.child.kill('SIGHUP')
    for (let i = 0; i < 50 && !p.stderr().includes('reload failed'); i++) await new Promise((r) => setTimeout(r, 100))
    expect(p.stderr()).to.contain('reload failed')
    expect((await fetchH2(s, '/open/y')).status).to.equal(200)
  })

  it('refuses a label that is not an sf-key and a missing flag with a one-line error, exit 1', async () => {
    const p = gateway(['--upstream', backend.url, '--require', 'Device'])
    expect(await p.exited()).to.equal(1)
    expect(p.stderr()).to.match(/^h2sc: .*sf-key/)
    const q = startH2sc(['sidecar', '--port', '0'])
    procs.push(q)
    expect(await q.exited()).to.equal(1)
    expect(q.stderr()).to.match(/^h2sc: sidecar needs --upstream/)
  })
})
