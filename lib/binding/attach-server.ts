/**
 * Server binding: adds secondary certificate authentication (CLIENT -00, SERVER -02) to a real
 * `http2.Http2SecureServer`. Every HTTP/2 connection whose TLS is 1.3 is routed through a frame
 * interposer; the I/O-free `ServerState` decides, this file carries out its actions.
 */
import http2 from 'node:http2'
import tls from 'node:tls'
import type { Codepoints } from '../config.js'
import { FrameTooLargeError, PeerTimeoutError, UsageError } from '../errors.js'
import type { ProtocolError, ViolationName } from '../errors.js'
import { ExportedAuthenticators } from '../ea/authenticators.js'
import type { RequestOptions } from '../ea/authenticators.js'
import { ServerState } from '../proto/server-state.js'
import type { ServerAction } from '../proto/server-state.js'
import { attachInterposerToServer } from './tls-facade.js'
import type { FrameInterposer } from './interposer.js'
import type { LoadedCredential } from './credentials.js'
import { identityFromVerdict } from './identity.js'
import type { Identity } from './identity.js'
import { publish } from './diagnostics.js'
import type { ServerSessionEvents } from './events.js'
import { purposeOfRequest, warnNoTrustAnchors } from './trust.js'
import type { ServerTrust } from './trust.js'
import type { Purpose } from '../policy/eku.js'
import { mergeSettings, resolveServerOptions } from './options.js'
import type { ResolvedServerOptions, ServerExtensionOptions } from './options.js'
import { SessionDriver } from './session-driver.js'

export type { ServerExtensionOptions } from './options.js'

/** One identity to ask for. */
export interface IdentityRequest extends RequestOptions {
  /** Name of what is asked for, reported back in the result (e.g. 'device', 'user'). */
  readonly label?: string
  /** What the trust decision checks the answer for. Default: the label if 'device' or 'user', else 'any'. */
  readonly purpose?: Purpose
}

/**
 * The answer to one request, in request order: a trusted identity, a validated identity the
 * server's trust decision did not accept (with the reason), or a decline (empty authenticator).
 */
export type IdentityOutcome =
  | { readonly kind: 'identity'; readonly label: string; readonly identity: Identity }
  | {
      readonly kind: 'untrusted'
      readonly label: string
      readonly identity: Identity
      /** e.g. `no-trust-anchors`, `no-path`, `expired`, `eku-purpose`. */
      readonly reason: string
      readonly detail: string
    }
  | { readonly kind: 'declined'; readonly label: string }

const kController = Symbol.for('h2-secondary-certs.server-session')

interface Waiter {
  readonly label: string
  readonly purpose: Purpose
  resolve(o: IdentityOutcome): void
  reject(e: Error): void
}

/**
 * The extension's view of one HTTP/2 server session. Events (typed, `ServerSessionEvents`):
 * `'identity'` (a trusted Identity), `'untrusted'`, `'declined'` (label), `'violation'`
 * (ProtocolError), `'sendError'`, `'close'`.
 */
export class ServerSessionCerts extends SessionDriver<ServerAction, ServerSessionEvents> {
  readonly ea: ExportedAuthenticators
  private readonly serverState: ServerState
  private readonly waiters = new Map<number, Waiter>()
  /**
   * Labels of requests on the wire, kept past a timeout: the drafts cannot withdraw a request,
   * so a late answer is still validated and its identity keeps the label it was asked under.
   */
  private readonly labels = new Map<number, string>()
  private readonly purposes = new Map<number, Purpose>()
  private readonly identityList: Identity[] = []
  /** Trust decisions run one at a time, so identities keep their arrival order. */
  private deciding: Promise<void> = Promise.resolve()
  private readonly trust: ServerTrust
  private readonly requestTimeoutMs: number
  private nextId = 1

  /** @internal created by the server binding for each interposed connection */
  constructor(ea: ExportedAuthenticators, interposer: FrameInterposer, resolved: ResolvedServerOptions) {
    super('server', interposer, resolved.codepoints)
    this.ea = ea
    this.requestTimeoutMs = resolved.requestTimeoutMs
    this.trust = resolved.trust
    this.serverState = new ServerState({
      ea,
      codepoints: resolved.codepoints,
      clientCertAuth: resolved.clientCertAuth,
      serverCertAuth: resolved.serverCertAuth,
      maxAuthenticatorBytes: resolved.maxAuthenticatorBytes,
    })
    this.setState(this.serverState)
  }

  /** The connection's state machine. */
  get state(): ServerState {
    return this.serverState
  }

  /** Trusted identities of this connection, in arrival order (see the server's `trust` option). */
  get identities(): readonly Identity[] {
    return this.identityList.filter((i) => i.trusted)
  }

  /**
   * Every identity validated on this connection, trusted or not, in arrival order. Check
   * `identity.trusted` before relying on one.
   */
  get allIdentities(): readonly Identity[] {
    return this.identityList
  }

  /** The server's trust policy (undefined without a `trust` option); route protection defaults to it. */
  get trustPolicy(): ServerTrust['policy'] {
    return this.trust.policy
  }

  /** True once the client advertised SETTINGS_HTTP_CLIENT_CERT_AUTH and we did. */
  get isClientCertAuthActive(): boolean {
    return this.serverState.negotiation.isClientCertAuthActive
  }

  /** The client's SETTINGS_HTTP_CLIENT_CERT_AUTH (0 until its SETTINGS arrived). */
  get peerCredentialLimit(): number {
    return this.serverState.negotiation.peerClientCertAuth
  }

  /**
   * Asks the client for identities (CLIENT -00 §4.1) and resolves with one outcome per request,
   * in order. Requests beyond the client's limit are queued and sent as answers come in.
   * @throws PeerTimeoutError (`ERR_SC_TIMEOUT`) when not all answers arrive in time
   * @throws ClosedError (`ERR_SC_CLOSED`) when the connection ends first
   * @throws ProtocolError (`ERR_SC_PROTOCOL`) when the client broke the protocol
   */
  requestIdentities(requests: readonly IdentityRequest[], options: { timeoutMs?: number } = {}): Promise<IdentityOutcome[]> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (requests.length === 0) return Promise.resolve([])
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs
    const pending: { id: number; bytes: Uint8Array; label: string; purpose: Purpose }[] = requests.map((r, i) => {
      const { label, purpose, ...req } = r
      const l = label ?? `request-${i + 1}`
      return { id: this.nextId++, bytes: this.ea.request(req), label: l, purpose: purposeOfRequest(l, purpose) }
    })
    const promises = pending.map(
      (p) =>
        new Promise<IdentityOutcome>((resolve, reject) => {
          this.waiters.set(p.id, { label: p.label, purpose: p.purpose, resolve, reject })
          this.labels.set(p.id, p.label)
          this.purposes.set(p.id, p.purpose)
        }),
    )
    const all = Promise.all(promises)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const p of pending) {
          // A request still queued here never reaches the client; one on the wire may yet be answered.
          if (this.serverState.cancelQueued(p.id)) {
            this.labels.delete(p.id)
            this.purposes.delete(p.id)
          }
          this.waiters.delete(p.id)
        }
        reject(new PeerTimeoutError(`client did not answer ${pending.length} authenticator request(s) in time`, timeoutMs))
      }, timeoutMs)
      timer.unref?.()
    })
    this.run(this.serverState.requestAuthenticators(pending.map(({ id, bytes }) => ({ id, bytes }))))
    return Promise.race([all, timeout]).finally(() => clearTimeout(timer))
  }

  /**
   * Sends a secondary server certificate now, or once negotiation completes (SERVER -02 §3.2).
   * @throws FrameTooLargeError (`ERR_SC_FRAME_TOO_LARGE`) when the client's settings are known and
   *   the authenticator exceeds its SETTINGS_MAX_FRAME_SIZE; the connection is unaffected. When
   *   the check can only happen later, a `'sendError'` event carries the same error.
   * @throws ClosedError (`ERR_SC_CLOSED`) after the session closed
   */
  sendServerCertificate(credential: LoadedCredential): void {
    if (this.closedError) throw this.closedError
    const auth = this.ea.authenticate({ credential })
    const n = this.serverState.negotiation
    if (n.hasPeerSettings && auth.length > n.peerMaxFrameSize) throw new FrameTooLargeError(auth.length, n.peerMaxFrameSize)
    this.run(this.serverState.sendServerCertificate(auth))
  }

  protected onAction(a: ServerAction): void {
    if (a.kind !== 'result') return
    const w = this.waiters.get(a.id)
    this.waiters.delete(a.id)
    const label = w?.label ?? this.labels.get(a.id) ?? `request-${a.id}`
    const purpose = w?.purpose ?? this.purposes.get(a.id) ?? purposeOfRequest(label, undefined)
    this.labels.delete(a.id)
    this.purposes.delete(a.id)
    const v = a.verdict
    if (v.kind === 'identity') {
      this.admit(identityFromVerdict(label, v), purpose, w)
    } else if (v.kind === 'declined') {
      this.emit('declined', label)
      w?.resolve({ kind: 'declined', label })
    } else if (w) {
      // The GOAWAY action that follows ends the session: the waiter fails with that
      // ProtocolError (its cause is the validation error), like every other held request.
      this.waiters.set(a.id, w)
    }
  }

  /**
   * Decides the trust of a validated identity, then records and reports it (issue 10): trusted
   * ones as `'identity'` events and `identity` outcomes, others as `'untrusted'` with the reason.
   */
  private admit(validated: Identity, purpose: Purpose, w: Waiter | undefined): void {
    this.deciding = this.deciding.then(async () => {
      const identity = await this.trust.decide(validated, purpose)
      const label = identity.label
      this.identityList.push(identity)
      if (identity.trust.trusted) {
        this.emit('identity', identity)
        w?.resolve({ kind: 'identity', label, identity })
      } else {
        const { reason, detail } = identity.trust
        this.emit('untrusted', { label, identity, reason, detail })
        w?.resolve({ kind: 'untrusted', label, identity, reason, detail })
      }
    })
  }

  protected onShutdown(error: Error): void {
    for (const [, w] of this.waiters) w.reject(error)
    this.waiters.clear()
    this.labels.clear()
    this.purposes.clear()
  }

  protected remoteViolation(sentTypes: ReadonlySet<number>): ViolationName | undefined {
    // A client that rejects our SERVER_CERTIFICATE answers GOAWAY (SERVER -02 §6.1).
    return sentTypes.has(this.codepoints.frameServerCertificate) ? 'server-authenticator-invalid' : undefined
  }

  protected endConnection(error: ProtocolError): void {
    // Our GOAWAY is out and nothing follows it; the held requests already failed with `error`.
    // The session and its streams close without an error event: a server application with no
    // 'error' listener on a stream must not crash because a client misbehaved.
    if (!error.remote) this.interposer.destroy()
  }
}

/** The extension object of a server session, a stream, or a compat request; undefined if none. */
export function sessionCerts(
  target: http2.Http2Session | http2.ServerHttp2Stream | http2.Http2ServerRequest | undefined | null,
): ServerSessionCerts | undefined {
  if (!target) return undefined
  // An HTTP/1.x request on a server with `allowHTTP1` has no HTTP/2 session.
  if ((target as { httpVersionMajor?: unknown }).httpVersionMajor === 1) return undefined
  const session =
    'stream' in target && (target as http2.Http2ServerRequest).stream
      ? (target as http2.Http2ServerRequest).stream.session
      : 'session' in target && (target as http2.ServerHttp2Stream).session
        ? (target as http2.ServerHttp2Stream).session
        : (target as http2.Http2Session)
  if (!session) return undefined
  try {
    const sock = session.socket as unknown as Record<symbol, unknown> | undefined
    return (sock?.[kController] as ServerSessionCerts | undefined) ?? undefined
  } catch {
    return undefined
  }
}

/**
 * Trusted identities of the connection of a session, stream or compat request: validated *and*
 * accepted by the server's `trust` option. Empty for HTTP/1.1, plain clients, and servers without
 * `trust`. With `{ includeUntrusted: true }`, every validated identity (check `trusted`).
 */
export function identitiesOf(
  target: http2.Http2Session | http2.ServerHttp2Stream | http2.Http2ServerRequest,
  options: { readonly includeUntrusted?: boolean } = {},
): readonly Identity[] {
  const ctl = sessionCerts(target)
  if (!ctl) return []
  return options.includeUntrusted ? ctl.allIdentities : ctl.identities
}

/** What `attachSecondaryCerts` returns. */
export interface SecondaryCertServer {
  readonly codepoints: Codepoints
  readonly serverCredentials: readonly LoadedCredential[]
  /** Custom settings the server advertises. */
  readonly customSettings: Record<number, number>
  /** Every option with its default applied. */
  readonly resolved: ResolvedServerOptions
}

const kAttached = Symbol.for('h2-secondary-certs.attached')

/** The extension attached to a server by this package, or undefined. */
export function attachedSecondaryCerts(server: object): SecondaryCertServer | undefined {
  return (server as Record<symbol, SecondaryCertServer | undefined>)[kAttached]
}

/** HTTP/2 settings (to merge into the server's) that advertise the extension. */
export function serverSettings(options: ServerExtensionOptions = {}): http2.Settings {
  return resolveServerOptions(options).settings
}

/**
 * Adds the extension to an existing `Http2SecureServer` (created with TLS 1.3 allowed). Call
 * before it accepts connections. Servers from `createSecureServer` of this package are already
 * set up.
 * @throws UsageError (`ERR_SC_USAGE`) for a server that is not an `Http2SecureServer` (h2c has no
 *   TLS exporter, RFC 9261 §5), one that cannot negotiate TLS 1.3, one already listening, or one
 *   the extension is already attached to.
 */
export function attachSecondaryCerts(server: http2.Http2SecureServer, options: ServerExtensionOptions = {}): SecondaryCertServer {
  return attach(server, resolveServerOptions(options), true)
}

/** Refuses servers the extension cannot work on, with what to do instead. */
function checkAttachable(server: http2.Http2SecureServer): void {
  if (attachedSecondaryCerts(server) !== undefined) {
    throw new UsageError(
      'secondary certificates are already attached to this server (createSecureServer of this package attaches them): attach once',
    )
  }
  if (!(server instanceof tls.Server)) {
    throw new UsageError(
      'attachSecondaryCerts needs an http2.createSecureServer server: h2c (http2.createServer) has no TLS 1.3 exporter (RFC 9261 §5)',
    )
  }
  if (server.listening) throw new UsageError('attachSecondaryCerts must be called before server.listen()')
  const maxVersion = (server as unknown as { maxVersion?: unknown }).maxVersion
  if (typeof maxVersion === 'string' && maxVersion !== 'TLSv1.3') {
    throw new UsageError(`this server's maxVersion is ${maxVersion}: the extension needs TLS 1.3 (RFC 9261 §5); allow TLSv1.3`)
  }
}

function attach(server: http2.Http2SecureServer, resolved: ResolvedServerOptions, sendSettings: boolean): SecondaryCertServer {
  checkAttachable(server)
  const cp = resolved.codepoints
  if (!resolved.trust.policy && resolved.clientCertAuth) warnNoTrustAnchors(server)

  // Sessions are created synchronously inside the connection listener, so the controller is on
  // the facade before node:http2 builds the session over it.
  attachInterposerToServer(
    server,
    {
      extensionFrameTypes: resolved.extensionFrameTypes,
      maxInboundExtensionFrameBytes: resolved.maxAuthenticatorBytes,
      ...(resolved.nativePathForPlainClients ? { peekClientSettings: [cp.settingClientCertAuth, cp.settingServerCertAuth] } : {}),
    },
    (interposer: FrameInterposer, tlsSocket: tls.TLSSocket, facade: object) => {
      let ea: ExportedAuthenticators
      try {
        ea = ExportedAuthenticators.fromTlsSocket(tlsSocket, { role: 'server', provider: resolved.provider })
      } catch (e) {
        publish('error', { role: 'server', error: e })
        return
      }
      const ctl = new ServerSessionCerts(ea, interposer, resolved)
      ;(facade as Record<symbol, unknown>)[kController] = ctl
      for (const cred of resolved.serverCredentials) ctl.sendServerCertificate(cred)
    },
  )
  if (sendSettings) {
    server.prependListener('session', (session: http2.ServerHttp2Session) => {
      if (sessionCerts(session)) session.settings(resolved.settings)
    })
  }
  if (resolved.announceOrigins && resolved.serverCredentials.length > 0) {
    server.on('session', (session: http2.ServerHttp2Session) => {
      if (!sessionCerts(session)) return
      const origins = originsToAnnounce(resolved.serverCredentials, (session.socket as { localPort?: number }).localPort)
      if (origins.length > 0) session.origin(...origins)
    })
  }
  const result: SecondaryCertServer = {
    codepoints: cp,
    serverCredentials: resolved.serverCredentials,
    customSettings: { ...(resolved.settings as { customSettings: Record<number, number> }).customSettings },
    resolved,
  }
  Object.defineProperty(server, kAttached, { value: result, enumerable: false })
  return result
}

/**
 * RFC 8336 §2.1 ORIGIN entries for the DNS names of the secondary certificates (wildcards are not
 * origins), `https` at the connection's local port (the default port 443 is left out, RFC 6454 §6.2).
 */
function originsToAnnounce(credentials: readonly LoadedCredential[], port: number | undefined): string[] {
  const suffix = port === undefined || port === 443 ? '' : `:${port}`
  const out = new Set<string>()
  for (const c of credentials) {
    for (const part of (c.leaf.subjectAltName ?? '').split(/,\s*/)) {
      const m = /^DNS:(.+)$/.exec(part.trim())
      if (m && !m[1]!.includes('*')) out.add(`https://${m[1]!.toLowerCase()}${suffix}`)
    }
  }
  return [...out]
}

/**
 * `http2.createSecureServer` with the extension attached: a real `Http2SecureServer` (compat API,
 * `allowHTTP1`, `setTimeout` all as usual). TLS defaults to 1.3 minimum unless `allowHTTP1` or
 * `minVersion` says otherwise; connections that are not TLS 1.3 simply do not get the extension.
 * @throws UsageError (`ERR_SC_USAGE`) for bad extension options or a `maxVersion` below TLS 1.3.
 */
export function createSecureServer(
  options: http2.SecureServerOptions & { secondaryCerts?: ServerExtensionOptions },
  onRequest?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  const { secondaryCerts, ...h2options } = options
  const ext = secondaryCerts ?? {}
  if (h2options.maxVersion !== undefined && h2options.maxVersion !== 'TLSv1.3') {
    throw new UsageError(`maxVersion ${h2options.maxVersion}: the extension needs TLS 1.3 (RFC 9261 §5)`)
  }
  const resolved = resolveServerOptions(ext)
  const merged: http2.SecureServerOptions = {
    minVersion: 'TLSv1.3',
    ...h2options,
    settings: mergeSettings(h2options.settings, resolved.settings),
  }
  const server = onRequest ? http2.createSecureServer(merged, onRequest) : http2.createSecureServer(merged)
  attach(server, resolved, false)
  return server
}
