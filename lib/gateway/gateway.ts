/**
 * The gateway: a reverse proxy that terminates TLS 1.3 + HTTP/2 with secondary certificate
 * authentication (CLIENT -00) and forwards to HTTP/1.1, h2c or https upstreams through undici,
 * adding the identities the route's policy accepted in standard header shapes (RFC 8941
 * Dictionaries of Byte Sequences; RFC 9440 for the handshake certificate).
 *
 * Built on the public server binding and route protection (`createSecureServer`,
 * `ensureIdentities`), so it sees identities exactly as any application does: only a `MetNeed`
 * (validated authenticator + accepted by the policy + subject/issuer checks) is forwarded.
 *
 * Events: 'listening' ({ port, host }), 'access' (AccessLogEntry), 'violation' ({ code, http2Code }),
 * 'upstreamError' ({ route, reason, error }), 'reload', 'close'.
 */
import { EventEmitter } from 'node:events'
import http from 'node:http'
import type http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { PassThrough, pipeline } from 'node:stream'
import type tls from 'node:tls'
import type { Dispatcher } from 'undici'
import { createSecureServer, sessionCerts } from '../binding/attach-server.js'
import { ensureIdentities, problemDetails } from '../binding/require-identities.js'
import type { MetNeed, RequirementResult } from '../binding/require-identities.js'
import type { ProtocolError } from '../errors.js'
import { UsageError } from '../errors.js'
import type { Decision } from '../policy/eku.js'
import { createCertificatePolicy } from '../policy/certificate-policy.js'
import type { CertificatePolicyFn } from '../policy/certificate-policy.js'
import { matchRoute, resolveHeaderNames, resolveLimits, resolveRoutes } from './config.js'
import type { GatewayLimits, HeaderNames, ResolvedRoute, RouteConfig } from './config.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarding.js'
import type { ForwardedIdentity } from './forwarding.js'
import { GatewayMetrics } from './metrics.js'
import { UpstreamPool, upstreamFailure } from './upstream.js'
import { createAssertionSigner } from './assertion.js'
import type { AssertionOptions, AssertionSigner } from './assertion.js'

/** One JSON line of the access log. */
export interface AccessLogEntry {
  readonly time: string
  readonly method: string
  readonly path: string
  readonly protocol: string
  readonly status: number
  /** Route prefix, or null when no route matched. */
  readonly route: string | null
  /** Time to the upstream's response headers; null when the request never went upstream. */
  readonly upstreamMs: number | null
  readonly durationMs: number
  /** Identities forwarded: label, subject (one line), SHA-256 of the leaf DER. */
  readonly identities: readonly { label: string; subject: string; sha256: string }[]
  /** Why the gateway answered itself (problem reason), when it did. */
  readonly reason?: string
  /** Missing needs with their reasons, for a 403. */
  readonly missing?: readonly { label: string; reason: string }[]
  /** The process that served it (one of several with --workers or behind a balancer). */
  readonly pid: number
  /** The protocol violation that ended this request's connection, if one did (digest §3.3 name). */
  readonly violation?: string
}

/** What the 'violation' event carries (and the access log writes as its own line). */
export interface ViolationEntry {
  readonly time: string
  /** The digest's §3.3 name, e.g. `authenticator-requests-at-server`. */
  readonly violation: string
  /** The HTTP/2 error code of the GOAWAY. */
  readonly http2Code: number
  readonly peer: string | undefined
  readonly pid: number
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The gateway's own TLS certificate chain and key (PEM). */
  readonly cert: string | Buffer
  readonly key: string | Buffer
  /** Trust anchors (PEM) for client identities, used by routes that name none. */
  readonly ca?: string | readonly string[]
  /** Routes; or `upstream` (+ `require`) for one route '/'. */
  readonly routes?: readonly RouteConfig[]
  readonly upstream?: string
  readonly require?: readonly string[]
  /** EKU preset. Default 'frank'. */
  readonly policy?: 'frank' | 'rfc5280'
  readonly headers?: Partial<HeaderNames>
  readonly limits?: Partial<GatewayLimits>
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0 (any free port). */
  readonly port?: number
  /** Ask for a TLS handshake client certificate and forward it (RFC 9440) when the policy accepts it. */
  readonly handshakeClientCert?: boolean
  /** Reads files named in `routes` (config-file mode). */
  readonly readFile?: (name: string) => string
  /**
   * Extra request fields per forwarded request (the signed assertion uses this); gets the
   * identities forwarded and the route.
   */
  readonly extraHeaders?: (identities: readonly MetNeed[], route: ResolvedRoute, authority: string | undefined) => Promise<readonly (readonly [string, string])[]> | readonly (readonly [string, string])[]
  /** Metrics registry to use (e.g. shared with the admin listener); default a new one. */
  readonly metrics?: GatewayMetrics
  /** Add a signed `Secondary-Identity-Assertion` (compact JWS) to every forwarded request with identities. */
  readonly assertion?: AssertionOptions
}

interface Resolved {
  routes: ResolvedRoute[]
  names: HeaderNames
  limits: GatewayLimits
  /** The server's trust decision (issue 10): the gateway's anchors and preset. */
  trust: CertificatePolicyFn
}

function anchorsOf(ca: GatewayOptions['ca']): string[] {
  return ca === undefined ? [] : typeof ca === 'string' ? [ca] : [...ca]
}

function resolveAll(o: GatewayOptions): Resolved {
  const limits = resolveLimits(o.limits)
  const names = resolveHeaderNames(o.headers)
  const routeConfigs: RouteConfig[] = o.routes
    ? [...o.routes]
    : o.upstream
      ? [{ prefix: '/', upstream: o.upstream, ...(o.require && o.require.length > 0 ? { require: o.require } : { public: true }) }]
      : []
  if (o.routes && o.upstream) {
    // --upstream beside a config: a catch-all route after the configured ones.
    if (!routeConfigs.some((r) => (r.prefix ?? '/') === '/')) {
      routeConfigs.push({ prefix: '/', upstream: o.upstream, ...(o.require && o.require.length > 0 ? { require: o.require } : { public: true }) })
    }
  }
  const routes = resolveRoutes(routeConfigs, {
    anchors: anchorsOf(o.ca),
    policy: o.policy ?? 'frank',
    identityTimeoutMs: limits.identityTimeoutMs,
    ...(o.readFile ? { readFile: o.readFile } : {}),
  })
  const anchors = anchorsOf(o.ca)
  const trust: CertificatePolicyFn =
    anchors.length > 0
      ? createCertificatePolicy({ anchors, preset: o.policy ?? 'frank' })
      : async (_identity, purpose) => ({ accept: false, reason: 'no-path', detail: 'the gateway has no trust anchors (--ca)', purpose })
  return { routes, names, limits, trust }
}

function oneLine(subject: string): string {
  return subject.replace(/\n/g, ', ')
}

/** Chain of the TLS handshake client certificate (leaf first, DER), if the client sent one. */
function handshakeChain(socket: tls.TLSSocket | undefined): Uint8Array[] | undefined {
  const peer = socket?.getPeerCertificate?.(true) as (tls.DetailedPeerCertificate & { raw?: Buffer }) | undefined
  if (!peer || !peer.raw) return undefined
  const out: Uint8Array[] = []
  let c: tls.DetailedPeerCertificate | undefined = peer
  while (c && c.raw && out.length < 10) {
    out.push(new Uint8Array(c.raw))
    // Node ends the chain with a certificate that is its own issuer.
    if (!c.issuerCertificate || c.issuerCertificate === c || c.issuerCertificate.fingerprint256 === c.fingerprint256) break
    c = c.issuerCertificate
  }
  return out
}

/** The gateway object: `listen()`, `close()`, `reload()`, events. */
export class Gateway extends EventEmitter {
  readonly metrics: GatewayMetrics
  private readonly options: GatewayOptions
  private resolved: Resolved
  private readonly server: http2.Http2SecureServer
  private upstreams: UpstreamPool
  private readonly sessions = new Set<http2.ServerHttp2Session>()
  private readonly h1Sockets = new Set<Socket>()
  private readonly h1InFlight = new WeakMap<Socket, number>()
  private readonly inFlight = new Set<http2.Http2ServerResponse | http.ServerResponse>()
  private readonly handshakeDecisions = new WeakMap<object, Promise<Uint8Array[] | undefined>>()
  private readonly sessionViolations = new WeakMap<object, string>()
  private draining = false
  private closing: Promise<void> | undefined
  private readonly signerReady: Promise<AssertionSigner> | undefined
  private signer: AssertionSigner | undefined

  constructor(options: GatewayOptions) {
    super()
    this.options = options
    this.resolved = resolveAll(options)
    this.metrics = options.metrics ?? new GatewayMetrics()
    this.upstreams = new UpstreamPool(this.resolved.limits)
    if (options.assertion) {
      this.signerReady = createAssertionSigner(options.assertion)
      this.signerReady.then((s) => (this.signer = s), () => {})
    }
    this.server = createSecureServer(
      {
        cert: options.cert,
        key: options.key,
        allowHTTP1: true,
        // TLS 1.3 only: the extension needs RFC 8446 exporters (RFC 9261 §5); allowHTTP1 would
        // otherwise lower the minimum.
        minVersion: 'TLSv1.3',
        ...(options.handshakeClientCert ? { requestCert: true, rejectUnauthorized: false } : {}),
        secondaryCerts: {
          requestTimeoutMs: this.resolved.limits.identityTimeoutMs,
          // The server's trust decision follows the gateway's current anchors (SIGHUP swaps
          // them); each route's own policy still decides what that route forwards.
          trust: (identity, purpose, context) => this.resolved.trust(identity, purpose, context),
        },
      },
      (req, res) => {
        void this.handle(req, res)
      },
    )
    this.server.on('secureConnection', (sock: tls.TLSSocket) => {
      const protocol = sock.alpnProtocol === 'h2' ? 'h2' : 'http/1.1'
      this.metrics.connections.inc({ protocol })
      this.metrics.openConnections.inc()
      sock.once('close', () => this.metrics.openConnections.dec())
      if (protocol !== 'h2') {
        this.h1Sockets.add(sock)
        sock.once('close', () => this.h1Sockets.delete(sock))
        if (this.draining) sock.destroy()
      }
    })
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session)
      session.once('close', () => this.sessions.delete(session))
      session.on('error', () => {})
      if (this.draining) session.close()
      const ctl = sessionCerts(session)
      if (!ctl) return
      // 'validated' counts every answer whose authenticator validated (RFC 9261); 'untrusted' the
      // subset the gateway's anchors and preset (the server-level `trust`, issue 10) rejected.
      ctl.on('identity', (i: { label: string }) => this.metrics.identities.inc({ label: i.label, outcome: 'validated' }))
      ctl.on('untrusted', (u: { label: string }) => {
        this.metrics.identities.inc({ label: u.label, outcome: 'validated' })
        this.metrics.identities.inc({ label: u.label, outcome: 'untrusted' })
      })
      ctl.on('declined', (label: string) => this.metrics.identities.inc({ label, outcome: 'declined' }))
      const peer = session.socket?.remoteAddress
      ctl.on('violation', (e: ProtocolError) => {
        this.metrics.violations.inc({ code: e.violation })
        this.sessionViolations.set(session, e.violation)
        const v: ViolationEntry = { time: new Date().toISOString(), violation: e.violation, http2Code: e.http2Code, peer, pid: process.pid }
        this.emit('violation', v)
      })
    })
    // Garbage, TLS 1.2 and abrupt closes end that connection only.
    this.server.on('tlsClientError', () => {})
    this.server.on('sessionError', () => {})
    this.server.on('clientError', (_e: Error, socket: Socket) => socket.destroy())
  }

  /** The JWKS of the assertion key (RFC 7517 §5), once listening; undefined without one. */
  jwks(): object | undefined {
    return this.signer?.jwks()
  }

  /** The routes in force, longest prefix first. */
  get routes(): readonly ResolvedRoute[] {
    return this.resolved.routes
  }

  /** The address the gateway listens on (after `listen()`). */
  address(): AddressInfo {
    const a = this.server.address()
    if (!a || typeof a === 'string') throw new UsageError('gateway is not listening')
    return a
  }

  /** Starts listening on `options.host` (default 127.0.0.1) : `options.port` (default 0). */
  async listen(): Promise<AddressInfo> {
    // A bad assertion key is a start-up error.
    if (this.signerReady) this.signer = await this.signerReady
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e)
      this.server.once('error', onError)
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    const a = this.address()
    this.emit('listening', { port: a.port, host: a.address })
    return a
  }

  /**
   * New certificate, anchors, routes or limits without dropping connections: new TLS connections
   * use the new certificate (`setSecureContext`), every new request the new routes.
   * @throws UsageError (`ERR_SC_USAGE`) when the new configuration is invalid; the old one stays.
   */
  reload(next: Partial<GatewayOptions>): void {
    const merged: GatewayOptions = { ...this.options, ...next }
    const resolved = resolveAll(merged)
    if (next.cert !== undefined || next.key !== undefined) {
      this.server.setSecureContext({ cert: merged.cert, key: merged.key })
    }
    const oldUpstreams = this.upstreams
    this.resolved = resolved
    Object.assign(this.options, merged)
    this.upstreams = new UpstreamPool(resolved.limits)
    // Requests in flight keep their dispatchers until they end.
    void oldUpstreams.close()
    this.emit('reload')
  }

  /**
   * Graceful stop: no new connections, GOAWAY(NO_ERROR) to every HTTP/2 client (RFC 9113 §6.8),
   * in-flight requests finish within `timeoutMs` (default limits.drainTimeoutMs), then every
   * connection still open is cut. Resolves when everything is closed.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing
    this.draining = true
    const timeoutMs = options.timeoutMs ?? this.resolved.limits.drainTimeoutMs
    this.closing = (async () => {
      const serverClosed = new Promise<void>((r) => this.server.close(() => r()))
      for (const s of this.sessions) s.close()
      for (const sock of this.h1Sockets) if ((this.h1InFlight.get(sock) ?? 0) === 0) sock.destroy()
      const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref())
      const idle = (async () => {
        while (this.sessions.size > 0 || this.h1Sockets.size > 0 || this.inFlight.size > 0) {
          await new Promise((r) => setTimeout(r, 20))
          if (this.closedFlag) return
        }
      })()
      await Promise.race([idle, deadline])
      this.closedFlag = true
      for (const s of this.sessions) s.destroy()
      for (const sock of this.h1Sockets) sock.destroy()
      await serverClosed
      await this.upstreams.destroy()
      this.emit('close')
    })()
    return this.closing
  }

  private closedFlag = false

  private problem(res: http2.Http2ServerResponse, status: number, reason: string, detail: string, extra: Record<string, unknown> = {}): void {
    if (res.headersSent || res.destroyed) return
    const title = http.STATUS_CODES[status] ?? 'Error'
    res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    res.end(JSON.stringify({ type: 'about:blank', title, status, detail, reason, ...extra }) + '\n')
  }

  private handshakeIdentity(req: http2.Http2ServerRequest, route: ResolvedRoute): Promise<Uint8Array[] | undefined> {
    if (!this.options.handshakeClientCert) return Promise.resolve(undefined)
    const key: object = (req.stream as http2.ServerHttp2Stream | undefined)?.session ?? req.socket
    const cacheKey = key
    let p = this.handshakeDecisions.get(cacheKey)
    if (!p) {
      const chain = handshakeChain(req.socket as unknown as tls.TLSSocket)
      // RFC 9440 §4: the header proves only what the gateway checked; only an accepted chain goes.
      p = chain
        ? route.policy({ chain }, 'any').then((d: Decision) => (d.accept ? chain : undefined), () => undefined)
        : Promise.resolve(undefined)
      this.handshakeDecisions.set(cacheKey, p)
    }
    return p
  }

  private async handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
    const t0 = performance.now()
    const isH2 = req.httpVersion === '2.0'
    const sock = req.socket as unknown as Socket
    if (!isH2) {
      this.h1InFlight.set(sock, (this.h1InFlight.get(sock) ?? 0) + 1)
      if (this.draining) res.setHeader('connection', 'close')
    }
    this.inFlight.add(res)
    const path = req.url
    let route: ResolvedRoute | undefined
    let upstreamMs: number | null = null
    let reason: string | undefined
    let missing: { label: string; reason: string }[] | undefined
    let forwarded: MetNeed[] = []
    res.once('close', () => {
      this.inFlight.delete(res)
      if (!isH2) {
        const n = (this.h1InFlight.get(sock) ?? 1) - 1
        this.h1InFlight.set(sock, n)
        if (this.draining && n === 0) sock.destroy()
      }
      const status = res.headersSent ? res.statusCode : 499
      const session = (req.stream as http2.ServerHttp2Stream | undefined)?.session
      const violation = session ? this.sessionViolations.get(session) : undefined
      this.metrics.requests.inc({ status: String(status) })
      const entry: AccessLogEntry = {
        time: new Date().toISOString(),
        method: req.method,
        path,
        protocol: isH2 ? 'h2' : `http/${req.httpVersion}`,
        status,
        route: route?.prefix ?? null,
        upstreamMs: upstreamMs === null ? null : Math.round(upstreamMs * 100) / 100,
        durationMs: Math.round((performance.now() - t0) * 100) / 100,
        identities: forwarded.map((m) => ({ label: m.label, subject: oneLine(m.identity.subject), sha256: m.identity.sha256 })),
        ...(reason ? { reason } : {}),
        ...(missing ? { missing } : {}),
        pid: process.pid,
        ...(violation ? { violation } : {}),
      }
      this.emit('access', entry)
    })

    route = matchRoute(this.resolved.routes, path)
    if (!route) {
      reason = 'no-route'
      this.problem(res, 404, reason, 'no route for this path')
      return
    }
    if (req.method === 'CONNECT') {
      reason = 'method-not-supported'
      this.problem(res, 501, reason, 'CONNECT is not proxied')
      return
    }
    if (route.requirement) {
      if (!isH2) {
        // Secondary certificates exist only on HTTP/2 (CLIENT -00 §1); an HTTP/1.1 client can
        // never meet the need, so say so instead of asking.
        reason = 'http2-required'
        this.problem(res, 403, reason, 'this route requires HTTP/2 with secondary certificate authentication', {
          missing: route.requirement.needs.map((n) => ({ label: n.label, reason: 'http2-required' })),
        })
        return
      }
      let r: RequirementResult
      try {
        r = await ensureIdentities(req, route.requirement)
      } catch (e) {
        reason = 'route-protection-failed'
        this.problem(res, 500, reason, 'route protection failed', { code: (e as { code?: unknown }).code })
        return
      }
      if (res.destroyed || req.stream?.destroyed) return
      if (!r.ok) {
        // Validated / untrusted / declined are counted from the connection's events; an answer
        // that broke the protocol only shows here.
        for (const m of r.missing) if (m.reason === 'protocol-error') this.metrics.identities.inc({ label: m.label, outcome: 'invalid' })
        reason = 'identity-required'
        missing = r.missing.map((m) => ({ label: m.label, reason: m.reason }))
        const body = problemDetails(r)
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(403, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
          res.end(JSON.stringify({ ...body, reason }) + '\n')
        }
        return
      }
      forwarded = [...r.met]
    }
    await this.forward(req, res, route, forwarded, isH2, (ms) => (upstreamMs = ms), (why) => (reason = why))
  }

  private async forward(
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
    route: ResolvedRoute,
    met: readonly MetNeed[],
    isH2: boolean,
    setUpstreamMs: (ms: number) => void,
    setReason: (r: string) => void,
  ): Promise<void> {
    const { names } = this.resolved
    const authority = (req.headers[':authority'] as string | undefined) ?? req.headers.host
    const handshake = await this.handshakeIdentity(req, route)
    const identities: ForwardedIdentity[] = met.map((m) => ({ label: m.label, chain: m.identity.chain }))
    const extra: (readonly [string, string])[] = this.options.extraHeaders ? [...(await this.options.extraHeaders(met, route, authority))] : []
    if (this.signer && met.length > 0) {
      const auth = req.headers.authorization
      extra.push([
        names.assertion,
        await this.signer.sign({
          identities: met.map((m) => ({ label: m.label, subject: oneLine(m.identity.subject), leaf: m.identity.chain[0]!, roles: [...m.decision.roles] })),
          audience: route.upstream.origin,
          authorization: auth,
        }),
      ])
    }
    const sock = req.socket as unknown as Socket
    const headers = upstreamRequestHeaders({
      raw: req.rawHeaders,
      authority,
      hop: { for: sock.remoteAddress, proto: 'https', host: authority },
      names,
      identities,
      handshake,
      extra,
    })
    const rest = route.stripPrefix && route.prefix !== '/' ? req.url.slice(route.prefix.length) : req.url
    const upstreamPath = route.upstream.basePath + (rest.startsWith('/') ? rest : `/${rest}`)
    const hasBody = isH2
      ? !(req.stream as http2.ServerHttp2Stream & { endAfterHeaders?: boolean }).endAfterHeaders
      : req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
    // The body goes through a PassThrough so an upstream failure (undici destroys the body it
    // was given) does not destroy the client's request, which still gets its 502.
    let body: PassThrough | null = null
    if (hasBody) {
      body = new PassThrough({ highWaterMark: 64 * 1024 })
      req.pipe(body)
    }
    // undici takes an EventEmitter as the abort signal; an AbortController per request (and the
    // DOMException machinery behind it) showed up at ~5 % of the gateway's profile.
    const ac = { signal: Object.assign(new EventEmitter(), { aborted: false }) }
    const onClientGone = (): void => {
      if (!res.writableFinished && !ac.signal.aborted) {
        ac.signal.aborted = true
        ac.signal.emit('abort')
      }
    }
    res.once('close', onClientGone)
    const dispatcher: Dispatcher = this.upstreams.for(route)
    const t = performance.now()
    let up: Dispatcher.ResponseData
    try {
      up = await dispatcher.request({
        path: upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: ac.signal,
      })
    } catch (e) {
      setUpstreamMs(performance.now() - t)
      if (res.destroyed || ac.signal.aborted) return
      const f = upstreamFailure(e)
      setReason(f.reason)
      this.emit('upstreamError', { route: route.prefix, reason: f.reason, error: e })
      if (body) req.unpipe(body)
      this.problem(res, f.status, f.reason, f.status === 504 ? 'the upstream did not answer in time' : 'the upstream could not be reached or failed')
      return
    }
    const ms = performance.now() - t
    setUpstreamMs(ms)
    this.metrics.upstreamSeconds.observe({ route: route.prefix }, ms / 1000)
    if (res.destroyed) {
      up.body.destroy()
      return
    }
    const h = clientResponseHeaders(up.headers)
    try {
      res.writeHead(up.statusCode, h as http2.OutgoingHttpHeaders)
    } catch (e) {
      // A field node:http2 refuses (RFC 9113 §8.2.2) means the upstream answered nonsense.
      up.body.destroy()
      setReason('upstream-bad-response')
      this.emit('upstreamError', { route: route.prefix, reason: 'upstream-bad-response', error: e })
      this.problem(res, 502, 'upstream-bad-response', 'the upstream sent a response that cannot be relayed')
      return
    }
    await new Promise<void>((resolve) => {
      pipeline(up.body, res as unknown as NodeJS.WritableStream, (err) => {
        if (err && !ac.signal.aborted) {
          const f = upstreamFailure(err)
          setReason(f.reason)
          this.emit('upstreamError', { route: route.prefix, reason: f.reason, error: err })
        }
        resolve()
      })
    })
  }
}

/**
 * Creates a gateway (not yet listening).
 * @throws UsageError (`ERR_SC_USAGE`) for invalid configuration (labels that are not sf-keys,
 *   bad upstreams, a protected route without anchors, unreadable anchors)
 */
export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options)
}

