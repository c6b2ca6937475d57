/**
 * HTTP/2 binding benchmarks, every figure a ratio against a baseline measured in the same run:
 *  - requests/s of h2load against the extension-enabled server vs a plain node:http2 server, for
 *    12-byte and 64 KB responses, both with plain clients on the native path and with the frame
 *    interposer forced on (what an extension-speaking client gets);
 *  - time to authenticate two identities on an open connection vs opening a fresh mTLS
 *    connection and making one request;
 *  - memory per idle connection with and without the extension.
 * A third throughput variant puts node:http2 over the simplest possible pass-through Duplex on a
 * TLS socket: the floor of any design that must see the bytes in JS (node:http2 wraps such a
 * stream in its JSStreamSocket bridge), to tell the bridge's cost from the interposer's.
 */
import { spawnSync, spawn } from 'node:child_process'
import http2 from 'node:http2'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSecureServer, sessionCerts } from '../lib/binding/attach-server.js'
import { connect } from '../lib/binding/attach-client.js'
import { createTestPki, writeTestPki } from '../lib/pki/test-pki.js'
import type { TestPki } from '../lib/pki/test-pki.js'
import type { IdentityRequest } from '../lib/binding/attach-server.js'
import { pemToDerChain } from '../lib/binding/credentials.js'
import { certificateAuthoritiesFromAnchors, ekuOidFilter } from '../lib/policy/certificate-policy.js'
import { connected, get, listen } from '../interop/support/h2.js'

/**
 * A request for one purpose under `caPem` (certificate_authorities + EKU oid_filters, RFC 8446
 * §4.2.4-§4.2.5), built from the public policy functions rather than the CLI's internals.
 */
function purposeRequest(purpose: 'device' | 'user', caPem: string): IdentityRequest {
  return { label: purpose, certificateAuthorities: certificateAuthoritiesFromAnchors(pemToDerChain(caPem)), oidFilters: [ekuOidFilter(purpose)] }
}

export interface H2Bench {
  throughput: { body: string; variant: string; plainRps: number; extensionRps: number; ratio: number; plainCpuUs: number; extensionCpuUs: number; cpuRatio: number }[] | { skipped: string }
  authenticate: { openConnectionMs: number; freshMtlsMs: number; ratio: number }
  memory: { connections: number; plainBytesPerConn: number; extensionBytesPerConn: number; ratio: number }
}

const SMALL = Buffer.alloc(12, 'x')
const LARGE = Buffer.alloc(64 * 1024, 'y')

function h2loadAvailable(): boolean {
  return spawnSync('h2load', ['--version'], { encoding: 'utf8' }).status === 0
}

/** Requests per second seen by h2load, and this process's CPU time per request (µs) meanwhile. */
async function h2load(port: number, path: string, n: number): Promise<{ rps: number; cpuUs: number }> {
  // The servers live in this process and nothing else runs here while h2load does, so the CPU
  // this process uses meanwhile is the server's cost of those requests.
  const cpu0 = process.cpuUsage()
  const rps = await h2loadRun(port, path, n)
  const cpu = process.cpuUsage(cpu0)
  return { rps, cpuUs: (cpu.user + cpu.system) / n }
}

async function h2loadRun(port: number, path: string, n: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const p = spawn('h2load', ['-n', String(n), '-c', '10', '-m', '10', `https://127.0.0.1:${port}${path}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.on('close', () => {
      const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)
      const done = /(\d+) succeeded/.exec(out)
      if (!m || !done || Number(done[1]) !== n) reject(new Error(`h2load failed: ${out.slice(-400)}`))
      else resolve(Number(m[1]))
    })
  })
}

function handler(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' })
  res.end(req.url === '/large' ? LARGE : SMALL)
}

/** TLS server handing node:http2 each socket through a bare pass-through Duplex (see top). */
function bridgeFloorServer(pki: TestPki): tls.Server {
  const h2 = http2.createServer(handler)
  return tls.createServer({ key: pki.server.keyPem, cert: pki.server.chainPem, ALPNProtocols: ['h2'] }, (socket) => {
    // node:http2 asks its socket for no-delay; a bare Duplex cannot pass that on, so do it here.
    socket.setNoDelay(true)
    const bridge = new Duplex({
      read(): void {
        socket.resume()
      },
      writev(chunks, callback): void {
        socket.cork()
        for (const c of chunks) socket.write(c.chunk as Buffer)
        socket.uncork()
        if (socket.writableNeedDrain) socket.once('drain', () => callback())
        else callback()
      },
      final(callback): void {
        socket.end()
        callback()
      },
      destroy(error, callback): void {
        socket.destroy()
        callback(error)
      },
    })
    socket.on('data', (chunk: Buffer) => {
      if (!bridge.push(chunk)) socket.pause()
    })
    socket.on('end', () => bridge.push(null))
    socket.on('close', () => bridge.destroy())
    socket.on('error', () => bridge.destroy())
    h2.emit('connection', bridge)
  })
}

async function throughput(pki: TestPki): Promise<H2Bench['throughput']> {
  if (!h2loadAvailable()) return { skipped: 'h2load not installed (Debian nghttp2-client)' }
  const plain = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, handler)
  const native = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, handler)
  const forced = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { nativePathForPlainClients: false } }, handler)
  const floor = bridgeFloorServer(pki)
  const ports = [await listen(plain), await listen(native), await listen(forced), await listen(floor)] as const
  const rows: { body: string; variant: string; plainRps: number; extensionRps: number; ratio: number; plainCpuUs: number; extensionCpuUs: number; cpuRatio: number }[] = []
  try {
    for (const [path, n] of [['/small', 50000], ['/large', 10000]] as const) {
      const variants = [
        ['plain client (native path)', ports[1]],
        ['interposer forced', ports[2]],
        ['bare Duplex bridge (floor)', ports[3]],
      ] as const
      for (const [variant, port] of variants) {
        // A discarded warm-up of each server (JIT), then interleaved rounds sharing the machine's
        // noise; report the medians.
        await h2loadRun(ports[0], path, n / 5)
        await h2loadRun(port, path, n / 5)
        const a: number[] = []
        const b: number[] = []
        const ca: number[] = []
        const cb: number[] = []
        for (let round = 0; round < 5; round++) {
          const x = await h2load(ports[0], path, n)
          const y = await h2load(port, path, n)
          a.push(x.rps)
          ca.push(x.cpuUs)
          b.push(y.rps)
          cb.push(y.cpuUs)
        }
        const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!
        rows.push({
          body: path === '/small' ? '12 B' : '64 KB',
          variant,
          plainRps: Math.round(med(a)),
          extensionRps: Math.round(med(b)),
          ratio: round2(med(b) / med(a)),
          plainCpuUs: Math.round(med(ca)),
          extensionCpuUs: Math.round(med(cb)),
          cpuRatio: round2(med(cb) / med(ca)),
        })
      }
    }
  } finally {
    for (const s of [plain, native, forced, floor]) await new Promise<void>((r) => s.close(() => r()))
  }
  return rows
}

async function authenticate(pki: TestPki): Promise<H2Bench['authenticate']> {
  const caPem = pki.caPem
  // With trust anchors, as a deployment would have: identities are chain-checked like mTLS's.
  const server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: { anchors: [caPem], preset: 'frank' } } }, async (req, res) => {
    if (req.url === '/auth') {
      await sessionCerts(req)!.requestIdentities([purposeRequest('device', caPem), purposeRequest('user', caPem)])
    }
    res.end('ok')
  })
  const mtls = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, ca: caPem, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('ok'))
  const port = await listen(server)
  const mtlsPort = await listen(mtls)
  const creds = [
    { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
    { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
  ]
  const rounds = 40
  const open: number[] = []
  const fresh: number[] = []
  try {
    for (let i = 0; i < rounds; i++) {
      const s = connect(`https://127.0.0.1:${port}`, { ca: caPem, servername: 'localhost', secondaryCerts: { credentials: creds } })
      await connected(s)
      await get(s, '/warm')
      const t0 = performance.now()
      const r = await get(s, '/auth')
      open.push(performance.now() - t0)
      if (r.status !== 200) throw new Error('bench: authentication failed')
      s.close()
      const t1 = performance.now()
      const m = http2.connect(`https://127.0.0.1:${mtlsPort}`, { ca: caPem, servername: 'localhost', cert: pki.user.chainPem, key: pki.user.keyPem })
      await get(m, '/')
      fresh.push(performance.now() - t1)
      m.close()
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()))
    await new Promise<void>((r) => mtls.close(() => r()))
  }
  // Medians: the first rounds run cold and a shared machine adds outliers.
  const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!
  return { openConnectionMs: round2(med(open)), freshMtlsMs: round2(med(fresh)), ratio: round2(med(open) / med(fresh)) }
}

async function memory(pki: TestPki): Promise<H2Bench['memory']> {
  const n = 200
  const gc = (globalThis as { gc?: () => void }).gc
  /** Full collections until the heap stops shrinking (finalizers and weak callbacks run between). */
  async function settle(): Promise<void> {
    if (!gc) return
    let last = Infinity
    for (let i = 0; i < 6; i++) {
      gc()
      await new Promise((r) => setImmediate(r))
      const u = process.memoryUsage().heapUsed
      if (last - u < 64 * 1024) break
      last = u
    }
  }
  async function measure(ext: boolean, count: number): Promise<number> {
    const server = ext
      ? createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, (_q, r) => r.end('ok'))
      : http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, (_q, r) => r.end('ok'))
    const port = await listen(server)
    await settle()
    const before = process.memoryUsage()
    const sessions: http2.ClientHttp2Session[] = []
    for (let i = 0; i < count; i++) {
      const s = ext
        ? connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost', secondaryCerts: {} })
        : http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
      sessions.push(s)
      await get(s, '/')
    }
    await settle()
    const after = process.memoryUsage()
    for (const s of sessions) s.destroy()
    await new Promise<void>((r) => server.close(() => r()))
    // Both ends live in this process: the figure is client + server per connection (JS heap and
    // external buffers; OpenSSL's own allocations are the same with and without the extension).
    return (after.heapUsed + after.external - before.heapUsed - before.external) / count
  }
  // Warm-up of both kinds (lazy module state, JIT), then interleaved rounds; medians.
  await measure(false, 20)
  await measure(true, 20)
  const plain: number[] = []
  const ext: number[] = []
  for (let round = 0; round < 3; round++) {
    plain.push(await measure(false, n))
    ext.push(await measure(true, n))
  }
  const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!
  const p = med(plain)
  const e = med(ext)
  return { connections: n, plainBytesPerConn: Math.round(p), extensionBytesPerConn: Math.round(e), ratio: round2(e / p) }
}

export async function runH2Bench(): Promise<H2Bench> {
  const pki = await createTestPki({ keyType: 'p256' })
  const dir = mkdtempSync(join(tmpdir(), 'h2sc-bench-'))
  try {
    await writeTestPki(pki, dir)
    return { throughput: await throughput(pki), authenticate: await authenticate(pki), memory: await memory(pki) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

export function formatH2(b: H2Bench): string {
  const out: string[] = ['HTTP/2 binding (ratios: extension / baseline, same run)']
  if ('skipped' in b.throughput) out.push(`  throughput: skipped (${b.throughput.skipped})`)
  else {
    out.push('  h2load -c 10 -m 10, median of 5 interleaved rounds after a warm-up; targets >= 0.95 (12 B) and >= 0.85 (64 KB)')
    for (const r of b.throughput) out.push(`  ${r.body.padEnd(6)} ${r.variant.padEnd(28)} plain ${String(r.plainRps).padStart(7)} req/s  extension ${String(r.extensionRps).padStart(7)} req/s  ratio ${r.ratio.toFixed(2)}`)
    out.push('  server CPU per request (µs, this process while h2load ran; ratio = extension / plain, lower is better)')
    for (const r of b.throughput) out.push(`  ${r.body.padEnd(6)} ${r.variant.padEnd(28)} plain ${String(r.plainCpuUs).padStart(7)} µs     extension ${String(r.extensionCpuUs).padStart(7)} µs     ratio ${r.cpuRatio.toFixed(2)}`)
  }
  const a = b.authenticate
  out.push(`  two identities on an open connection (median) ${a.openConnectionMs} ms vs fresh mTLS connection + request ${a.freshMtlsMs} ms: ratio ${a.ratio.toFixed(2)} (target <= 0.5)`)
  const m = b.memory
  out.push(`  memory per idle connection (client+server, ${m.connections} conns): plain ${m.plainBytesPerConn} B, extension ${m.extensionBytesPerConn} B, ratio ${m.ratio.toFixed(2)}`)
  return out.join('\n')
}
