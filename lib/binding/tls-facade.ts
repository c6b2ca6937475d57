import http2 from 'node:http2'
import net from 'node:net'
import { Duplex } from 'node:stream'
import type tls from 'node:tls'
import { UnsupportedError, UsageError } from '../errors.js'
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, H2Flag, H2FrameType } from '../wire/h2/frame-header.js'
import { decodeSettingsPayload } from '../wire/h2/settings.js'
import type { SettingsEntry } from '../wire/h2/settings.js'
import { FrameInterposer } from './interposer.js'
import type { FrameInterposerOptions } from './interposer.js'
import { publish } from './diagnostics.js'

/*
 * TLS facade (notes node20-feasibility §1, "Pitfall"). node:http2 wraps any socket without a
 * native StreamBase handle in its internal JSStreamSocket, and then sees no TLS: the session says
 * `encrypted === false`, `alpnProtocol === 'h2c'`, has no `originSet`, and `session.socket` has no
 * `getPeerCertificate()` or `remoteAddress`. We hand http2 our own subclass of JSStreamSocket
 * (already StreamBase, so http2 uses it as is) whose TLS properties and methods forward to the
 * real TLSSocket. On a client it also reports `secureConnecting` until the TLS handshake is done
 * and then emits 'connect', which is what the session waits for.
 *
 * Node internals relied on (pinned by spec/binding/tls-facade.spec.ts):
 * - `Object.getPrototypeOf(http2.performServerHandshake(duplex).socket).constructor` is
 *   JSStreamSocket, a `net.Socket` subclass taking the wrapped Duplex as its only argument, whose
 *   `_handle.isStreamBase` is true;
 * - Http2Session reads `encrypted`, `alpnProtocol`, `connecting`/`secureConnecting` and, for the
 *   origin set, `servername`/`remoteAddress`/`remoteFamily`/`remotePort` from the socket object,
 *   and waits for 'connect' when the socket is not a TLSSocket;
 * - `session.socket` and compat `req.socket` are proxies that read properties from that object;
 * - the session feeds bytes already buffered in a socket's readable side to nghttp2 when it
 *   starts (used by the peek of `attachInterposerToServer`);
 * - http2's connection listener on `Http2SecureServer` is the 'secureConnection' listener named
 *   `connectionListener`.
 */

type SocketCtor = new (stream: Duplex) => net.Socket

let jsStreamSocket: SocketCtor | undefined
let facadeCtor: (new (interposer: FrameInterposer, tlsSocket: tls.TLSSocket) => net.Socket) | undefined

const kTls = Symbol('tlsSocket')
const kReady = Symbol('tlsReady')

/**
 * Node's internal JSStreamSocket class, found through a throw-away server handshake on a dummy
 * Duplex (no public export exists; `_stream_wrap` is deprecated and warns).
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) when this Node does not expose it that way.
 */
export function jsStreamSocketClass(): SocketCtor {
  if (jsStreamSocket) return jsStreamSocket
  const dummy = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback()
    },
  })
  let ctor: unknown
  try {
    const session = http2.performServerHandshake(dummy)
    ctor = (Object.getPrototypeOf(session.socket) as { constructor?: unknown } | null)?.constructor
    session.destroy()
  } catch (e) {
    throw new UnsupportedError('node:http2 internals changed: cannot reach JSStreamSocket', { cause: e })
  } finally {
    dummy.destroy()
  }
  if (typeof ctor !== 'function' || !(ctor.prototype instanceof net.Socket)) {
    throw new UnsupportedError('node:http2 internals changed: JSStreamSocket is not a net.Socket')
  }
  jsStreamSocket = ctor as SocketCtor
  return jsStreamSocket
}

/** TLSSocket getters forwarded as they are. */
const FORWARDED_GETTERS = [
  'alpnProtocol',
  'authorized',
  'authorizationError',
  'servername',
  'remoteAddress',
  'remotePort',
  'remoteFamily',
  'localAddress',
  'localPort',
  'localFamily',
  'bytesRead',
  'bytesWritten',
] as const

/** TLSSocket methods forwarded and returning the TLSSocket's result. */
const FORWARDED_METHODS = [
  'getPeerCertificate',
  'getPeerX509Certificate',
  'getCertificate',
  'getX509Certificate',
  'getCipher',
  'getProtocol',
  'getSession',
  'getTLSTicket',
  'isSessionReused',
  'getFinished',
  'getPeerFinished',
  'getEphemeralKeyInfo',
  'getSharedSigalgs',
  'exportKeyingMaterial',
  'setMaxSendFragment',
  'disableRenegotiation',
  'enableTrace',
  'address',
] as const

/** Methods forwarded to the TLSSocket that return the facade (chainable like net.Socket). */
const FORWARDED_CHAINABLE = ['setNoDelay', 'setKeepAlive', 'ref', 'unref'] as const

function facadeClass(): new (interposer: FrameInterposer, tlsSocket: tls.TLSSocket) => net.Socket {
  if (facadeCtor) return facadeCtor
  const Base = jsStreamSocketClass()
  class TlsFacade extends Base {
    constructor(interposer: FrameInterposer, tlsSocket: tls.TLSSocket) {
      super(interposer)
      const self = this as unknown as Record<symbol, unknown>
      self[kTls] = tlsSocket
      self[kReady] = isHandshakeDone(tlsSocket)
      if (!self[kReady]) {
        tlsSocket.once('secureConnect', () => {
          self[kReady] = true
          this.emit('connect')
        })
      }
    }
  }
  const proto = TlsFacade.prototype as unknown as Record<string, unknown>
  const tlsOf = (self: unknown): Record<string, unknown> => (self as Record<symbol, Record<string, unknown>>)[kTls]!
  Object.defineProperty(proto, 'encrypted', { configurable: true, get: () => true })
  Object.defineProperty(proto, 'secureConnecting', {
    configurable: true,
    get(this: unknown) {
      return (this as Record<symbol, unknown>)[kReady] !== true
    },
  })
  Object.defineProperty(proto, 'tlsSocket', {
    configurable: true,
    get(this: unknown) {
      return tlsOf(this)
    },
  })
  for (const name of FORWARDED_GETTERS) {
    Object.defineProperty(proto, name, {
      configurable: true,
      get(this: unknown) {
        return tlsOf(this)[name]
      },
    })
  }
  for (const name of FORWARDED_METHODS) {
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]): unknown {
        const t = tlsOf(this)
        return (t[name] as (...a: unknown[]) => unknown).apply(t, args)
      },
    })
  }
  for (const name of FORWARDED_CHAINABLE) {
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]): unknown {
        const t = tlsOf(this)
        ;(t[name] as (...a: unknown[]) => unknown).apply(t, args)
        return this
      },
    })
  }
  facadeCtor = TlsFacade
  return facadeCtor
}

function isHandshakeDone(tlsSocket: tls.TLSSocket): boolean {
  // `_secureEstablished` is TLSSocket's own flag; a negotiated protocol version is the public sign.
  const established = (tlsSocket as unknown as { _secureEstablished?: unknown })._secureEstablished
  if (typeof established === 'boolean') return established
  const p = tlsSocket.getProtocol()
  return p !== null && p !== 'unknown'
}

/** Options of `wrapServerSocket` / `wrapClientSocket`. */
export type WrapOptions = Omit<FrameInterposerOptions, 'role'>

/** An interposed connection: the interposer and the socket to give to node:http2. */
export interface WrappedSocket {
  readonly interposer: FrameInterposer
  /**
   * The TLS facade: a `net.Socket` (JSStreamSocket subclass) over the interposer that looks like
   * the TLSSocket to http2 (`encrypted`, `alpnProtocol`, `getPeerCertificate()`, …, and
   * `tlsSocket`, the real one). Hand it to http2; do not read or write it yourself.
   */
  readonly socket: net.Socket
}

/**
 * Wraps an accepted server-side TLS connection (ALPN `h2`) for http2's connection listener or
 * `http2.performServerHandshake`.
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) when Node's internals do not match.
 * @throws UsageError (`ERR_SC_USAGE`) on bad options.
 */
export function wrapServerSocket(tlsSocket: tls.TLSSocket, options: WrapOptions): WrappedSocket {
  const Facade = facadeClass()
  const interposer = new FrameInterposer(tlsSocket, { ...options, role: 'server' })
  return { interposer, socket: new Facade(interposer, tlsSocket) }
}

/**
 * Wraps a client TLS socket (connecting or connected, ALPN `h2`) for
 * `http2.connect(url, { createConnection: () => socket })`. The session starts when the TLS
 * handshake completes, as with a plain TLS socket.
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) when Node's internals do not match.
 * @throws UsageError (`ERR_SC_USAGE`) on bad options.
 */
export function wrapClientSocket(tlsSocket: tls.TLSSocket, options: WrapOptions): WrappedSocket {
  const Facade = facadeClass()
  const interposer = new FrameInterposer(tlsSocket, { ...options, role: 'client' })
  return { interposer, socket: new Facade(interposer, tlsSocket) }
}

/** Options of `attachInterposerToServer`. */
export interface AttachInterposerOptions extends WrapOptions {
  /**
   * Keep ordinary clients on the native path (notes §1): read the client preface and first
   * SETTINGS frame, and wrap only when it carries one of these identifiers with a non-zero value
   * (value 0 means "not supported" for both settings of the drafts). A client that advertises
   * support only in a later SETTINGS frame stays native. Omit to wrap every h2 connection.
   */
  readonly peekClientSettings?: readonly number[]
  /** How long the peek waits for the preface and first SETTINGS; then native. Default 5000. */
  readonly peekTimeoutMs?: number
  /** Extra filter: return false to keep a connection native. */
  readonly shouldWrap?: (tlsSocket: tls.TLSSocket) => boolean
}

/** What `attachInterposerToServer` returns. */
export interface InterposerAttachment {
  /** Puts the original connection listener back (connections already wrapped stay wrapped). */
  detach(): void
}

type ConnectionListener = (this: unknown, socket: net.Socket) => void

/**
 * Replaces the single 'secureConnection' listener of an `Http2SecureServer` (http2's connection
 * listener) with one that wraps h2 connections in a frame interposer and a TLS facade before
 * calling the original listener, so `allowHTTP1`, the compat API and `server.setTimeout` keep
 * working. Connections with another ALPN (`http/1.1`, none) and, with `peekClientSettings`,
 * clients that do not advertise the extension get the native TLSSocket (full speed).
 *
 * `onWrapped(interposer, tlsSocket, facade)` runs synchronously before the session exists:
 * register frame listeners there. A throwing `onWrapped` destroys that connection only.
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) when http2's 'secureConnection' listener
 *   cannot be found (not named `connectionListener` and not the only one) or Node's internals
 *   do not match.
 */
export function attachInterposerToServer(
  server: http2.Http2SecureServer,
  options: AttachInterposerOptions,
  onWrapped: (interposer: FrameInterposer, tlsSocket: tls.TLSSocket, facade: net.Socket) => void,
): InterposerAttachment {
  facadeClass()
  const original = http2ConnectionListener(server)
  const { peekClientSettings: peekIds, peekTimeoutMs, shouldWrap, ...wrapOptions } = options
  if (peekTimeoutMs !== undefined && !(peekTimeoutMs > 0)) throw new UsageError('peekTimeoutMs must be positive')
  const ids = peekIds === undefined ? undefined : new Set(peekIds)

  const wrapAndHand = (tlsSocket: tls.TLSSocket): void => {
    let wrapped: WrappedSocket
    try {
      wrapped = wrapServerSocket(tlsSocket, wrapOptions)
      onWrapped(wrapped.interposer, tlsSocket, wrapped.socket)
    } catch (error) {
      publish('error', { role: 'server', error })
      tlsSocket.destroy()
      return
    }
    original.call(server, wrapped.socket)
  }

  const listener: ConnectionListener = function (socket: net.Socket): void {
    const tlsSocket = socket as tls.TLSSocket
    if (tlsSocket.alpnProtocol !== 'h2' || (shouldWrap !== undefined && !shouldWrap(tlsSocket))) {
      original.call(server, tlsSocket)
      return
    }
    if (ids === undefined) {
      wrapAndHand(tlsSocket)
      return
    }
    peekClientSettings(tlsSocket, ids, peekTimeoutMs ?? 5000, (verdict) => {
      if (verdict === 'closed' || tlsSocket.destroyed) return
      if (verdict === 'wrap') wrapAndHand(tlsSocket)
      else original.call(server, tlsSocket)
    })
  }
  // Take the original's place in the listener order.
  const all = server.rawListeners('secureConnection') as ConnectionListener[]
  server.removeAllListeners('secureConnection')
  for (const l of all) server.on('secureConnection', l === original ? listener : l)
  return {
    detach(): void {
      const all = server.rawListeners('secureConnection') as ConnectionListener[]
      if (!all.includes(listener)) return
      server.removeAllListeners('secureConnection')
      for (const l of all) server.on('secureConnection', l === listener ? original : l)
    },
  }
}

/**
 * http2's own 'secureConnection' listener: the one named `connectionListener` (Node's name for
 * it), else the only listener there is.
 */
function http2ConnectionListener(server: http2.Http2SecureServer): ConnectionListener {
  const listeners = server.listeners('secureConnection') as ConnectionListener[]
  const named = listeners.filter((l) => l.name === 'connectionListener')
  if (named.length === 1) return named[0]!
  if (listeners.length === 1) return listeners[0]!
  throw new UnsupportedError(`cannot tell http2's 'secureConnection' listener among ${listeners.length}`)
}

/** Outcome of the peek: wrap, keep native, or the socket went away. */
export type PeekVerdict = 'wrap' | 'native' | 'closed'

/** Largest first SETTINGS payload the peek reads (a few hundred entries; RFC 9113 §6.5). */
const MAX_PEEK_SETTINGS_BYTES = 16384

/**
 * Reads the client connection preface and first SETTINGS frame (RFC 9113 §3.4: the client's
 * first frame) from a server-side TLS socket without consuming them: the bytes are unshifted
 * back before `done` runs, for whichever path then reads the socket.
 *
 * Verdicts: `'wrap'` when the first SETTINGS holds one of `ids` with a non-zero value;
 * `'native'` when it does not, when the bytes are not an HTTP/2 preface followed by SETTINGS
 * (nghttp2 will reject them), or on timeout; `'closed'` when the socket ended, failed or closed
 * first (it is then destroyed).
 */
export function peekClientSettings(
  tlsSocket: tls.TLSSocket,
  ids: ReadonlySet<number>,
  timeoutMs: number,
  done: (verdict: PeekVerdict) => void,
): void {
  const chunks: Buffer[] = []
  let total = 0
  let finished = false
  const finish = (verdict: PeekVerdict): void => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    tlsSocket.removeListener('readable', onReadable)
    tlsSocket.removeListener('end', onEnd)
    tlsSocket.removeListener('close', onClose)
    tlsSocket.removeListener('error', onError)
    if (verdict === 'closed') {
      tlsSocket.destroy()
    } else if (total > 0) {
      tlsSocket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total))
    }
    done(verdict)
  }
  const onReadable = (): void => {
    let chunk: Buffer | null
    while ((chunk = tlsSocket.read() as Buffer | null) !== null) {
      chunks.push(chunk)
      total += chunk.length
    }
    const verdict = judge(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), ids)
    if (verdict !== 'more') finish(verdict)
  }
  const onEnd = (): void => finish('closed')
  const onClose = (): void => finish('closed')
  const onError = (): void => finish('closed')
  const timer = setTimeout(() => finish('native'), timeoutMs)
  timer.unref()
  tlsSocket.on('readable', onReadable)
  tlsSocket.once('end', onEnd)
  tlsSocket.once('close', onClose)
  tlsSocket.once('error', onError)
}

function judge(b: Buffer, ids: ReadonlySet<number>): 'more' | 'wrap' | 'native' {
  const prefaceBytes = Math.min(b.length, CLIENT_PREFACE.length)
  for (let i = 0; i < prefaceBytes; i++) if (b[i] !== CLIENT_PREFACE[i]) return 'native'
  const h = CLIENT_PREFACE.length
  if (b.length < h + FRAME_HEADER_BYTES) return 'more'
  const length = (b[h]! << 16) | (b[h + 1]! << 8) | b[h + 2]!
  const type = b[h + 3]!
  const flags = b[h + 4]!
  const streamId = b.readUInt32BE(h + 5) & 0x7fffffff
  if (type !== H2FrameType.SETTINGS || (flags & H2Flag.ACK) !== 0 || streamId !== 0) return 'native'
  if (length > MAX_PEEK_SETTINGS_BYTES) return 'native'
  const start = h + FRAME_HEADER_BYTES
  if (b.length < start + length) return 'more'
  let entries: SettingsEntry[]
  try {
    entries = decodeSettingsPayload(b.subarray(start, start + length))
  } catch {
    return 'native'
  }
  for (const [id, value] of entries) if (ids.has(id) && value !== 0) return 'wrap'
  return 'native'
}
