import { expect } from 'chai'
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type http2 from 'node:http2'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'
import { startH2sc } from './support/processes.js'
import type { H2scProcess } from './support/processes.js'

interface Access {
  path: string
  status: number
  pid: number
  identities: { label: string }[]
}

function accessLines(p: H2scProcess): Access[] {
  return p.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Access)
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

async function waitFor(f: () => boolean, ms: number): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 50) await new Promise((r) => setTimeout(r, 50))
}

describe('gateway scale-out: --workers and an L4 (TCP passthrough) balancer', function () {
  this.timeout(180000)
  let pki: TestPki
  let dir: string
  let backend: Backend
  const procs: H2scProcess[] = []
  const sessions: http2.ClientHttp2Session[] = []
  let haproxy: ChildProcess | undefined

  before(async () => {
    pki = await gatewayPki()
    dir = mkdtempSync(join(tmpdir(), 'h2sc-scale-'))
    await writeTestPki(pki, dir)
    backend = await startBackend()
  })
  after(async () => {
    await backend.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy()
    if (haproxy && haproxy.exitCode === null) {
      haproxy.kill('SIGKILL')
      await once(haproxy, 'exit')
    }
    haproxy = undefined
    for (const p of procs.splice(0)) await p.kill()
  })

  function gateway(extra: string[]): H2scProcess {
    const p = startH2sc(['gateway', '--port', '0', '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server-key.pem'), '--ca', join(dir, 'ca.pem'), '--upstream', backend.url, '--require', 'device,user', ...extra])
    procs.push(p)
    return p
  }

  /** Opens `n` connections, one device+user request each; returns the echoes. */
  async function authenticate(url: string, n: number): Promise<Echo[]> {
    const out: Echo[] = []
    for (let i = 0; i < n; i++) {
      const s = deviceUserClient(url, pki)
      sessions.push(s)
      const r = await fetchH2(s, `/conn-${i}`)
      expect(r.status).to.equal(200)
      out.push(JSON.parse(r.body.toString()) as Echo)
    }
    return out
  }

  it('--workers 2: connections spread over two processes, each authenticating device + user; metrics summed; SIGTERM exits 0', async () => {
    const gw = gateway(['--workers', '2', '--admin-port', '0'])
    const port = Number((await gw.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const admin = Number((await gw.line(/^admin on http:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const echoes = await authenticate(`https://127.0.0.1:${port}`, 8)
    for (const e of echoes) expect(Object.keys(e.secondary!).sort()).to.deep.equal(['device', 'user'])
    await waitFor(() => accessLines(gw).length >= 8, 5000)
    const pids = new Set(accessLines(gw).map((a) => a.pid))
    expect(pids.size, 'requests served by both workers').to.equal(2)
    expect(pids.has(gw.child.pid!)).to.equal(false)
    const metrics = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${admin}/metrics`, (res) => {
        let b = ''
        res.on('data', (c: Buffer) => (b += c.toString()))
        res.on('end', () => resolve(b))
      }).on('error', reject)
    })
    expect(metrics).to.match(/h2sc_gateway_requests_total\{status="200"\} 8/)
    gw.child.kill('SIGTERM')
    expect(await gw.exited()).to.equal(0)
  })

  it('haproxy in TCP mode in front of two gateway processes: clients land on both, each authenticating end to end', async function () {
    const has = await new Promise<boolean>((r) => execFile('haproxy', ['-v'], (e) => r(!e)))
    if (!has) {
      console.log('    skipped: haproxy is not installed (.ci/run installs it)')
      this.skip()
    }
    const a = gateway([])
    const b = gateway([])
    const pa = Number((await a.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const pb = Number((await b.line(/^listening on https:\/\/127\.0\.0\.1:(\d+)$/))[1])
    const front = await freePort()
    const cfg = join(dir, 'haproxy.cfg')
    writeFileSync(cfg, [
      'global',
      '  maxconn 256',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend gateways',
      `  bind 127.0.0.1:${front}`,
      '  default_backend pool',
      'backend pool',
      '  balance roundrobin',
      `  server g1 127.0.0.1:${pa}`,
      `  server g2 127.0.0.1:${pb}`,
      '',
    ].join('\n'))
    haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    haproxy.stderr!.on('data', (c: Buffer) => (err += c.toString()))
    // Wait until haproxy accepts.
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((r) => net.connect(front, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true) }).on('error', () => r(false)))
      if (ok) break
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${err}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const echoes = await authenticate(`https://127.0.0.1:${front}`, 6)
    for (const e of echoes) {
      expect(Buffer.from(e.secondary!['device']!, 'base64').equals(Buffer.from(pki.device.certDer))).to.equal(true)
      expect(Buffer.from(e.secondary!['user']!, 'base64').equals(Buffer.from(pki.user.certDer))).to.equal(true)
    }
    await waitFor(() => accessLines(a).length + accessLines(b).length >= 6, 5000)
    const onA = accessLines(a).filter((x) => x.status === 200 && x.identities.length === 2)
    const onB = accessLines(b).filter((x) => x.status === 200 && x.identities.length === 2)
    expect(onA.length, 'connections on gateway 1').to.be.greaterThan(0)
    expect(onB.length, 'connections on gateway 2').to.be.greaterThan(0)
    expect(onA.length + onB.length).to.equal(6)
  })
})
