/**
 * Client binding: `http2.connect` with secondary certificate authentication (CLIENT -00,
 * SERVER -02). The TLS connection is made here, wrapped in a frame interposer and handed to
 * `http2.connect` through `createConnection`; the I/O-free `ClientState` decides, this file carries
 * out its actions, asks the application's selector for credentials and checks secondary server
 * certificates against the trust store.
 */
import http2 from 'node:http2'
import type net from 'node:net'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { ClosedError, UsageError } from '../errors.js'
import type { ProtocolError, ViolationName } from '../errors.js'
import { ExportedAuthenticators } from '../ea/authenticators.js'
import { ClientState } from '../proto/client-state.js'
import type { ClientAction } from '../proto/client-state.js'
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import { schemeName } from '../wire/tls/signature-scheme.js'
import { validateChain } from '../policy/chain.js'
import { selectCredential } from './credential-selection.js'
import type { DeclineReason } from './credential-selection.js'
import { wrapClientSocket } from './tls-facade.js'
import type { FrameInterposer } from './interposer.js'
import type { LoadedCredential } from './credentials.js'
import { identityFromVerdict, withTrust } from './identity.js'
import type { Identity } from './identity.js'
import { publish } from './diagnostics.js'
import type { ClientSessionEvents } from './events.js'
import { mergeSettings, resolveClientOptions } from './options.js'
import type { ClientExtensionOptions, CredentialSelector, RequestInfo, ResolvedClientOptions } from './options.js'
import { SessionDriver } from './session-driver.js'

export type { ClientExtensionOptions, CredentialSelector, RequestInfo } from './options.js'

/** A secondary server certificate that passed RFC 9261 validation. */
export interface ServerCertificateEvent {
  readonly identity: Identity
  /** True when the chain is trusted and `origins` were added. */
  readonly accepted: boolean
  /** DNS names and IPs the certificate covers (origins now usable when accepted). */
  readonly origins: readonly string[]
  /** Why it was not accepted (chain failure reason). */
  readonly reason?: string
}

const kClient = Symbol.for('h2-secondary-certs.client-session')

/**
 * Honours the request's fields (RFC 9261 §5.2.1): a key that can use an offered scheme, a chain
 * issued under one of certificate_authorities, a leaf matching every oid_filter, and a leaf
 * inside its validity period (expired or not-yet-valid credentials are never presented); prefers
 * credentials not yet presented on this connection. Declines when nothing fits; the `'answer'`
 * event and `answers` say why (`selectCredential`).
 */
export const defaultSelector: CredentialSelector = (info, credentials) => {
  const s = selectCredential(info.request, credentials, info.alreadyPresented, new Date())
  return s.kind === 'credential' ? s.credential : null
}

/** One answered request as `ClientSessionCerts.answers` records it. */
export interface AnswerRecord {
  readonly id: number
  /** Label of the credential presented; null for a decline. */
  label: string | null
  readonly schemes: string[]
  /** Text of why a chosen credential was replaced by the empty authenticator. */
  reason?: string
  /** Why the answer is a decline (absent when a credential was presented). */
  declineReason?: DeclineReason
}

/**
 * The extension's view of one client session. Events (typed, `ClientSessionEvents`): 'request',
 * 'answer', 'declinedInstead', 'serverCertificate', 'violation', 'sendError', 'close'.
 */
export class ClientSessionCerts extends SessionDriver<ClientAction, ClientSessionEvents> {
  private clientState: ClientState | undefined
  private readonly resolved: ResolvedClientOptions
  private readonly credentials: readonly LoadedCredential[]
  private readonly select: CredentialSelector
  private readonly presented: string[] = []
  /** Serializes selector calls (see the `requests` action). */
  private selecting: Promise<void> = Promise.resolve()
  private readonly acceptedOrigins = new Set<string>()
  private readonly serverIdentities: Identity[] = []
  /** The socket the HTTP/2 stack above reads (the TLS facade), once known. */
  private facade: net.Socket | undefined
  /** Requests received and how they were answered. */
  readonly answers: AnswerRecord[] = []

  /** @internal created by `interposeClientSocket` */
  constructor(interposer: FrameInterposer, resolved: ResolvedClientOptions) {
    super('client', interposer, resolved.codepoints)
    this.resolved = resolved
    this.credentials = resolved.credentials
    this.select = resolved.options.select ?? defaultSelector
  }

  /** Origins (host names / IPs) learned from accepted secondary server certificates. */
  get secondaryOrigins(): readonly string[] {
    return [...this.acceptedOrigins]
  }

  /** Secondary server certificates that validated (accepted or not by the chain check). */
  get serverCertificates(): readonly Identity[] {
    return this.serverIdentities
  }

  /** True when `host` is covered by an accepted secondary server certificate. */
  hasOrigin(host: string): boolean {
    return this.acceptedOrigins.has(host.toLowerCase())
  }

  /** @internal once the TLS handshake is done: the exporter exists, frames can be handled */
  start(tlsSocket: tls.TLSSocket): void {
    const r = this.resolved
    let ea: ExportedAuthenticators
    try {
      ea = ExportedAuthenticators.fromTlsSocket(tlsSocket, {
        role: 'client',
        provider: r.provider,
        ...(r.options.acceptType17FromServer ? { acceptType17FromServer: true } : {}),
      })
    } catch (e) {
      publish('error', { role: 'client', error: e })
      return
    }
    this.begin(ea)
  }

  /** @internal runs the extension over `ea` (the connection's exporter); frames held so far go first */
  begin(ea: ExportedAuthenticators): void {
    const r = this.resolved
    this.clientState = new ClientState({
      ea,
      codepoints: r.codepoints,
      clientCertAuth: r.credentialLimit,
      serverCertAuth: r.serverCertAuth,
      maxAuthenticatorBytes: r.maxAuthenticatorBytes,
    })
    this.setState(this.clientState)
  }

  protected onAction(a: ClientAction): void {
    switch (a.kind) {
      case 'requests':
        // One selection at a time, in request order: each selector call sees the labels that
        // the earlier answers presented, even when several requests arrived in one frame.
        for (const item of a.items) {
          this.selecting = this.selecting
            .then(() => this.answer(item.id, item.request))
            .catch((error: unknown) => publish('error', { role: 'client', error }))
        }
        break
      case 'server-certificate':
        void this.onServerCertificate(a.verdict)
        break
      case 'declined-instead': {
        const rec = this.answers.find((x) => x.id === a.id)
        const declineReason: DeclineReason =
          (a.error as { code?: unknown } | undefined)?.code === 'ERR_SC_FRAME_TOO_LARGE' ? 'over-size' : 'unusable-credential'
        if (rec) {
          rec.label = null
          rec.reason = a.reason
          rec.declineReason = declineReason
        }
        this.emit('declinedInstead', { id: a.id, reason: a.reason, declineReason })
        break
      }
      default:
        break
    }
  }

  protected onShutdown(): void {
    // Nothing waits on a client; pending selections see `isClosed` and stop.
  }

  protected remoteViolation(sentTypes: ReadonlySet<number>): ViolationName | undefined {
    // A server that rejects our CLIENT_CERTIFICATE answers GOAWAY (CLIENT -00 §4.2.1).
    return sentTypes.has(this.codepoints.frameClientCertificate) ? 'client-authenticator-invalid' : undefined
  }

  /** @internal the socket the HTTP/2 stack above reads */
  bindFacade(facade: net.Socket): void {
    this.facade = facade
  }

  protected endConnection(error: ProtocolError): void {
    // The interposer first: bytes it holds for the stack above (a peer's GOAWAY, say) are
    // dropped, so the stack never reports its own error instead of ours. Then the facade with
    // the error: node:http2 destroys the session and its streams with it ('error' on both),
    // undici fails its requests with it. Our GOAWAY (if any) is already out; the TLS socket
    // ends after it.
    this.interposer.destroy(error)
    this.facade?.destroy(error)
  }

  private async answer(id: number, request: CertificateRequest): Promise<void> {
    const info: RequestInfo = {
      id,
      request,
      schemes: request.signatureAlgorithms.map(schemeName),
      alreadyPresented: [...this.presented],
    }
    this.emit('request', info)
    let chosen: LoadedCredential | null | undefined
    let declineReason: DeclineReason | undefined
    if (this.select === defaultSelector) {
      const s = selectCredential(request, this.credentials, info.alreadyPresented, this.resolved.options.now?.() ?? new Date())
      if (s.kind === 'credential') chosen = s.credential
      else declineReason = s.reason
    } else {
      try {
        chosen = await this.select(info, this.credentials)
        if (!chosen) declineReason = this.credentials.length === 0 ? 'no-credentials' : 'selector-declined'
      } catch (e) {
        publish('error', { role: 'client', error: e })
        chosen = null
        declineReason = 'selector-error'
      }
    }
    if (this.isClosed || !this.clientState) return
    const rec: AnswerRecord = {
      id,
      label: chosen?.label ?? null,
      schemes: [...info.schemes],
      ...(declineReason ? { declineReason } : {}),
    }
    this.answers.push(rec)
    if (chosen) this.presented.push(chosen.label)
    this.run(this.clientState.answer(id, chosen ?? null))
    this.emit('answer', { id, label: rec.label, declined: rec.label === null, ...(rec.declineReason ? { reason: rec.declineReason } : {}) })
  }

  private async onServerCertificate(verdict: Parameters<typeof identityFromVerdict>[1]): Promise<void> {
    const validated = identityFromVerdict('server-certificate', verdict)
    // Arrival order; the entry is replaced by the decided identity below.
    const index = this.serverIdentities.push(validated) - 1
    const origins = originsOf(validated.certificate)
    const now = this.resolved.options.now?.()
    const result = await validateChain(validated.chain as Uint8Array[], {
      anchors: this.resolved.anchors as Uint8Array[],
      requiredEku: ['1.3.6.1.5.5.7.3.1'],
      ...(now ? { now } : {}),
    })
    // The chain check is this identity's trust decision (serverAuth to the configured anchors).
    const identity = withTrust(
      validated,
      result.ok
        ? { trusted: true, purpose: 'server-peer', roles: ['device'] }
        : { trusted: false, purpose: 'server-peer', reason: result.reason, detail: result.detail },
    )
    this.serverIdentities[index] = identity
    // SERVER -02 §6.2: an unacceptable (but valid) certificate is not a protocol error.
    if (result.ok) for (const o of origins) this.acceptedOrigins.add(o.toLowerCase())
    const ev: ServerCertificateEvent = result.ok
      ? { identity, accepted: true, origins }
      : { identity, accepted: false, origins, reason: result.reason }
    this.emit('serverCertificate', ev)
  }

}

/** DNS names and IP addresses in a certificate's subjectAltName. */
export function originsOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? ''
  const out: string[] = []
  for (const part of san.split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim())
    if (m) out.push(m[2]!.trim())
  }
  return out
}

/** The extension object of a client session (or its streams); undefined if none. */
export function clientCerts(target: http2.ClientHttp2Session | http2.ClientHttp2Stream | undefined | null): ClientSessionCerts | undefined {
  if (!target) return undefined
  const session = 'session' in target && (target as http2.ClientHttp2Stream).session ? (target as http2.ClientHttp2Stream).session : (target as http2.ClientHttp2Session)
  return (session as unknown as Record<symbol, ClientSessionCerts | undefined>)[kClient]
}

/** An interposed client connection: the extension object and the socket for the HTTP/2 stack. */
export interface InterposedClient {
  readonly certs: ClientSessionCerts
  readonly interposer: FrameInterposer
  /** The TLS facade to hand to node:http2 (`createConnection`) or to undici. */
  readonly socket: net.Socket
}

/**
 * Wraps a client TLS socket (connecting or connected, ALPN h2) in the frame interposer and TLS
 * facade and runs the client extension on it from the socket alone: whichever HTTP/2 stack reads
 * the returned socket (ours through `connect`, undici's) gets the extension below it.
 * @param extra.extraFrameTypes more frame types to take out of the inbound stream (e.g. ORIGIN)
 * @param extra.appendSettings true when the HTTP/2 stack above cannot be given our SETTINGS: they
 *   are appended to its first SETTINGS frame on the way out.
 */
export function interposeClientSocket(
  tlsSocket: tls.TLSSocket,
  resolved: ResolvedClientOptions,
  extra: { readonly extraFrameTypes?: readonly number[]; readonly appendSettings?: boolean } = {},
): InterposedClient {
  const types = new Set([...resolved.extensionFrameTypes, ...(extra.extraFrameTypes ?? [])])
  const { interposer, socket } = wrapClientSocket(tlsSocket, {
    extensionFrameTypes: types,
    maxInboundExtensionFrameBytes: resolved.maxAuthenticatorBytes,
    ...(extra.appendSettings ? { appendToFirstSettings: resolved.extensionSettings } : {}),
  })
  const certs = new ClientSessionCerts(interposer, resolved)
  certs.bindFacade(socket)
  if (isHandshakeDone(tlsSocket)) certs.start(tlsSocket)
  else tlsSocket.once('secureConnect', () => certs.start(tlsSocket))
  return { certs, interposer, socket }
}

function isHandshakeDone(tlsSocket: tls.TLSSocket): boolean {
  // TLSSocket's own flag first: a TLS socket made over an existing stream (an HTTP CONNECT
  // tunnel) is not `connecting` and its getProtocol() already answers 'TLSv1.3' before the
  // handshake (Node 20.20), so the exporter would be read too early and the extension never start.
  const established = (tlsSocket as unknown as { _secureEstablished?: unknown })._secureEstablished
  if (typeof established === 'boolean') return established
  const p = tlsSocket.getProtocol?.()
  return !tlsSocket.connecting && p !== null && p !== undefined && p !== 'unknown'
}

type ConnectOptions = http2.SecureClientSessionOptions & { secondaryCerts?: ClientExtensionOptions }

/**
 * The TLS connection for `connect`: the caller's `createConnection` is honoured (a TLS socket is
 * used as is; any other socket, e.g. an HTTP CONNECT tunnel, gets TLS on top of it), else a new
 * TLS 1.3 connection to the authority.
 */
function openTls(url: URL, h2options: ConnectOptions): tls.TLSSocket {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  const tlsOptions: tls.ConnectionOptions = {
    minVersion: 'TLSv1.3',
    ...(h2options as tls.ConnectionOptions),
    host,
    port,
    servername: h2options.servername ?? (tlsIsIp(host) ? undefined : host),
    ALPNProtocols: ['h2'],
  } as tls.ConnectionOptions
  delete (tlsOptions as { createConnection?: unknown }).createConnection
  const own = h2options.createConnection
  if (own === undefined) return tls.connect(tlsOptions)
  const socket = own(url, h2options) as net.Socket | tls.TLSSocket | undefined
  if (!socket) throw new UsageError('createConnection returned no socket')
  if (socket instanceof tls.TLSSocket) return socket
  return tls.connect({ ...tlsOptions, socket })
}

/**
 * `http2.connect` with the extension: same arguments plus `secondaryCerts`. The TLS connection
 * requires TLS 1.3 unless `minVersion` is given; a caller's `createConnection` is wrapped, not
 * replaced (a TLS socket is used as is, any other socket gets TLS on top). Returns a real
 * `ClientHttp2Session`; its extension object is `clientCerts(session)`. A violation by the
 * server destroys the session and its open streams with the typed `ProtocolError`.
 * @throws UsageError (`ERR_SC_USAGE`) for bad extension options or credentials.
 */
export function connect(
  authority: string | URL,
  options: ConnectOptions = {},
  listener?: (session: http2.ClientHttp2Session, socket: net.Socket) => void,
): http2.ClientHttp2Session {
  const { secondaryCerts, ...h2options } = options
  const resolved = resolveClientOptions(secondaryCerts ?? {}, h2options.ca)
  const url = typeof authority === 'string' ? new URL(authority) : authority
  let ctl: ClientSessionCerts | undefined
  let openError: unknown
  const session = http2.connect(
    url,
    {
      ...h2options,
      settings: mergeSettings(h2options.settings, resolved.settings),
      createConnection: () => {
        try {
          const tlsSocket = openTls(url, h2options)
          if (secondaryCerts?.onKeylog) tlsSocket.on('keylog', secondaryCerts.onKeylog)
          const c = interposeClientSocket(tlsSocket, resolved)
          ctl = c.certs
          return c.socket
        } catch (e) {
          openError = e
          throw e
        }
      },
    },
    listener,
  )
  if (ctl) {
    ;(session as unknown as Record<symbol, unknown>)[kClient] = ctl
  } else {
    session.destroy(openError instanceof Error ? openError : new ClosedError('connection was not created'))
  }
  return session
}

function tlsIsIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
