/**
 * Client binding: `http2.connect` with secondary certificate authentication (CLIENT -00,
 * SERVER -02). The TLS connection is made here, wrapped in a frame interposer and handed to
 * `http2.connect` through `createConnection`; the I/O-free `ClientState` decides, this file carries
 * out its actions, asks the application's selector for credentials and checks secondary server
 * certificates against the trust store.
 */
import { EventEmitter } from 'node:events'
import http2 from 'node:http2'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { DEFAULTS, resolveCodepoints } from '../config.js'
import type { Codepoints } from '../config.js'
import { ClosedError } from '../errors.js'
import type { ProtocolError } from '../errors.js'
import { nodeCrypto } from '../crypto/node-provider.js'
import type { CryptoProvider } from '../crypto/provider.js'
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
import { loadCredential, pemToDerChain } from './credentials.js'
import type { LabelledCredentialInput, LoadedCredential } from './credentials.js'
import { identityFromVerdict, withTrust } from './identity.js'
import type { Identity } from './identity.js'
import { publish } from './diagnostics.js'
import type { ClientSessionEvents } from './events.js'
import { logInbound, sendLogged } from './frame-log.js'
import type { FrameLogEntry } from './frame-log.js'

/** What the selector sees of one request. */
export interface RequestInfo {
  readonly id: number
  readonly request: CertificateRequest
  /** Names of the offered signature schemes. */
  readonly schemes: readonly string[]
  /** Labels of credentials already presented on this connection. */
  readonly alreadyPresented: readonly string[]
}

/** Picks a credential for a request, or null/undefined to decline (empty authenticator). */
export type CredentialSelector = (
  info: RequestInfo,
  credentials: readonly LoadedCredential[],
) => LoadedCredential | null | undefined | Promise<LoadedCredential | null | undefined>

export interface ClientExtensionOptions {
  readonly codepoints?: Partial<Codepoints>
  readonly mode?: 'split' | 'shared'
  /** Credentials the client may present. */
  readonly credentials?: readonly LabelledCredentialInput[]
  /** Default: `defaultSelector` (honours signature_algorithms, certificate_authorities, oid_filters). */
  readonly select?: CredentialSelector
  /**
   * N of SETTINGS_HTTP_CLIENT_CERT_AUTH: how many requests may be outstanding. Default: the
   * number of credentials, at least 1. 0 turns client authentication off.
   */
  readonly credentialLimit?: number
  /** Accept SERVER_CERTIFICATE frames (SETTINGS_HTTP_SERVER_CERT_AUTH = 1). Default true. */
  readonly serverCertAuth?: boolean
  /** Trust anchors for secondary server certificates (PEM). Default: the TLS `ca` option. */
  readonly serverCertificateCa?: string | Buffer | readonly (string | Buffer)[]
  readonly provider?: CryptoProvider
  readonly maxAuthenticatorBytes?: number
  readonly maxFrameSize?: number
  /** Accept type 17 requests from the server (CLIENT -00 §4.1.3 wording). Default false. */
  readonly acceptType17FromServer?: boolean
  /** Clock for chain validation of server certificates and the default selector's validity check. */
  readonly now?: () => Date
  /** Receives NSS key-log lines of the TLS connection (for SSLKEYLOGFILE). */
  readonly onKeylog?: (line: Buffer) => void
}

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
export class ClientSessionCerts extends EventEmitter<ClientSessionEvents> {
  private ea: ExportedAuthenticators | undefined
  private state: ClientState | undefined
  private readonly interposer: FrameInterposer
  private readonly credentials: readonly LoadedCredential[]
  private readonly select: CredentialSelector
  private readonly presented: string[] = []
  /** Serializes selector calls (see the `requests` action). */
  private selecting: Promise<void> = Promise.resolve()
  private readonly anchors: Uint8Array[]
  private readonly options: ClientExtensionOptions
  private readonly cp: Codepoints
  private readonly acceptedOrigins = new Set<string>()
  private readonly serverIdentities: Identity[] = []
  private readonly early: (() => void)[] = []
  private sessionRef: http2.ClientHttp2Session | undefined
  private closed = false
  /** Frames exchanged, for diagnostics and the demo. */
  readonly frameLog: FrameLogEntry[] = []
  /** Requests received and how they were answered. */
  readonly answers: AnswerRecord[] = []

  constructor(interposer: FrameInterposer, credentials: readonly LoadedCredential[], anchors: Uint8Array[], cp: Codepoints, options: ClientExtensionOptions) {
    super()
    this.interposer = interposer
    this.credentials = credentials
    this.select = options.select ?? defaultSelector
    this.anchors = anchors
    this.cp = cp
    this.options = options
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

  /** @internal once the TLS handshake is done */
  start(tlsSocket: tls.TLSSocket, limit: number, serverCertAuth: boolean): void {
    const provider = this.options.provider ?? nodeCrypto
    try {
      this.ea = ExportedAuthenticators.fromTlsSocket(tlsSocket, {
        role: 'client',
        provider,
        ...(this.options.acceptType17FromServer ? { acceptType17FromServer: true } : {}),
      })
    } catch (e) {
      publish('error', { role: 'client', error: e })
      return
    }
    this.state = new ClientState({
      ea: this.ea,
      codepoints: this.cp,
      clientCertAuth: limit,
      serverCertAuth,
      maxAuthenticatorBytes: this.options.maxAuthenticatorBytes ?? DEFAULTS.maxAuthenticatorBytes,
    })
    for (const f of this.early.splice(0)) f()
  }

  /** @internal */
  bindSession(session: http2.ClientHttp2Session): void {
    this.sessionRef = session
    session.once('close', () => {
      this.closed = true
      this.emit('close')
    })
  }

  /** @internal */
  onPeerSettings(entries: readonly (readonly [number, number])[]): void {
    if (!this.state) {
      this.early.push(() => this.onPeerSettings(entries))
      return
    }
    const actions = this.state.onPeerSettings(entries)
    this.interposer.peerMaxFrameSize = this.state.negotiation.peerMaxFrameSize
    this.run(actions)
  }

  /** @internal */
  onFrame(type: number, streamId: number, payload: Uint8Array): void {
    if (!this.state) {
      this.early.push(() => this.onFrame(type, streamId, payload))
      return
    }
    logInbound(this.frameLog, 'client', type, streamId, payload.length)
    this.run(this.state.onFrame(type, streamId, payload))
  }

  private run(actions: readonly ClientAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          sendLogged(this, this.interposer, this.frameLog, 'client', a.frameType, a.payload)
          break
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
        case 'goaway':
          this.violation(a.error)
          break
      }
    }
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
      const s = selectCredential(request, this.credentials, info.alreadyPresented, this.options.now?.() ?? new Date())
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
    if (this.closed || !this.state) return
    const rec: AnswerRecord = {
      id,
      label: chosen?.label ?? null,
      schemes: [...info.schemes],
      ...(declineReason ? { declineReason } : {}),
    }
    this.answers.push(rec)
    if (chosen) this.presented.push(chosen.label)
    this.run(this.state.answer(id, chosen ?? null))
    this.emit('answer', { id, label: rec.label, declined: rec.label === null, ...(rec.declineReason ? { reason: rec.declineReason } : {}) })
  }

  private async onServerCertificate(verdict: Parameters<typeof identityFromVerdict>[1]): Promise<void> {
    const validated = identityFromVerdict('server-certificate', verdict)
    // Arrival order; the entry is replaced by the decided identity below.
    const index = this.serverIdentities.push(validated) - 1
    const origins = originsOf(validated.certificate)
    const now = this.options.now?.()
    const result = await validateChain(validated.chain as Uint8Array[], {
      anchors: this.anchors,
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

  private violation(error: ProtocolError): void {
    publish('violation', { role: 'client', violation: error.violation, code: error.http2Code })
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

/** HTTP/2 settings (to merge) that advertise the extension on a client. */
function clientSettings(cp: Codepoints, limit: number, serverCertAuth: boolean, maxFrameSize: number): http2.Settings {
  const custom: Record<number, number> = {}
  if (limit > 0) custom[cp.settingClientCertAuth] = limit
  if (serverCertAuth) custom[cp.settingServerCertAuth] = 1
  return { maxFrameSize, customSettings: custom } as http2.Settings
}

/**
 * `http2.connect` with the extension: same arguments plus `secondaryCerts`. The TLS connection
 * requires TLS 1.3 unless `minVersion` is given. Returns a real `ClientHttp2Session`; its
 * extension object is `clientCerts(session)`.
 */
export function connect(
  authority: string | URL,
  options: http2.SecureClientSessionOptions & { secondaryCerts?: ClientExtensionOptions } = {},
  listener?: (session: http2.ClientHttp2Session, socket: import('node:net').Socket) => void,
): http2.ClientHttp2Session {
  const { secondaryCerts, ...h2options } = options
  const ext = secondaryCerts ?? {}
  const cp = resolveCodepoints(ext.codepoints, ext.mode)
  const provider = ext.provider ?? nodeCrypto
  const credentials = (ext.credentials ?? []).map((c) => loadCredential(c, provider, c.label, c.purpose))
  const limit = ext.credentialLimit ?? Math.max(1, credentials.length)
  const serverCertAuth = ext.serverCertAuth ?? true
  const maxAuth = ext.maxAuthenticatorBytes ?? DEFAULTS.maxAuthenticatorBytes
  const maxFrameSize = ext.maxFrameSize ?? Math.max(16384, maxAuth + 1024)
  const caInput = ext.serverCertificateCa ?? h2options.ca
  const anchors: Uint8Array[] = []
  for (const c of caInput === undefined ? [] : Array.isArray(caInput) ? caInput : [caInput]) {
    anchors.push(...pemToDerChain(c.toString()))
  }
  const url = typeof authority === 'string' ? new URL(authority) : authority
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  const settings = clientSettings(cp, limit, serverCertAuth, maxFrameSize)
  let ctl: ClientSessionCerts | undefined
  const session = http2.connect(url, {
    ...h2options,
    settings: {
      ...settings,
      ...(h2options.settings ?? {}),
      customSettings: {
        ...((h2options.settings as { customSettings?: Record<number, number> } | undefined)?.customSettings ?? {}),
        ...(settings as { customSettings: Record<number, number> }).customSettings,
      },
    } as http2.Settings,
    createConnection: () => {
      const tlsSocket = tls.connect({
        minVersion: 'TLSv1.3',
        ...(h2options as tls.ConnectionOptions),
        host,
        port,
        servername: h2options.servername ?? (tlsIsIp(host) ? undefined : host),
        ALPNProtocols: ['h2'],
      } as tls.ConnectionOptions)
      if (ext.onKeylog) tlsSocket.on('keylog', ext.onKeylog)
      const { interposer, socket } = wrapClientSocket(tlsSocket, {
        extensionFrameTypes: new Set([cp.frameServerCertificate, cp.frameAuthenticatorRequests, cp.frameClientCertificate]),
        maxInboundExtensionFrameBytes: maxAuth,
      })
      ctl = new ClientSessionCerts(interposer, credentials, anchors, cp, ext)
      const c = ctl
      interposer.on('peerSettings', (entries: [number, number][]) => c.onPeerSettings(entries))
      interposer.on('extensionFrame', (f: { type: number; streamId: number; payload: Uint8Array }) => c.onFrame(f.type, f.streamId, f.payload))
      interposer.on('extensionFrameTooLarge', () => c.onFrame(cp.frameServerCertificate, 0, new Uint8Array(maxAuth + 1)))
      tlsSocket.once('secureConnect', () => c.start(tlsSocket, limit, serverCertAuth))
      return socket
    },
  }, listener)
  if (ctl) {
    ctl.bindSession(session)
    ;(session as unknown as Record<symbol, unknown>)[kClient] = ctl
  } else {
    session.destroy(new ClosedError('connection was not created'))
  }
  return session
}

function tlsIsIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
