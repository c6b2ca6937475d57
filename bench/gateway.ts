/**
 * `npm run bench -- --only gateway` (issue 13 item 9): requests/s through the gateway with the
 * extension on (every client connection holds a device and a user identity, every request is on
 * a protected route and carries both in Secondary-Client-Cert) ÷ the same gateway with it off
 * (public route, plain HTTP/2 clients), and ÷ Debian's nginx (TLS 1.3 + HTTP/2 in front,
 * `proxy_pass` to the same upstream over HTTP/1.1 keep-alive). 12 B and 64 KB responses; the
 * gateway's CPU per request (from /proc, the gateway runs in its own process); JS memory per idle
 * connection. One load generator for all three (Node HTTP/2 clients in this process: h2load cannot
 * hold secondary identities), c connections × m streams, interleaved rounds, medians.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '../lib/client.js'
import { createTestPki, writeTestPki } from '../lib/pki/test-pki.js'
import type { TestPki } from '../lib/pki/test-pki.js'

const PROCS = fileURLToPath(new URL('./gateway-procs.js', import.meta.url))
const CONNECTIONS = 10
const STREAMS = 10

interface Proc {
  child: ChildProcess
  port: number
  lines: string[]
  next(re: RegExp): Promise<string>
}

function startProc(cmd: string, args: string[]): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] })
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
  const next = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${cmd}: no ${String(re)}`)), 30000)
      const check = (): void => {
        const k = lines.findIndex((l) => re.test(l))
        if (k >= 0) {
          clearTimeout(t)
          resolve(lines.splice(0, k + 1).at(-1)!)
        } else waiters.push(check)
      }
      check()
    })
  return next(/^listening on \d+$/).then((l) => ({ child, port: Number(l.split(' ').at(-1)), lines, next }))
}

/** utime + stime of a process and its children so far, in µs (Linux /proc). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(f[11]) + Number(f[12])
  return (ticks * 1e6) / 100
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port
      s.close(() => resolve(p))
    })
  })
}

type Opener = () => http2.ClientHttp2Session

function opener(port: number, pki: TestPki, identities: boolean): Opener {
  const url = `https://127.0.0.1:${port}`
  return () => {
    const s = identities
      ? connect(url, {
          ca: pki.caPem,
          secondaryCerts: {
            credentials: [
              { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
              { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
            ],
          },
        })
      : http2.connect(url, { ca: pki.caPem })
    s.on('error', () => {})
    return s
  }
}

function one(s: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ':path': path })
    let status = 0
    st.on('response', (h) => (status = Number(h[':status'])))
    st.on('data', () => {})
    st.on('end', () => resolve(status))
    st.on('error', (e: Error & { code?: string }) => (e.code === 'ERR_HTTP2_STREAM_ERROR' ? resolve(-1) : reject(e)))
  })
}

/** n requests over CONNECTIONS sessions with STREAMS in flight each; requests/s. */
async function load(open: Opener, path: string, n: number, name = ''): Promise<number> {
  const sessions = Array.from({ length: CONNECTIONS }, open)
  try {
    // Connect and (extension on) authenticate before the clock starts.
    for (const s of sessions) if ((await one(s, path)) !== 200) throw new Error(`warm-up on ${path} failed`)
    let left = n
    let failed = 0
    const t0 = performance.now()
    await Promise.all(
      sessions.flatMap((s) =>
        Array.from({ length: STREAMS }, async () => {
          while (left > 0) {
            left--
            if ((await one(s, path)) !== 200) failed++
          }
        }),
      ),
    )
    const secs = (performance.now() - t0) / 1000
    if (failed > 0) throw new Error(`${name}: ${failed} of ${n} requests failed on ${path}`)
    return n / secs
  } finally {
    for (const s of sessions) s.destroy()
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server-key.pem;
    ssl_protocols TLSv1.3;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_max_temp_file_size 0;
    }
  }
}
`
}

export interface GatewayBench {
  readonly rounds: number
  readonly rows: readonly {
    size: string
    extRps: number
    offRps: number
    nginxRps: number | null
    extOverOff: number
    extOverNginx: number | null
    offOverNginx: number | null
    cpuUsPerReqExt: number
    cpuUsPerReqOff: number
  }[]
  readonly memory: { perIdleConnectionExtKb: number; perIdleConnectionOffKb: number; connections: number }
  readonly nginx: string
}

export async function runGatewayBench(opts: { rounds?: number; n12?: number; n64?: number } = {}): Promise<GatewayBench> {
  const rounds = opts.rounds ?? 5
  const pki = await createTestPki({ keyType: 'p256' })
  const dir = mkdtempSync(join(tmpdir(), 'h2sc-gw-bench-'))
  const procs: ChildProcess[] = []
  try {
    await writeTestPki(pki, dir)
    const backend = await startProc(process.execPath, [PROCS, 'backend'])
    procs.push(backend.child)
    const upstream = `http://127.0.0.1:${backend.port}`
    const ext = await startProc(process.execPath, ['--expose-gc', PROCS, 'gateway', dir, upstream, 'ext'])
    procs.push(ext.child)
    const off = await startProc(process.execPath, ['--expose-gc', PROCS, 'gateway', dir, upstream, 'off'])
    procs.push(off.child)
    let nginxPort: number | null = null
    let nginxNote = 'not installed'
    if (spawnSync('nginx', ['-v']).status === 0) {
      nginxPort = await freePort()
      for (const d of ['nginx-body', 'nginx-proxy', 'nginx-fcgi', 'nginx-uwsgi', 'nginx-scgi']) mkdirSync(join(dir, d))
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, backend.port))
      const ng = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'nginx-error.log')], { stdio: 'ignore' })
      procs.push(ng)
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((r) => net.connect(nginxPort!, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true) }).on('error', () => r(false)))
        if (ok) break
        await new Promise((r) => setTimeout(r, 50))
      }
      nginxNote = (spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr || '').trim() + ', 1 worker process'
    }
    const openExt = opener(ext.port, pki, true)
    const openOff = opener(off.port, pki, false)
    const openNginx = nginxPort !== null ? opener(nginxPort, pki, false) : undefined
    const rows: GatewayBench['rows'][number][] = []
    for (const [size, path, n] of [['12 B', '/12', opts.n12 ?? 6000], ['64 KB', '/64k', opts.n64 ?? 2000]] as const) {
      // Warm-up (JIT, pools).
      await load(openExt, path, n / 4, 'ext')
      await load(openOff, path, n / 4, 'off')
      if (openNginx) await load(openNginx, path, n / 4, 'nginx')
      const e: number[] = []
      const o: number[] = []
      const g: number[] = []
      const ce: number[] = []
      const co: number[] = []
      for (let r = 0; r < rounds; r++) {
        let c0 = cpuUs(ext.child.pid!)
        e.push(await load(openExt, path, n, 'ext'))
        ce.push((cpuUs(ext.child.pid!) - c0) / (n + CONNECTIONS))
        c0 = cpuUs(off.child.pid!)
        o.push(await load(openOff, path, n, 'off'))
        co.push((cpuUs(off.child.pid!) - c0) / (n + CONNECTIONS))
        if (openNginx) g.push(await load(openNginx, path, n, 'nginx'))
      }
      const extRps = median(e)
      const offRps = median(o)
      const nginxRps = openNginx ? median(g) : null
      rows.push({
        size,
        extRps: Math.round(extRps),
        offRps: Math.round(offRps),
        nginxRps: nginxRps === null ? null : Math.round(nginxRps),
        extOverOff: round2(extRps / offRps),
        extOverNginx: nginxRps === null ? null : round2(extRps / nginxRps),
        offOverNginx: nginxRps === null ? null : round2(offRps / nginxRps),
        cpuUsPerReqExt: Math.round(median(ce)),
        cpuUsPerReqOff: Math.round(median(co)),
      })
    }
    // Memory per idle connection: open K connections (authenticated for ext), measure the
    // gateway's retained JS memory before and after.
    const K = 100
    const mem = async (p: Proc): Promise<number> => {
      p.child.stdin!.write('mem\n')
      return (JSON.parse(await p.next(/^\{"heap"/)) as { heap: number }).heap
    }
    const idle = async (p: Proc, open: Opener): Promise<number> => {
      const before = await mem(p)
      const sessions = Array.from({ length: K }, open)
      for (const s of sessions) await one(s, '/12')
      const after = await mem(p)
      for (const s of sessions) s.destroy()
      return (after - before) / K / 1024
    }
    const perExt = await idle(ext, openExt)
    const perOff = await idle(off, openOff)
    return {
      rounds,
      rows,
      memory: { perIdleConnectionExtKb: round2(perExt), perIdleConnectionOffKb: round2(perOff), connections: K },
      nginx: nginxNote,
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

export function formatGateway(b: GatewayBench): string {
  const out: string[] = []
  out.push(`Gateway (our load client: ${CONNECTIONS} connections x ${STREAMS} streams, median of ${b.rounds} interleaved rounds; nginx: ${b.nginx})`)
  out.push('  size    ext on req/s  ext off req/s  nginx req/s   on/off  on/nginx  off/nginx  gateway CPU µs/req on / off')
  for (const r of b.rows) {
    out.push(
      `  ${r.size.padEnd(6)}  ${String(r.extRps).padStart(12)}  ${String(r.offRps).padStart(13)}  ${String(r.nginxRps ?? '-').padStart(11)}   ${r.extOverOff.toFixed(2).padStart(6)}  ${(r.extOverNginx?.toFixed(2) ?? '-').padStart(8)}  ${(r.offOverNginx?.toFixed(2) ?? '-').padStart(9)}  ${r.cpuUsPerReqExt} / ${r.cpuUsPerReqOff}`,
    )
  }
  out.push(`  JS memory per idle connection (${b.memory.connections} open): ${b.memory.perIdleConnectionExtKb} KB with two identities, ${b.memory.perIdleConnectionOffKb} KB plain`)
  out.push('  targets: on/off >= 0.9; on/nginx reported as measured (profile if below 0.5)')
  return out.join('\n')
}
