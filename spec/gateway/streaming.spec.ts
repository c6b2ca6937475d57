import { expect } from 'chai'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway } from '../../lib/gateway/gateway.js'
import { writeTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'

const MB = 1024 * 1024
const PROBE = fileURLToPath(new URL('./support/gateway-probe.ts', import.meta.url))

/** The backend's /big pattern: bytes 0..255 repeated. */
function pattern(n: number): Buffer {
  const one = Buffer.alloc(65536)
  for (let i = 0; i < one.length; i++) one[i] = i & 0xff
  const out = Buffer.alloc(n)
  for (let o = 0; o < n; o += one.length) one.copy(out, o, 0, Math.min(one.length, n - o))
  return out
}

/** A Readable of `n` bytes made on demand (never held whole), and the SHA-256 it will have. */
function generated(n: number): { stream: Readable; sha256: string } {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  const h = createHash('sha256')
  for (let o = 0; o < n; o += chunk.length) h.update(chunk.subarray(0, Math.min(chunk.length, n - o)))
  let sent = 0
  const stream = new Readable({
    read() {
      if (sent >= n) return void this.push(null)
      const part = chunk.subarray(0, Math.min(chunk.length, n - sent))
      sent += part.length
      this.push(part)
    },
  })
  return { stream, sha256: h.digest('hex') }
}

/** The probe's stdout lines, and a way to wait for one. */
function lineReader(child: ChildProcess): (re: RegExp) => Promise<string> {
  const lines: string[] = []
  const waiters: (() => void)[] = []
  let buf = ''
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
    for (const w of waiters.splice(0)) w()
  })
  return (re) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe: no ${String(re)}`)), 60000)
      const check = (): void => {
        const k = lines.findIndex((l) => re.test(l))
        if (k >= 0) {
          clearTimeout(timer)
          resolve(lines.splice(0, k + 1).at(-1)!)
        } else waiters.push(check)
      }
      check()
    })
}

describe('gateway: streaming bodies and upstream kinds', function () {
  this.timeout(90000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway | undefined
  const sessions: http2.ClientHttp2Session[] = []
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
  })
  after(async () => backend.stop())
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy()
    await gw?.close({ timeoutMs: 500 })
    gw = undefined
    for (const c of closers.splice(0)) await c()
  })

  async function start(upstream: string, more: Partial<Parameters<typeof createGateway>[0]> = {}): Promise<http2.ClientHttp2Session> {
    gw = createGateway({
      cert: pki.server.chainPem,
      key: pki.server.keyPem,
      ca: pki.caPem,
      ...(more.routes ? {} : { upstream, require: ['device', 'user'] }),
      limits: { identityTimeoutMs: 3000 },
      ...more,
    })
    const port = (await gw.listen()).port
    const s = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    sessions.push(s)
    return s
  }

  it('streams a 10 MB upload to the backend and a 10 MB download back; the gateway process retains well under the body size', async () => {
    // The gateway runs in a process of its own so that only its memory is measured.
    const dir = mkdtempSync(join(tmpdir(), 'h2sc-probe-'))
    closers.push(async () => rmSync(dir, { recursive: true, force: true }))
    await writeTestPki(pki, dir)
    const probe = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, dir, backend.url], { stdio: ['pipe', 'pipe', 'inherit'] })
    closers.push(async () => {
      probe.stdin!.end()
      if (probe.exitCode === null) await once(probe, 'exit')
    })
    const next = lineReader(probe)
    const port = Number(/listening on (\d+)/.exec(await next(/^listening on /))![1])
    const s = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    sessions.push(s)
    expect((await fetchH2(s, '/warm')).status).to.equal(200)
    const measure = async <T>(f: () => Promise<T>): Promise<{ value: T; peak: number }> => {
      if (!probe.stdin!.writable) throw new Error('probe gone')
      probe.stdin!.write('mark\n')
      await next(/^marked$/)
      const value = await f()
      if (!probe.stdin!.writable) throw new Error('probe gone')
      probe.stdin!.write('report\n')
      return { value, peak: (JSON.parse(await next(/^\{"peak"/)) as { peak: number }).peak }
    }
    const up = await measure(async () => {
      const body = generated(10 * MB)
      const stream = s.request({ ':path': '/upload', ':method': 'POST' })
      body.stream.pipe(stream)
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      await new Promise((r) => stream.on('end', r))
      return { echo: JSON.parse(Buffer.concat(chunks).toString()) as Echo, sha256: body.sha256 }
    })
    expect(up.value.echo.body_length).to.equal(10 * MB)
    expect(up.value.echo.body_sha256).to.equal(up.value.sha256)
    expect(up.value.echo.secondary && Object.keys(up.value.echo.secondary).sort()).to.deep.equal(['device', 'user'])
    const down = await measure(async () => {
      const stream = s.request({ ':path': `/big?n=${10 * MB}` })
      const h = createHash('sha256')
      let n = 0
      stream.on('data', (c: Buffer) => {
        h.update(c)
        n += c.length
      })
      await new Promise((r) => stream.on('end', r))
      return { n, sha256: h.digest('hex') }
    })
    expect(down.value.n).to.equal(10 * MB)
    expect(down.value.sha256).to.equal(createHash('sha256').update(pattern(10 * MB)).digest('hex'))
    if (process.env['GW_VERBOSE']) console.log('retained peaks', up.peak, down.peak)
    // A body held whole would add at least 10 MB.
    expect(up.peak, `upload: gateway retained ${up.peak} bytes`).to.be.below(4 * MB)
    expect(down.peak, `download: gateway retained ${down.peak} bytes`).to.be.below(4 * MB)
  })

  it('forwards to an h2c upstream (HTTP/2 prior knowledge) with bodies both ways', async () => {
    const h2c = http2.createServer()
    h2c.on('stream', (stream, headers) => {
      const h = createHash('sha256')
      let n = 0
      stream.on('data', (c: Buffer) => {
        h.update(c)
        n += c.length
      })
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/json' })
        stream.end(JSON.stringify({ n, sha256: h.digest('hex'), path: headers[':path'], sc: headers['secondary-client-cert'], fwd: headers['forwarded'] }))
      })
    })
    await new Promise<void>((r) => h2c.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => h2c.close(() => r())))
    const s = await start(`h2c://127.0.0.1:${(h2c.address() as AddressInfo).port}/base`)
    const r = await fetchH2(s, '/x', { method: 'PUT', body: Buffer.alloc(300000, 7) })
    expect(r.status).to.equal(200)
    const j = JSON.parse(r.body.toString()) as { n: number; sha256: string; path: string; sc: string; fwd: string }
    expect(j.n).to.equal(300000)
    expect(j.sha256).to.equal(createHash('sha256').update(Buffer.alloc(300000, 7)).digest('hex'))
    expect(j.path).to.equal('/base/x')
    expect(j.sc).to.match(/^device=:[A-Za-z0-9+/=]+:, user=:[A-Za-z0-9+/=]+:$/)
    expect(j.fwd).to.contain('proto=https')
  })

  it('forwards to an https upstream verified against a configured CA', async () => {
    const up = https.createServer({ cert: pki.server.chainPem, key: pki.server.keyPem }, (req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ path: req.url, sc: req.headers['secondary-client-cert'] ?? null, alpn: (req.socket as import('node:tls').TLSSocket).alpnProtocol }))
    })
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => {
      up.close(() => r())
      up.closeAllConnections()
    }))
    const port = (up.address() as AddressInfo).port
    const s = await start(`https://127.0.0.1:${port}`, {
      routes: [{ prefix: '/', upstream: `https://127.0.0.1:${port}`, require: ['device', 'user'], upstreamCa: pki.caPem }],
    })
    const r = await fetchH2(s, '/secure')
    expect(r.status).to.equal(200)
    const j = JSON.parse(r.body.toString()) as { path: string; sc: string }
    expect(j.path).to.equal('/secure')
    expect(j.sc).to.match(/^device=:.+:, user=:.+:$/)
    // Without the CA the upstream's certificate is not trusted: 502, never a plaintext fallback.
    await gw!.close({ timeoutMs: 200 })
    const s2 = await start(`https://127.0.0.1:${port}`)
    const bad = await fetchH2(s2, '/secure')
    expect(bad.status).to.equal(502)
    expect(JSON.parse(bad.body.toString())).to.include({ reason: 'upstream-tls' })
  })
})
