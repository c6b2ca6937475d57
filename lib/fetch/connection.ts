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
import type { ProtocolError } from '../errors.js'
import { interposeClientSocket } from '../binding/attach-client.js'
import type { ClientSessionCerts, ServerCertificateEvent } from '../binding/attach-client.js'
import type { ResolvedClientOptions } from '../binding/options.js'
import { decodeOriginFrame, ORIGIN_FRAME_TYPE } from '../wire/h2/origin-frame.js'

/** What every connection of one agent shares (resolved once per agent). */
export type ConnectionSetup = ResolvedClientOptions

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
    // The driver runs from the socket alone; undici's http2.connect cannot be given our
    // SETTINGS, so they are appended to its first SETTINGS frame on the way out.
    const { certs, socket, interposer } = interposeClientSocket(tlsSocket, setup, { extraFrameTypes: [ORIGIN_FRAME_TYPE], appendSettings: true })
    this.socket = socket
    this.certs = certs
    interposer.on('extensionFrame', (f: { type: number; streamId: number; payload: Uint8Array }) => {
      if (f.type === ORIGIN_FRAME_TYPE) this.onOriginFrame(f.streamId, f.payload)
    })
    certs.on('serverCertificate', (ev: ServerCertificateEvent) => this.emit('serverCertificate', ev))
    // The driver destroys the facade with the ProtocolError: undici records it as the
    // connection's error, so in-flight requests fail and fetch rejects with it as `cause`.
    certs.on('violation', (error: ProtocolError) => this.emit('violation', error))
    socket.once('close', () => {
      this.closedValue = true
      this.emit('close')
    })
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

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '')
}

/** The SNI name for a host (none for IP literals, RFC 6066 §3). */
export function serverNameFor(hostname: string): string | undefined {
  const h = stripBrackets(hostname)
  return isIP(h) === 0 ? h : undefined
}
