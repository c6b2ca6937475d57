import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { attachInterposerToServer, wrapClientSocket } from '../../lib/binding/tls-facade.js'
import type { AttachInterposerOptions, WrapOptions } from '../../lib/binding/tls-facade.js'
import type { FrameInterposer } from '../../lib/binding/interposer.js'

/*
 * TLS 1.3 / HTTP/2 loopback helpers for the binding specs: a self-signed P-256 certificate made
 * once per process with `openssl req`, servers on 127.0.0.1:0 that track every session and
 * socket so `afterEach` can close them, and clients plain or wrapped in a frame interposer.
 */

/** A self-signed certificate for `localhost` and 127.0.0.1. */
export interface TestCert {
  readonly key: string
  readonly cert: string
}

let cached: TestCert | undefined

/** Self-signed P-256 certificate (CN and SAN localhost, SAN IP 127.0.0.1), made once. */
export function testCert(): TestCert {
  if (cached) return cached
  const dir = mkdtempSync(join(tmpdir(), 'h2sc-loopback-'))
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days', '2', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' })
    cached = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
    return cached
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A listening HTTP/2 server and everything it opened. */
export interface LoopbackServer {
  readonly server: http2.Http2SecureServer
  readonly port: number
  readonly origin: string
  /** Server sessions, in creation order. */
  readonly sessions: http2.ServerHttp2Session[]
  /** Accepted TLS sockets, in order. */
  readonly tlsSockets: tls.TLSSocket[]
  /** Interposers made by `attachInterposerToServer`, in order (wrapped servers only). */
  readonly interposers: FrameInterposer[]
  /** Sockets handed to http2's connection listener: TLSSocket (native) or the facade. */
  readonly handedSockets: object[]
  close(): Promise<void>
}

/** Options of `startServer`. */
export interface StartServerOptions {
  /** Wrap h2 connections with `attachInterposerToServer` using these options. */
  readonly wrap?: AttachInterposerOptions
  /** Runs in `onWrapped`, before the session exists. */
  readonly onWrapped?: (interposer: FrameInterposer, tlsSocket: tls.TLSSocket) => void
  readonly h2?: http2.SecureServerOptions
  readonly onRequest?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void
  readonly onStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void
}

/** Starts an HTTP/2 TLS 1.3 server on 127.0.0.1:0. */
export async function startServer(options: StartServerOptions = {}): Promise<LoopbackServer> {
  const { key, cert } = testCert()
  const h2options: http2.SecureServerOptions = { key, cert, minVersion: 'TLSv1.3', ...options.h2 }
  const server = options.onRequest ? http2.createSecureServer(h2options, options.onRequest) : http2.createSecureServer(h2options)
  const sessions: http2.ServerHttp2Session[] = []
  const tlsSockets: tls.TLSSocket[] = []
  const interposers: FrameInterposer[] = []
  const handedSockets: object[] = []
  server.prependListener('secureConnection', (s: tls.TLSSocket) => {
    tlsSockets.push(s)
  })
  if (options.wrap) {
    attachInterposerToServer(server, options.wrap, (interposer, tlsSocket) => {
      interposers.push(interposer)
      options.onWrapped?.(interposer, tlsSocket)
    })
  }
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.push(s)
    // The proxy reports the prototype of the socket http2 was given.
    handedSockets.push(Object.getPrototypeOf(s.socket) as object)
    s.on('error', () => undefined)
  })
  if (options.onStream) server.on('stream', options.onStream)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    server,
    port,
    origin: `https://localhost:${port}`,
    sessions,
    tlsSockets,
    interposers,
    handedSockets,
    async close(): Promise<void> {
      for (const s of sessions) if (!s.destroyed) s.destroy()
      for (const t of tlsSockets) if (!t.destroyed) t.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** TLS options a test client needs to trust the loopback certificate. */
export function clientTlsOptions(port: number): tls.ConnectionOptions {
  return { host: '127.0.0.1', port, servername: 'localhost', ca: testCert().cert, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3' }
}

/** Raw TLS 1.3 connection with ALPN h2 (for hand-written HTTP/2 bytes). */
export async function connectRawTls(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({ ...clientTlsOptions(port), ...options })
  socket.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve())
    socket.once('error', reject)
  })
  return socket
}

/** A plain `node:http2` client. */
export function connectPlain(port: number, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const session = http2.connect(`https://localhost:${port}`, { ca: testCert().cert, host: '127.0.0.1', ...options } as http2.SecureClientSessionOptions)
  session.on('error', () => undefined)
  return session
}

/** A client whose TLS socket is wrapped in a frame interposer and the TLS facade. */
export interface WrappedClient {
  readonly session: http2.ClientHttp2Session
  readonly interposer: FrameInterposer
  readonly tlsSocket: tls.TLSSocket
}

/** A `node:http2` client over a frame interposer (`wrapClientSocket`). */
export function connectWrapped(
  port: number,
  wrap: WrapOptions,
  options: http2.SecureClientSessionOptions = {},
  onWrapped?: (interposer: FrameInterposer) => void,
  tlsOptions: tls.ConnectionOptions = {},
): WrappedClient {
  let interposer: FrameInterposer | undefined
  let tlsSocket: tls.TLSSocket | undefined
  const session = http2.connect(`https://localhost:${port}`, {
    ...options,
    createConnection: () => {
      tlsSocket = tls.connect({ ...clientTlsOptions(port), ...tlsOptions })
      const w = wrapClientSocket(tlsSocket, wrap)
      interposer = w.interposer
      onWrapped?.(w.interposer)
      return w.socket
    },
  })
  session.on('error', () => undefined)
  return { session, interposer: interposer!, tlsSocket: tlsSocket! }
}

/** Resolves when the client session is connected (rejects on error or close first). */
export async function whenConnected(session: http2.ClientHttp2Session): Promise<void> {
  if (!session.connecting) return
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve())
    session.once('error', reject)
    session.once('close', () => reject(new Error('closed before connect')))
  })
}

/** Resolves with the first event `name` of `emitter`, or rejects after `timeoutMs`. */
export async function once<T = unknown>(
  emitter: NodeJS.EventEmitter,
  name: string,
  timeoutMs = 4000,
): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(name, on)
      reject(new Error(`no '${name}' within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (value: T): void => {
      clearTimeout(timer)
      resolve(value)
    }
    emitter.once(name, on)
  })
}

/** Makes one request and collects status and body. */
export async function fetchText(
  session: http2.ClientHttp2Session,
  path = '/',
  headers: http2.OutgoingHttpHeaders = {},
  timeoutMs = 4000,
): Promise<{ status: number; body: Buffer }> {
  const stream = session.request({ ':path': path, ...headers })
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let status = 0
    const timer = setTimeout(() => reject(new Error(`no response to ${path} in ${timeoutMs} ms`)), timeoutMs)
    stream.on('response', (h) => (status = Number(h[':status'])))
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => {
      clearTimeout(timer)
      resolve({ status, body: Buffer.concat(chunks) })
    })
    stream.on('close', () => {
      clearTimeout(timer)
      if (stream.rstCode) reject(new Error(`stream reset ${stream.rstCode}`))
    })
    stream.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

/** Polls `predicate` every 5 ms until true or `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
