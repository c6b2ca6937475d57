/**
 * The sidecar: the client side of the gateway for programs that cannot speak the extension. It
 * listens on loopback for HTTP/1.1 (and HTTP/2 with prior knowledge, RFC 9113 §3.3) and forwards
 * every request over one pooled HTTP/2 connection to the upstream origin, on which it answers
 * AUTHENTICATOR_REQUESTS with its configured credentials (CLIENT -00 §4). A GOAWAY retires the
 * connection (RFC 9113 §6.8): streams on it finish, new requests go to a fresh one.
 *
 * Built on the public client binding (`connect`). Events: 'listening' ({ port, host }),
 * 'access' (SidecarAccessEntry), 'connect' (upstream session), 'goaway' ({ code }), 'upstreamError'.
 */
import { EventEmitter } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { pipeline } from 'node:stream'
import { clientCerts, connect } from '../binding/attach-client.js'
import type { LabelledCredentialInput } from '../binding/credentials.js'
import { UsageError } from '../errors.js'
import { clientResponseHeaders } from '../gateway/forwarding.js'

/** Options of {@link createSidecar}. */
export interface SidecarOptions {
  /** `https://HOST:PORT` of the origin (a gateway, or any server using the extension). */
  readonly upstream: string
  /** Trust anchors (PEM) for the upstream's TLS certificate. Default: Node's bundled roots. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[]
  /** Credentials to answer certificate requests with (device, user, ...). */
  readonly credentials: readonly LabelledCredentialInput[]
  /** Default 127.0.0.1 (loopback only: anyone who can reach the sidecar acts with its credentials). */
  readonly host?: string
  readonly port?: number
  /** TLS server name. Default: the upstream's host name (none for an IP address). */
  readonly servername?: string
  /** Time to the upstream's response headers (the server may be asking for identities). Default 30 s. */
  readonly responseTimeoutMs?: number
}

/** One JSON line of the sidecar's access log. */
export interface SidecarAccessEntry {
  readonly time: string
  readonly method: string
  readonly path: string
  readonly protocol: string
  readonly status: number
  readonly upstreamMs: number | null
  readonly durationMs: number
  /** Labels of credentials presented on the upstream connection so far. */
  readonly presented: readonly string[]
  readonly reason?: string
}

/** RFC 9110 §7.6.1 hop-by-hop fields, plus Host (becomes :authority) and h2c upgrade leftovers. */
const HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'expect'])

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

type AnyReq = http.IncomingMessage | http2.Http2ServerRequest
type AnyRes = http.ServerResponse | http2.Http2ServerResponse

/** The sidecar object: `listen()`, `close()`, events. */
export class Sidecar extends EventEmitter {
  private readonly options: SidecarOptions
  private readonly url: URL
  private readonly authority: string
  private readonly tcp: net.Server
  private readonly h1: http.Server
  private readonly h2c: http2.Http2Server
  private current: http2.ClientHttp2Session | undefined
  private readonly upstreamSessions = new Set<http2.ClientHttp2Session>()
  private readonly sockets = new Set<Socket>()
  private closed = false
  private inFlight = 0

  constructor(options: SidecarOptions) {
    super()
    this.options = options
    let url: URL
    try {
      url = new URL(options.upstream)
    } catch (e) {
      throw new UsageError(`sidecar upstream is not a URL: ${options.upstream}`, { cause: e })
    }
    if (url.protocol !== 'https:' || url.pathname !== '/' || url.search) throw new UsageError(`sidecar upstream must be https://HOST:PORT, got ${options.upstream}`)
    this.url = url
    this.authority = url.host
    const handler = (req: AnyReq, res: AnyRes): void => void this.handle(req, res)
    this.h1 = http.createServer({ keepAliveTimeout: 5000 }, handler)
    this.h1.on('clientError', (_e, socket) => socket.destroy())
    this.h2c = http2.createServer({}, handler)
    this.h2c.on('sessionError', () => {})
    this.tcp = net.createServer((socket) => this.sniff(socket))
  }

  /**
   * Tells HTTP/2 prior knowledge (the client preface, RFC 9113 §3.4) from HTTP/1.1 by the first
   * bytes, then hands the socket, with those bytes put back, to the right server.
   */
  private sniff(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), 10000)
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      const n = Math.min(buf.length, PREFACE.length)
      const couldBeH2 = buf.subarray(0, n).equals(PREFACE.subarray(0, n))
      if (couldBeH2 && buf.length < PREFACE.length) return
      clearTimeout(timer)
      socket.off('data', onData)
      socket.pause()
      socket.unshift(buf)
      if (couldBeH2) {
        // node:http2 feeds bytes already in the socket's readable buffer to nghttp2 itself.
        this.h2c.emit('connection', socket)
      } else {
        // node:http reads through 'data' events; the put-back bytes flow only once resumed.
        this.h1.emit('connection', socket)
        socket.resume()
      }
    }
    socket.on('data', onData)
  }

  /** The address the sidecar listens on. */
  address(): AddressInfo {
    const a = this.tcp.address()
    if (!a || typeof a === 'string') throw new UsageError('sidecar is not listening')
    return a
  }

  /** Starts listening (default 127.0.0.1, port 0). */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject)
      this.tcp.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.tcp.off('error', reject)
        resolve()
      })
    })
    const a = this.address()
    this.emit('listening', { port: a.port, host: a.address })
    return a
  }

  /** The upstream session for new requests: the current one, or a new one after GOAWAY/close. */
  session(): http2.ClientHttp2Session {
    const c = this.current
    if (c && !c.closed && !c.destroyed) return c
    const s = connect(this.url, {
      ...(this.options.ca !== undefined ? { ca: this.options.ca as string | Buffer | (string | Buffer)[] } : {}),
      ...(this.options.servername ? { servername: this.options.servername } : {}),
      secondaryCerts: { credentials: this.options.credentials, credentialLimit: Math.max(2, this.options.credentials.length) },
    })
    this.current = s
    this.upstreamSessions.add(s)
    const retire = (): void => {
      if (this.current === s) this.current = undefined
    }
    s.on('connect', () => this.emit('connect', s))
    s.on('goaway', (code: number) => {
      retire()
      this.emit('goaway', { code })
    })
    s.on('error', (e: Error) => {
      retire()
      this.emit('upstreamError', { reason: 'session-error', error: e })
    })
    s.once('close', () => {
      retire()
      this.upstreamSessions.delete(s)
    })
    return s
  }

  private problem(res: AnyRes, status: number, reason: string, detail: string): void {
    if (res.headersSent || res.destroyed) return
    res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    res.end(JSON.stringify({ type: 'about:blank', title: http.STATUS_CODES[status] ?? 'Error', status, detail, reason }) + '\n')
  }

  private async handle(req: AnyReq, res: AnyRes): Promise<void> {
    const t0 = performance.now()
    const isH2 = req.httpVersion === '2.0'
    let upstreamMs: number | null = null
    let reason: string | undefined
    let session: http2.ClientHttp2Session | undefined
    this.inFlight++
    res.once('close', () => {
      this.inFlight--
      const presented = session ? [...new Set((clientCertsAnswers(session) ?? []).filter((l): l is string => l !== null))] : []
      this.emit('access', {
        time: new Date().toISOString(),
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        protocol: isH2 ? 'h2c' : `http/${req.httpVersion}`,
        status: res.headersSent ? res.statusCode : 499,
        upstreamMs: upstreamMs === null ? null : Math.round(upstreamMs * 100) / 100,
        presented,
        ...(reason ? { reason } : {}),
        durationMs: Math.round((performance.now() - t0) * 100) / 100,
      } satisfies SidecarAccessEntry)
    })
    if (this.closed) {
      reason = 'closing'
      this.problem(res, 503, reason, 'the sidecar is shutting down')
      return
    }
    const headers: http2.OutgoingHttpHeaders = {
      ':method': req.method ?? 'GET',
      ':path': req.url ?? '/',
      ':scheme': 'https',
      ':authority': this.authority,
    }
    const raw = req.rawHeaders
    const connection = new Set<string>()
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) connection.add(t.trim().toLowerCase())
    }
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!.toLowerCase()
      if (n.startsWith(':') || HOP.has(n) || connection.has(n)) continue
      const prev = headers[n]
      // Repeated fields stay repeated (an array); cookies too (RFC 9113 §8.2.3 allows split crumbs).
      headers[n] = prev === undefined ? raw[i + 1]! : Array.isArray(prev) ? [...prev, raw[i + 1]!] : [String(prev), raw[i + 1]!]
    }
    const hasBody = isH2
      ? !((req as http2.Http2ServerRequest).stream as http2.ServerHttp2Stream & { endAfterHeaders?: boolean }).endAfterHeaders
      : req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
    const t = performance.now()
    const attempt = (retry: boolean): void => {
      session = this.session()
      let stream: http2.ClientHttp2Stream
      try {
        stream = session.request(headers, { endStream: !hasBody })
      } catch (e) {
        if (retry) {
          this.current = undefined
          attempt(false)
          return
        }
        reason = 'upstream-unavailable'
        this.emit('upstreamError', { reason, error: e })
        this.problem(res, 502, reason, 'no connection to the upstream')
        return
      }
      const timer = setTimeout(() => {
        reason = 'upstream-timeout'
        stream.close(http2.constants.NGHTTP2_CANCEL)
        this.problem(res, 504, reason, 'the upstream did not answer in time')
      }, this.options.responseTimeoutMs ?? 30000)
      let responded = false
      res.once('close', () => {
        clearTimeout(timer)
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL)
      })
      if (hasBody) pipeline(req, stream, () => {})
      stream.on('response', (h) => {
        clearTimeout(timer)
        responded = true
        upstreamMs = performance.now() - t
        const status = Number(h[':status'])
        if (res.headersSent || res.destroyed) return
        try {
          res.writeHead(status, clientResponseHeaders(h as Record<string, string | string[]>) as http.OutgoingHttpHeaders)
        } catch {
          reason = 'upstream-bad-response'
          this.problem(res, 502, reason, 'the upstream sent a response that cannot be relayed')
          stream.close(http2.constants.NGHTTP2_CANCEL)
          return
        }
        pipeline(stream, res as NodeJS.WritableStream, () => {})
      })
      stream.on('error', () => {})
      stream.once('close', () => {
        clearTimeout(timer)
        if (responded) return
        // REFUSED_STREAM (RFC 9113 §8.7): the request was not processed; safe to send again once
        // when no body was consumed.
        if (retry && !hasBody && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
          attempt(false)
          return
        }
        reason ??= 'upstream-reset'
        this.emit('upstreamError', { reason, error: new Error(`stream closed with code ${stream.rstCode}`) })
        this.problem(res, 502, reason, 'the upstream reset the request or the connection failed')
      })
    }
    attempt(true)
  }

  /** Stops listening, lets requests in flight finish (up to `timeoutMs`, default 5 s), closes upstream. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true
    const done = Promise.all([
      new Promise<void>((r) => this.tcp.close(() => r())),
    ])
    this.h1.closeIdleConnections()
    for (const s of this.upstreamSessions) s.close()
    const deadline = new Promise<void>((r) => setTimeout(r, options.timeoutMs ?? 5000).unref())
    const idle = (async () => {
      while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    })()
    await Promise.race([idle, deadline])
    for (const sock of this.sockets) sock.destroy()
    for (const s of this.upstreamSessions) s.destroy()
    await done
    this.emit('close')
  }
}

function clientCertsAnswers(session: http2.ClientHttp2Session): (string | null)[] | undefined {
  return clientCerts(session)?.answers.map((a) => a.label)
}

/**
 * Creates a sidecar (not yet listening).
 * @throws UsageError (`ERR_SC_USAGE`) for an upstream that is not `https://HOST:PORT`
 */
export function createSidecar(options: SidecarOptions): Sidecar {
  return new Sidecar(options)
}
