/**
 * Gateway test harness: a Python http.server echo backend (another language, another process),
 * the test PKI, and HTTP/2 clients with and without secondary credentials.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import http2 from 'node:http2'
import { fileURLToPath } from 'node:url'
import { connect } from '../../../lib/client.js'
import { createTestPki } from '../../../lib/pki/test-pki.js'
import type { TestPki } from '../../../lib/pki/test-pki.js'

let pki: Promise<TestPki> | undefined

/** One P-256 test PKI per process. */
export function gatewayPki(): Promise<TestPki> {
  pki ??= createTestPki({ keyType: 'p256' })
  return pki
}

export const BACKEND_PY = fileURLToPath(new URL('./backend.py', import.meta.url))

/** A running Python backend. */
export interface Backend {
  readonly port: number
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** Starts spec/gateway/support/backend.py on 127.0.0.1 and waits for its "listening on" line. */
export async function startBackend(): Promise<Backend> {
  const child = spawn('python3', [BACKEND_PY], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error('backend did not start')), 30000)
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString()
      const m = /listening on (\d+)/.exec(buf)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`backend exited with ${code}`))
    })
  })
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

/** A client that holds the device and user credentials of the PKI. */
export function deviceUserClient(url: string, p: TestPki): http2.ClientHttp2Session {
  const s = connect(url, {
    ca: p.caPem,
    secondaryCerts: {
      credentials: [
        { label: 'device', cert: p.device.chainPem, key: p.device.keyPem },
        { label: 'user', cert: p.user.chainPem, key: p.user.keyPem },
      ],
    },
  })
  s.on('error', () => {})
  return s
}

/** A plain node:http2 client (no extension). */
export function plainClient(url: string, p: TestPki): http2.ClientHttp2Session {
  const s = http2.connect(url, { ca: p.caPem })
  s.on('error', () => {})
  return s
}

/** Response of {@link fetchH2}. */
export interface H2Response {
  status: number
  headers: http2.IncomingHttpHeaders
  body: Buffer
}

/** One request on a session; collects the body. */
export function fetchH2(
  session: http2.ClientHttp2Session,
  path: string,
  opts: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: Buffer | string } = {},
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': opts.method ?? 'GET', ...(opts.headers ?? {}) }, { endStream: opts.body === undefined })
    let headers: http2.IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    stream.on('response', (h) => (headers = h))
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks) }))
    stream.on('error', reject)
    stream.on('close', () => {
      if (stream.rstCode && stream.rstCode !== 0) reject(Object.assign(new Error(`stream reset ${stream.rstCode}`), { rstCode: stream.rstCode }))
    })
    if (opts.body !== undefined) stream.end(opts.body)
  })
}

/** What the echo backend reports. */
export interface Echo {
  method: string
  path: string
  headers: [string, string][]
  body_length: number
  body_sha256: string
  secondary?: Record<string, string>
  secondary_chain?: Record<string, string[]>
  client_cert?: string
  parse_error?: string
}

export function header(e: Echo, name: string): string[] {
  return e.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
}
