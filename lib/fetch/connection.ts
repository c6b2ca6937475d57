/**
 * One connection of `SecondaryCertsAgent`: a TLS socket (handshake done, ALPN h2) wrapped in the
 * frame interposer and TLS facade, with the client extension running from the socket alone. The
 * facade goes to undici, whose client-h2 runs `http2.connect` over it; this object never sees the
 * `node:http2` session.
 */
import { EventEmitter } from 'node:events'
import type net from 'node:net'
import type tls from 'node:tls'
import { isIP } from 'node:net'
import type { Codepoints } from '../config.js'
import type { ProtocolError } from '../errors.js'
import { ClientSessionCerts } from '../binding/attach-client.js'
import type { ClientExtensionOptions, ServerCertificateEvent } from '../binding/attach-client.js'
import type { LoadedCredential } from '../binding/credentials.js'
import { wrapClientSocket } from '../binding/tls-facade.js'
import { decodeOriginFrame, ORIGIN_FRAME_TYPE } from '../wire/h2/origin-frame.js'
import { FirstSettingsAppender } from './first-settings.js'

/** What every connection of one agent shares (resolved once per agent). */
export interface ConnectionSetup {
  readonly codepoints: Codepoints
  readonly credentials: readonly LoadedCredential[]
  readonly anchors: Uint8Array[]
  readonly extension: ClientExtensionOptions
  /** N of SETTINGS_HTTP_CLIENT_CERT_AUTH. */
  readonly credentialLimit: number
  readonly serverCertAuth: boolean
  readonly maxAuthenticatorBytes: number
}

/**
 * An interposed HTTP/2 connection for undici. Events: `'serverCertificate'`
 * (`ServerCertificateEvent`), `'origin'` (the RFC 8336 origin set after an ORIGIN frame),
 * `'violation'` (`ProtocolError`), `'close'`.
 */
export class SecondaryCertsConnection extends EventEmitter {
  /** The socket handed to undici (the TLS facade). */
  readonly socket: net.Socket
  /** The extension's view of this connection (identities presented, frames, origins). */
  readonly certs: ClientSessionCerts
  /** The TLS socket underneath. */
  readonly tlsSocket: tls.TLSSocket
  /** `https://host:port` this connection was opened for. */
  readonly origin: string
  private originSetValue: Set<string> | undefined
  private closedValue = false

  constructor(tlsSocket: tls.TLSSocket, origin: URL, setup: ConnectionSetup) {
    super()
    this.tlsSocket = tlsSocket
    this.origin = origin.origin
    const cp = setup.codepoints
    const { interposer, socket } = wrapClientSocket(tlsSocket, {
      extensionFrameTypes: new Set([cp.frameServerCertificate, cp.frameAuthenticatorRequests, cp.frameClientCertificate, ORIGIN_FRAME_TYPE]),
      maxInboundExtensionFrameBytes: setup.maxAuthenticatorBytes,
    })
    this.socket = socket
    const certs = new ClientSessionCerts(interposer, setup.credentials, setup.anchors, cp, setup.extension)
    this.certs = certs
    interposer.on('peerSettings', (entries: [number, number][]) => certs.onPeerSettings(entries))
    interposer.on('extensionFrame', (f: { type: number; streamId: number; payload: Uint8Array }) => {
      if (f.type === ORIGIN_FRAME_TYPE) this.onOriginFrame(f.streamId, f.payload)
      else certs.onFrame(f.type, f.streamId, f.payload)
    })
    interposer.on('extensionFrameTooLarge', () => certs.onFrame(cp.frameServerCertificate, 0, new Uint8Array(setup.maxAuthenticatorBytes + 1)))
    certs.on('serverCertificate', (ev: ServerCertificateEvent) => this.emit('serverCertificate', ev))
    certs.on('violation', (error: ProtocolError) => {
      // The facade's 'error' is what undici records as the connection's error: in-flight and
      // queued requests fail with it, so fetch rejects with it as `cause`.
      if (!socket.destroyed) socket.destroy(error)
      this.emit('violation', error)
    })
    socket.once('close', () => {
      this.closedValue = true
      this.emit('close')
    })
    appendOurSettings(interposer, setup)
    certs.start(tlsSocket, setup.credentialLimit, setup.serverCertAuth)
  }

  /** True once the connection closed (its origins are gone with it, SERVER -02 §7.1). */
  get closed(): boolean {
    return this.closedValue || this.socket.destroyed
  }

  /** Address of the peer (for the DNS check of coalescing). */
  get remoteAddress(): string | undefined {
    return this.tlsSocket.remoteAddress
  }

  /** Port of the connection's origin. */
  get port(): number {
    return Number(new URL(this.origin).port || 443)
  }

  /**
   * RFC 8336 §2.3 origin set: undefined until the first ORIGIN frame; then the connection's own
   * origin plus every origin the server listed.
   */
  get originSet(): ReadonlySet<string> | undefined {
    return this.originSetValue
  }

  /**
   * True when `hostname` is covered by a secondary server certificate accepted on this
   * connection (SERVER -02 §3.2: chain trusted, name in its subjectAltName).
   */
  coversBySecondaryCertificate(hostname: string): boolean {
    return this.certs.hasOrigin(stripBrackets(hostname))
  }

  private onOriginFrame(streamId: number, payload: Uint8Array): void {
    // RFC 8336 §2.1: an ORIGIN frame on a stream other than 0 is ignored, and so is one whose
    // entries are malformed ("MUST be ignored" applies to the frame, not the connection).
    if (streamId !== 0) return
    let origins: string[]
    try {
      origins = decodeOriginFrame(payload)
    } catch {
      return
    }
    const set = this.originSetValue ?? new Set([this.origin])
    for (const o of origins) {
      try {
        set.add(new URL(o).origin)
      } catch {
        // An entry that is not an origin adds nothing.
      }
    }
    this.originSetValue = set
    this.emit('origin', set)
  }
}

/** Installs the SETTINGS appender below nghttp2 on the interposer's write path. */
function appendOurSettings(interposer: object, setup: ConnectionSetup): void {
  const entries: [number, number][] = []
  if (setup.credentialLimit > 0) entries.push([setup.codepoints.settingClientCertAuth, setup.credentialLimit])
  if (setup.serverCertAuth) entries.push([setup.codepoints.settingServerCertAuth, 1])
  if (entries.length === 0) return
  // TODO(#9): the session driver advertises our SETTINGS itself for stacks we do not create;
  // until then the appender sits in front of the interposer's write methods.
  const appender = new FirstSettingsAppender(entries)
  type Cb = (error?: Error | null) => void
  const target = interposer as {
    _write(chunk: Buffer, encoding: BufferEncoding, callback: Cb): void
    _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Cb): void
  }
  const write = target._write.bind(interposer)
  const writev = target._writev.bind(interposer)
  target._write = (chunk, encoding, callback) => {
    if (appender.hasRewritten) return write(chunk, encoding, callback)
    let out: Buffer
    try {
      out = appender.push(chunk)
    } catch (e) {
      callback(e as Error)
      return
    }
    if (out.length === 0) callback()
    else write(out, encoding, callback)
  }
  target._writev = (chunks, callback) => {
    if (appender.hasRewritten) return writev(chunks, callback)
    let out: Buffer
    try {
      out = appender.push(Buffer.concat(chunks.map((c) => c.chunk)))
    } catch (e) {
      callback(e as Error)
      return
    }
    if (out.length === 0) callback()
    else write(out, chunks[0]!.encoding, callback)
  }
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '')
}

/** The SNI name for a host (none for IP literals, RFC 6066 §3). */
export function serverNameFor(hostname: string): string | undefined {
  const h = stripBrackets(hostname)
  return isIP(h) === 0 ? h : undefined
}
