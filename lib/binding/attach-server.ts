/**
 * Server binding: adds secondary certificate authentication (CLIENT -00, SERVER -02) to a real
 * `http2.Http2SecureServer`. Every HTTP/2 connection whose TLS is 1.3 is routed through a frame
 * interposer; the I/O-free `ServerState` decides, this file carries out its actions.
 */
import { EventEmitter } from 'node:events'
import http2 from 'node:http2'
import type tls from 'node:tls'
import { DEFAULTS, resolveCodepoints } from '../config.js'
import type { Codepoints } from '../config.js'
import { ClosedError, FrameTooLargeError, PeerTimeoutError } from '../errors.js'
import type { ProtocolError } from '../errors.js'
import { nodeCrypto } from '../crypto/node-provider.js'
import type { CryptoProvider } from '../crypto/provider.js'
import { ExportedAuthenticators } from '../ea/authenticators.js'
import type { RequestOptions } from '../ea/authenticators.js'
import { ServerState } from '../proto/server-state.js'
import type { ServerAction } from '../proto/server-state.js'
import { attachInterposerToServer } from './tls-facade.js'
import type { FrameInterposer } from './interposer.js'
import { loadCredential } from './credentials.js'
import type { CredentialInput, LoadedCredential } from './credentials.js'
import { identityFromVerdict } from './identity.js'
import type { Identity } from './identity.js'
import { purposeOfRequest, resolveTrust, warnNoTrustAnchors } from './trust.js'
import type { ServerTrust, TrustOption } from './trust.js'
import type { Purpose } from '../policy/eku.js'
import { publish } from './diagnostics.js'
import type { ServerSessionEvents } from './events.js'
import { logInbound, sendLogged } from './frame-log.js'
import type { FrameLogEntry } from './frame-log.js'

/** Options of the extension on a server. */
export interface ServerExtensionOptions {
  /** Codepoint overrides (defaults: digest §5). */
  readonly codepoints?: Partial<Codepoints>
  /** 'shared': clients answer with the SERVER_CERTIFICATE frame type. Default 'split'. */
  readonly mode?: 'split' | 'shared'
  /** Ask clients for certificates (SETTINGS_HTTP_CLIENT_CERT_AUTH = 1). Default true. */
  readonly clientCertAuth?: boolean
  /**
   * Extra certificate chains for other origins, sent as SERVER_CERTIFICATE right after SETTINGS
   * (SERVER -02 §3.2). Enables SETTINGS_HTTP_SERVER_CERT_AUTH.
   */
  readonly serverCertificates?: readonly CredentialInput[]
  /** Advertise SETTINGS_HTTP_SERVER_CERT_AUTH even with no configured chains. Default: when any. */
  readonly serverCertAuth?: boolean
  /** Default node:crypto. */
  readonly provider?: CryptoProvider
  /** Largest client authenticator accepted. Default 65536. */
  readonly maxAuthenticatorBytes?: number
  /** SETTINGS_MAX_FRAME_SIZE advertised. Default large enough for maxAuthenticatorBytes. */
  readonly maxFrameSize?: number
  /** Default timeout of `requestIdentities`. */
  readonly requestTimeoutMs?: number
  /**
   * Keep clients that do not advertise the extension in their first SETTINGS on Node's native
   * path (no interposer, full speed). Default true.
   */
  readonly nativePathForPlainClients?: boolean
  /**
   * Who may authenticate (issue 10): trust anchors and an EKU preset (`{ anchors, preset }`, the
   * options of `createCertificatePolicy`) or a policy function. Every validated identity is
   * decided once against it; only trusted ones count as identities (`identitiesOf`,
   * `{ kind: 'identity' }` outcomes). Without it nothing is trusted and the server warns once
   * when it starts listening.
   */
  readonly trust?: TrustOption
}

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
export class ServerSessionCerts extends EventEmitter<ServerSessionEvents> {
  readonly ea: ExportedAuthenticators
  readonly state: ServerState
  private readonly interposer: FrameInterposer
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
  private closed: Error | undefined
  private sessionRef: http2.ServerHttp2Session | undefined
  /** Frames exchanged, for diagnostics and the demo. */
  readonly frameLog: FrameLogEntry[] = []

  constructor(
    ea: ExportedAuthenticators,
    state: ServerState,
    interposer: FrameInterposer,
    requestTimeoutMs: number,
    trust: ServerTrust = resolveTrust(undefined),
  ) {
    super()
    this.ea = ea
    this.state = state
    this.interposer = interposer
    this.requestTimeoutMs = requestTimeoutMs
    this.trust = trust
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
    return this.state.negotiation.isClientCertAuthActive
  }

  /** The client's SETTINGS_HTTP_CLIENT_CERT_AUTH (0 until its SETTINGS arrived). */
  get peerCredentialLimit(): number {
    return this.state.negotiation.peerClientCertAuth
  }

  /** @internal */
  bindSession(session: http2.ServerHttp2Session): void {
    this.sessionRef = session
    session.once('close', () => this.shutdown(new ClosedError('session closed')))
  }

  /**
   * Asks the client for identities (CLIENT -00 §4.1) and resolves with one outcome per request,
   * in order. Requests beyond the client's limit are queued and sent as answers come in.
   * @throws PeerTimeoutError (`ERR_SC_TIMEOUT`) when not all answers arrive in time
   * @throws ClosedError (`ERR_SC_CLOSED`) when the connection ends first
   * @throws ProtocolError (`ERR_SC_PROTOCOL`) when the client broke the protocol
   */
  requestIdentities(requests: readonly IdentityRequest[], options: { timeoutMs?: number } = {}): Promise<IdentityOutcome[]> {
    if (this.closed) return Promise.reject(this.closed)
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
          if (this.state.cancelQueued(p.id)) {
            this.labels.delete(p.id)
            this.purposes.delete(p.id)
          }
          this.waiters.delete(p.id)
        }
        reject(new PeerTimeoutError(`client did not answer ${pending.length} authenticator request(s) in time`, timeoutMs))
      }, timeoutMs)
      timer.unref?.()
    })
    this.run(this.state.requestAuthenticators(pending.map(({ id, bytes }) => ({ id, bytes }))))
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
    if (this.closed) throw this.closed
    const auth = this.ea.authenticate({ credential })
    const n = this.state.negotiation
    if (n.hasPeerSettings && auth.length > n.peerMaxFrameSize) throw new FrameTooLargeError(auth.length, n.peerMaxFrameSize)
    this.run(this.state.sendServerCertificate(auth))
  }

  /** @internal feed from the interposer */
  onPeerSettings(entries: readonly (readonly [number, number])[]): void {
    const actions = this.state.onPeerSettings(entries)
    // The limit must be in place before the queued frames go out.
    this.interposer.peerMaxFrameSize = this.state.negotiation.peerMaxFrameSize
    this.run(actions)
  }

  /** @internal feed from the interposer */
  onFrame(type: number, streamId: number, payload: Uint8Array): void {
    logInbound(this.frameLog, 'server', type, streamId, payload.length)
    this.run(this.state.onFrame(type, streamId, payload))
  }

  private run(actions: readonly ServerAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          sendLogged(this, this.interposer, this.frameLog, 'server', a.frameType, a.payload)
          break
        case 'result': {
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
          } else {
            w?.reject(v.error)
          }
          break
        }
        case 'goaway':
          this.violation(a.error)
          break
      }
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

  private violation(error: ProtocolError): void {
    publish('violation', { role: 'server', violation: error.violation, code: error.http2Code })
    this.shutdown(error)
    const s = this.sessionRef
    if (s && !s.destroyed) {
      // The interposer closes the connection once this GOAWAY is written (RFC 9113 §5.4.1).
      s.goaway(error.http2Code)
    } else {
      this.interposer.destroy()
    }
    // After the GOAWAY is queued, so listeners see the connection already closing.
    this.emit('violation', error)
  }

  private shutdown(error: Error): void {
    if (this.closed) return
    this.closed = error
    for (const [, w] of this.waiters) w.reject(error)
    this.waiters.clear()
    this.labels.clear()
    this.purposes.clear()
    this.emit('close', error)
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
}

/** HTTP/2 settings (to merge into the server's) that advertise the extension. */
export function serverSettings(options: ServerExtensionOptions = {}): http2.Settings {
  const cp = resolveCodepoints(options.codepoints, options.mode)
  const maxAuth = options.maxAuthenticatorBytes ?? DEFAULTS.maxAuthenticatorBytes
  const custom: Record<number, number> = {}
  if (options.clientCertAuth ?? true) custom[cp.settingClientCertAuth] = 1
  if (options.serverCertAuth ?? (options.serverCertificates?.length ?? 0) > 0) custom[cp.settingServerCertAuth] = 1
  return {
    maxFrameSize: options.maxFrameSize ?? Math.max(16384, maxAuth + 1024),
    customSettings: custom,
  } as http2.Settings
}

/**
 * Adds the extension to an existing `Http2SecureServer` (created with TLS 1.3 allowed). Call
 * before it accepts connections. Servers from `createSecureServer` of this package are already
 * set up.
 */
export function attachSecondaryCerts(server: http2.Http2SecureServer, options: ServerExtensionOptions = {}): SecondaryCertServer {
  return attach(server, options, true)
}

function attach(server: http2.Http2SecureServer, options: ServerExtensionOptions, sendSettings: boolean): SecondaryCertServer {
  const cp = resolveCodepoints(options.codepoints, options.mode)
  const provider = options.provider ?? nodeCrypto
  const maxAuthenticatorBytes = options.maxAuthenticatorBytes ?? DEFAULTS.maxAuthenticatorBytes
  const settings = serverSettings(options)
  const customSettings = (settings as { customSettings: Record<number, number> }).customSettings
  const clientCertAuth = options.clientCertAuth ?? true
  const serverCertAuth = cp.settingServerCertAuth in customSettings
  const serverCredentials = (options.serverCertificates ?? []).map((c, i) => loadCredential(c, provider, `server-${i + 1}`))
  const extensionFrameTypes = new Set([cp.frameServerCertificate, cp.frameAuthenticatorRequests, cp.frameClientCertificate])
  const timeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs
  const trust = resolveTrust(options.trust)
  if (!trust.policy && clientCertAuth) warnNoTrustAnchors(server)

  // Sessions are created synchronously inside the connection listener; `pending` carries the
  // controller from the wrap to the 'session' event.
  attachInterposerToServer(
    server,
    {
      extensionFrameTypes,
      maxInboundExtensionFrameBytes: maxAuthenticatorBytes,
      ...(options.nativePathForPlainClients ?? true ? { peekClientSettings: [cp.settingClientCertAuth, cp.settingServerCertAuth] } : {}),
    },
    (interposer: FrameInterposer, tlsSocket: tls.TLSSocket, facade: object) => {
      let ea: ExportedAuthenticators
      try {
        ea = ExportedAuthenticators.fromTlsSocket(tlsSocket, { role: 'server', provider })
      } catch (e) {
        publish('error', { role: 'server', error: e })
        return
      }
      const state = new ServerState({ ea, codepoints: cp, clientCertAuth, serverCertAuth, maxAuthenticatorBytes })
      const ctl = new ServerSessionCerts(ea, state, interposer, timeoutMs, trust)
      ;(facade as Record<symbol, unknown>)[kController] = ctl
      interposer.on('peerSettings', (entries: [number, number][]) => ctl.onPeerSettings(entries))
      interposer.on('extensionFrame', (f: { type: number; streamId: number; payload: Uint8Array }) => ctl.onFrame(f.type, f.streamId, f.payload))
      interposer.on('extensionFrameTooLarge', () => ctl.onFrame(cp.frameClientCertificate, 0, new Uint8Array(maxAuthenticatorBytes + 1)))
      for (const cred of serverCredentials) ctl.sendServerCertificate(cred)
    },
  )
  server.prependListener('session', (session: http2.ServerHttp2Session) => {
    const ctl = sessionCerts(session)
    if (!ctl) return
    ctl.bindSession(session)
    if (sendSettings) session.settings(settings)
  })
  return { codepoints: cp, serverCredentials, customSettings }
}

/**
 * `http2.createSecureServer` with the extension attached: a real `Http2SecureServer` (compat API,
 * `allowHTTP1`, `setTimeout` all as usual). TLS defaults to 1.3 minimum unless `allowHTTP1` or
 * `minVersion` says otherwise; connections that are not TLS 1.3 simply do not get the extension.
 */
export function createSecureServer(
  options: http2.SecureServerOptions & { secondaryCerts?: ServerExtensionOptions },
  onRequest?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  const { secondaryCerts, ...h2options } = options
  const ext = secondaryCerts ?? {}
  const settings = serverSettings(ext)
  const merged: http2.SecureServerOptions = {
    minVersion: 'TLSv1.3',
    ...h2options,
    settings: {
      ...settings,
      ...(h2options.settings ?? {}),
      customSettings: {
        ...((h2options.settings as { customSettings?: Record<number, number> } | undefined)?.customSettings ?? {}),
        ...(settings as { customSettings: Record<number, number> }).customSettings,
      },
    } as http2.Settings,
  }
  const server = onRequest ? http2.createSecureServer(merged, onRequest) : http2.createSecureServer(merged)
  attach(server, ext, false)
  return server
}
