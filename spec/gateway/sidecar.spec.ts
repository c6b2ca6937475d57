import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway } from '../../lib/gateway/gateway.js'
import { createSidecar } from '../../lib/sidecar/sidecar.js'
import type { Sidecar, SidecarAccessEntry } from '../../lib/sidecar/sidecar.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { gatewayPki, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { maxBuffer: 64 << 20 }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout })
    })
  })
}

function haveCurl(): Promise<boolean> {
  return new Promise((r) => execFile('curl', ['--version'], (e) => r(!e)))
}

function h1(port: number, path: string, opts: { method?: string; body?: Buffer } = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

describe('sidecar: HTTP/1.1 and h2c in, one authenticated HTTP/2 connection out', function () {
  this.timeout(60000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway
  let gwUrl: string
  let sc: Sidecar | undefined

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
    gw = createGateway({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caPem, upstream: backend.url, require: ['device', 'user'], limits: { identityTimeoutMs: 3000 } })
    gwUrl = `https://127.0.0.1:${(await gw.listen()).port}`
  })
  after(async () => {
    await gw.close({ timeoutMs: 500 })
    await backend.stop()
  })
  afterEach(async () => {
    await sc?.close({ timeoutMs: 500 })
    sc = undefined
  })

  async function start(): Promise<number> {
    sc = createSidecar({
      upstream: gwUrl,
      ca: pki.caPem,
      credentials: [
        { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
      ],
    })
    return (await sc.listen()).port
  }

  it('listens on loopback only by default', async () => {
    await start()
    expect(sc!.address().address).to.equal('127.0.0.1')
  })

  it('curl http://127.0.0.1:S/path reaches a route requiring device + user', async function () {
    if (!(await haveCurl())) this.skip()
    const port = await start()
    const r = await curl([`http://127.0.0.1:${port}/path?q=1`])
    expect(r.code).to.equal(0)
    const echo = JSON.parse(r.stdout) as Echo
    expect(echo.path).to.equal('/path?q=1')
    expect(Buffer.from(echo.secondary!['device']!, 'base64').equals(Buffer.from(pki.device.certDer))).to.equal(true)
    expect(Buffer.from(echo.secondary!['user']!, 'base64').equals(Buffer.from(pki.user.certDer))).to.equal(true)
  })

  it('accepts h2c with prior knowledge (curl --http2-prior-knowledge)', async function () {
    if (!(await haveCurl())) this.skip()
    const port = await start()
    const r = await curl(['--http2-prior-knowledge', '-X', 'POST', '--data-binary', 'abc', `http://127.0.0.1:${port}/h2c`])
    expect(r.code).to.equal(0)
    const echo = JSON.parse(r.stdout) as Echo
    expect(echo).to.include({ method: 'POST', body_length: 3 })
    expect(Object.keys(echo.secondary!).sort()).to.deep.equal(['device', 'user'])
  })

  it('runs concurrent requests on one upstream connection and presents each credential once', async () => {
    const port = await start()
    const connects: unknown[] = []
    sc!.on('connect', (s) => connects.push(s))
    const log: SidecarAccessEntry[] = []
    sc!.on('access', (e: SidecarAccessEntry) => log.push(e))
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => h1(port, `/c${i}`)))
    expect(rs.map((r) => r.status)).to.deep.equal(Array(8).fill(200))
    for (const r of rs) expect(Object.keys((JSON.parse(r.body.toString()) as Echo).secondary!).sort()).to.deep.equal(['device', 'user'])
    expect(connects).to.have.length(1)
    expect(log.at(-1)!.presented.slice().sort()).to.deep.equal(['device', 'user'])
  })

  it('reconnects after the upstream sends GOAWAY', async () => {
    const port = await start()
    expect((await h1(port, '/one')).status).to.equal(200)
    const first = sc!.session()
    const goaway = new Promise((r) => first.once('goaway', r))
    // Close the gateway-side sessions gracefully: a second gateway would do, but closing the
    // session from this side's view is what GOAWAY means to the sidecar.
    const gwSide = [...(gw as unknown as { sessions: Set<http2.ServerHttp2Session> }).sessions]
    for (const s of gwSide) s.close()
    await goaway
    const r = await h1(port, '/two')
    expect(r.status).to.equal(200)
    expect(sc!.session()).to.not.equal(first)
  })

  it('streams a 5 MB upload and a 5 MB download through sidecar and gateway intact', async () => {
    const port = await start()
    const size = 5 * 1024 * 1024
    const body = Buffer.alloc(size, 0x5a)
    const up = await new Promise<Echo>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Echo))
      })
      req.on('error', reject)
      for (let o = 0; o < size; o += 65536) req.write(body.subarray(o, o + 65536))
      req.end()
    })
    expect(up.body_length).to.equal(size)
    expect(up.body_sha256).to.equal(createHash('sha256').update(body).digest('hex'))
    expect(Object.keys(up.secondary!).sort()).to.deep.equal(['device', 'user'])
    const down = await h1(port, `/big?n=${size}`)
    expect(down.status).to.equal(200)
    expect(down.body.length).to.equal(size)
    expect(down.body.subarray(0, 4)).to.deep.equal(Buffer.from([0, 1, 2, 3]))
    expect(down.body[size - 1]).to.equal((size - 1) & 0xff)
  })

  it('answers 502 problem+json when the upstream is unreachable', async () => {
    sc = createSidecar({ upstream: 'https://127.0.0.1:1', ca: pki.caPem, credentials: [] })
    const port = (await sc.listen()).port
    const r = await h1(port, '/x')
    expect(r.status).to.equal(502)
    expect(r.headers['content-type']).to.equal('application/problem+json')
  })
})
