/**
 * A raw HTTP/2 peer over real TLS 1.3 (node:tls, ALPN h2) that writes hand-built frames and
 * parses what comes back. It shares no frame code with lib/: every byte here is laid out from
 * RFC 9113 §4.1 (frame header), §6 (frame payloads), RFC 7541 (a tiny HPACK subset) and
 * RFC 9000 §16 (QUIC varints of AUTHENTICATOR_REQUESTS, CLIENT -00 §4.1.1), so it can test the
 * binding's error paths against a peer whose bugs are not the binding's bugs.
 *
 * As a client (`connectRaw`) it tests our server; as a server (`listenRaw`, a `tls.Server`
 * speaking raw frames) it tests our client. Real authenticator requests and authenticators come
 * from lib/ea on the peer's own TLS socket (`peer.ea()`), so "invalid authenticator" and
 * "valid then replayed" cases are real.
 */
import { EventEmitter } from 'node:events'
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { ExportedAuthenticators } from '../ea/authenticators.js'
import type { CryptoProvider } from '../crypto/provider.js'

/** RFC 9113 §3.4 client connection preface. */
export const PREFACE: Buffer = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

/** RFC 9113 §6 frame types. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

/** RFC 9113 §6 flags. */
export const Flag = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const

/** RFC 9113 §7 error codes (the ones tests look at). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  FRAME_SIZE_ERROR: 0x6,
  ENHANCE_YOUR_CALM: 0xb,
} as const

/** RFC 9113 §6.5.2 SETTINGS_MAX_FRAME_SIZE. */
export const SETTINGS_MAX_FRAME_SIZE = 0x5

/** The extension's default codepoints (digest http2-secondary-certs §5), written out here on purpose. */
export const Ext = {
  SETTINGS_HTTP_SERVER_CERT_AUTH: 0xf5a1,
  SETTINGS_HTTP_CLIENT_CERT_AUTH: 0xf5a2,
  SERVER_CERTIFICATE: 0xf8,
  AUTHENTICATOR_REQUESTS: 0xf9,
  CLIENT_CERTIFICATE: 0xfa,
  SERVER_CERTIFICATE_INVALID: 0xf5a1,
} as const

/** One received frame. */
export interface Frame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly payload: Buffer
}

export type SettingsEntries = readonly (readonly [number, number])[]

// ------------------------------------------------------------------------------------------------
// Builders

/** RFC 9113 §4.1: Length (24) | Type (8) | Flags (8) | R (1) + Stream Identifier (31) | payload. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length)
  out.writeUIntBE(payload.length, 0, 3)
  out[3] = type & 0xff
  out[4] = flags & 0xff
  out.writeUInt32BE(streamId & 0x7fffffff, 5)
  out.set(payload, 9)
  return out
}

/** A frame header whose Length field says `length`, for payloads written separately. */
export function encodeFrameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const out = Buffer.alloc(9)
  out.writeUIntBE(length, 0, 3)
  out[3] = type
  out[4] = flags
  out.writeUInt32BE(streamId & 0x7fffffff, 5)
  return out
}

/** RFC 9113 §6.5.1: SETTINGS with 16-bit identifiers and 32-bit values (any identifiers). */
export function encodeSettings(entries: SettingsEntries): Buffer {
  const p = Buffer.alloc(entries.length * 6)
  entries.forEach(([id, value], i) => {
    p.writeUInt16BE(id, i * 6)
    p.writeUInt32BE(value >>> 0, i * 6 + 2)
  })
  return encodeFrame(FrameType.SETTINGS, 0, 0, p)
}

/** SETTINGS with the ACK flag (RFC 9113 §6.5). */
export function encodeSettingsAck(): Buffer {
  return encodeFrame(FrameType.SETTINGS, Flag.ACK, 0)
}

/** RFC 9113 §6.8 GOAWAY. */
export function encodeGoaway(lastStreamId: number, code: number, debug = ''): Buffer {
  const p = Buffer.alloc(8 + Buffer.byteLength(debug))
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0)
  p.writeUInt32BE(code >>> 0, 4)
  p.write(debug, 8)
  return encodeFrame(FrameType.GOAWAY, 0, 0, p)
}

/** RFC 9113 §6.7 PING (8 opaque bytes). */
export function encodePing(data: Uint8Array = new Uint8Array(8), ack = false): Buffer {
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data)
}

/** RFC 7541 §5.2 string literal without Huffman coding (lengths below 127 only). */
function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1')
  if (b.length >= 127) throw new RangeError('hpackString: short strings only')
  return Buffer.concat([Buffer.from([b.length]), b])
}

/**
 * RFC 7541 header block for a GET: `:method GET` (static index 2), `:scheme https` (7), `:path`
 * (4 when '/', else a literal without indexing on name index 4), `:authority` as a literal without
 * indexing on name index 1 (§6.2.2). No dynamic table, no Huffman.
 */
export function hpackGet(authority: string, path = '/'): Buffer {
  const parts: Buffer[] = [Buffer.from([0x82, 0x87])]
  parts.push(path === '/' ? Buffer.from([0x84]) : Buffer.concat([Buffer.from([0x04]), hpackString(path)]))
  parts.push(Buffer.concat([Buffer.from([0x01]), hpackString(authority)]))
  return Buffer.concat(parts)
}

/** HEADERS (END_HEADERS | END_STREAM) for `GET path` on `streamId`. */
export function encodeGet(streamId: number, authority: string, path = '/'): Buffer {
  return encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, hpackGet(authority, path))
}

/** HEADERS answering `streamId` with `:status 200` (static index 8) and END_STREAM. */
export function encodeResponse200(streamId: number): Buffer {
  return encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, Buffer.from([0x88]))
}

/** RFC 9000 §16 variable-length integer, shortest form. */
export function encodeVarint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n])
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff])
  if (n < 0x40000000) {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n | 0x80000000, 0)
    return b
  }
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n) | (0xc0n << 56n), 0)
  return b
}

/** AUTHENTICATOR_REQUESTS payload (CLIENT -00 §4.1.1): each request as varint length + bytes. */
export function encodeRequestList(requests: readonly Uint8Array[]): Buffer {
  return Buffer.concat(requests.flatMap((r) => [encodeVarint(r.length), Buffer.from(r)]))
}

/** Splits an AUTHENTICATOR_REQUESTS payload back into requests (throws RangeError when malformed). */
export function decodeRequestList(payload: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let i = 0
  while (i < payload.length) {
    const first = payload[i]!
    const size = 1 << (first >> 6)
    if (i + size > payload.length) throw new RangeError('truncated varint')
    let len = first & 0x3f
    for (let k = 1; k < size; k++) len = len * 256 + payload[i + k]!
    i += size
    if (i + len > payload.length) throw new RangeError('request runs past the payload')
    out.push(payload.subarray(i, i + len))
    i += len
  }
  if (out.length === 0) throw new RangeError('empty request list')
  return out
}

// ------------------------------------------------------------------------------------------------
// Parsers

/** GOAWAY contents (RFC 9113 §6.8). */
export interface GoawayInfo {
  readonly lastStreamId: number
  readonly code: number
  readonly debug: string
}

export function decodeGoaway(f: Frame): GoawayInfo {
  return {
    lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
    code: f.payload.readUInt32BE(4),
    debug: f.payload.subarray(8).toString('utf8'),
  }
}

/** SETTINGS entries in wire order (RFC 9113 §6.5.1). */
export function decodeSettings(f: Frame): [number, number][] {
  const out: [number, number][] = []
  for (let i = 0; i + 6 <= f.payload.length; i += 6) out.push([f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2)])
  return out
}

const STATIC_STATUS: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 }

/**
 * The `:status` of a response HEADERS frame when it is the first header field and either a
 * static-table entry (RFC 7541 Appendix A, indices 8–14) or a literal on name index 8 with a
 * plain (non-Huffman) value; undefined otherwise.
 */
export function responseStatus(f: Frame): number | undefined {
  let p = f.payload
  if (f.flags & Flag.PADDED) p = p.subarray(1, p.length - p[0]!)
  if (f.flags & Flag.PRIORITY) p = p.subarray(5)
  const b = p[0]
  if (b === undefined) return undefined
  if (STATIC_STATUS[b] !== undefined) return STATIC_STATUS[b]
  // literal with incremental indexing (0x48) or without indexing (0x08) or never indexed (0x18)
  if ((b === 0x48 || b === 0x08 || b === 0x18) && p[1] !== undefined && (p[1] & 0x80) === 0) {
    return Number(p.subarray(2, 2 + p[1]).toString('latin1'))
  }
  return undefined
}

/**
 * Splits a byte stream into frames (RFC 9113 §4.1). With `expectPreface` the first 24 bytes must
 * be the client preface (server side).
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0)
  private prefacePending: boolean
  /** Set when the preface did not match. */
  badPreface = false

  constructor(expectPreface: boolean) {
    this.prefacePending = expectPreface
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const out: Frame[] = []
    if (this.prefacePending) {
      if (this.buf.length < PREFACE.length) return out
      if (!this.buf.subarray(0, PREFACE.length).equals(PREFACE)) this.badPreface = true
      this.buf = this.buf.subarray(PREFACE.length)
      this.prefacePending = false
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3)
      if (this.buf.length < 9 + len) break
      out.push({
        type: this.buf[3]!,
        flags: this.buf[4]!,
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      })
      this.buf = this.buf.subarray(9 + len)
    }
    return out
  }
}

// ------------------------------------------------------------------------------------------------
// The peer

export interface RawPeerBehaviour {
  /** ACK the peer's SETTINGS and PINGs. Default true. */
  readonly autoAck?: boolean
  /** Server only: answer every request HEADERS with `:status 200`. Default true. */
  readonly autoRespond?: boolean
}

/**
 * One raw HTTP/2 connection. Every received frame lands in `frames` (and is emitted as
 * `'frame'`); `waitFor*` resolve on frames, the first GOAWAY, or the end of the connection.
 */
export class RawPeer extends EventEmitter {
  readonly role: 'client' | 'server'
  readonly socket: tls.TLSSocket
  readonly frames: Frame[] = []
  /** The peer's non-ACK SETTINGS frames, decoded, in order. */
  readonly peerSettings: [number, number][][] = []
  goaway: GoawayInfo | undefined
  closed = false
  /** Bytes received after the socket ended, or errors: for diagnosis. */
  error: Error | undefined
  autoAck: boolean
  autoRespond: boolean
  private readonly reader: FrameReader
  private eaCache: ExportedAuthenticators | undefined

  constructor(role: 'client' | 'server', socket: tls.TLSSocket, behaviour: RawPeerBehaviour = {}) {
    super()
    this.role = role
    this.socket = socket
    this.autoAck = behaviour.autoAck ?? true
    this.autoRespond = behaviour.autoRespond ?? true
    this.reader = new FrameReader(role === 'server')
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.onFrame(f)
    })
    socket.on('error', (e) => {
      this.error = e
    })
    socket.on('close', () => {
      this.closed = true
      this.emit('closed')
    })
  }

  private onFrame(f: Frame): void {
    this.frames.push(f)
    if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) {
      this.peerSettings.push(decodeSettings(f))
      if (this.autoAck) this.write(encodeSettingsAck())
    } else if (f.type === FrameType.PING && !(f.flags & Flag.ACK) && this.autoAck) {
      this.write(encodePing(f.payload, true))
    } else if (f.type === FrameType.GOAWAY && !this.goaway) {
      this.goaway = decodeGoaway(f)
    } else if (
      f.type === FrameType.HEADERS &&
      this.role === 'server' &&
      this.autoRespond &&
      f.streamId % 2 === 1 &&
      f.flags & Flag.END_HEADERS
    ) {
      this.write(encodeResponse200(f.streamId))
    }
    this.emit('frame', f)
  }

  /** Writes raw bytes (ignored once the socket is gone). */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes)
  }

  sendFrame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): void {
    this.write(encodeFrame(type, flags, streamId, payload))
  }

  sendSettings(entries: SettingsEntries): void {
    this.write(encodeSettings(entries))
  }

  /** Client: GET `path` on `streamId` (odd). */
  sendGet(streamId: number, path = '/', authority = 'localhost'): void {
    this.write(encodeGet(streamId, authority, path))
  }

  /** The merged view of every SETTINGS frame the peer sent. */
  get settings(): Map<number, number> {
    const m = new Map<number, number>()
    for (const s of this.peerSettings) for (const [k, v] of s) m.set(k, v)
    return m
  }

  /** Resolves with the first frame (already received or later) matching `pred`. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 3000, what = 'frame'): Promise<Frame> {
    const seen = this.frames.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const onFrame = (f: Frame): void => {
        if (pred(f)) done(() => resolve(f))
      }
      const onClosed = (): void => done(() => reject(new Error(`connection closed before ${what}${this.goaway ? ` (GOAWAY code ${this.goaway.code})` : ''}`)))
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs)
      const done = (f: () => void): void => {
        clearTimeout(timer)
        this.off('frame', onFrame)
        this.off('closed', onClosed)
        f()
      }
      this.on('frame', onFrame)
      if (this.closed) onClosed()
      else this.once('closed', onClosed)
    })
  }

  /** The peer's first non-ACK SETTINGS. */
  async waitForSettings(timeoutMs = 3000): Promise<Map<number, number>> {
    await this.waitFor((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), timeoutMs, 'SETTINGS')
    return this.settings
  }

  /** The ACK of our SETTINGS. */
  async waitForSettingsAck(timeoutMs = 3000): Promise<void> {
    await this.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, timeoutMs, 'SETTINGS ACK')
  }

  /** The first GOAWAY; rejects on timeout or when the connection ends without one. */
  async waitForGoaway(timeoutMs = 3000): Promise<GoawayInfo> {
    const f = await this.waitFor((x) => x.type === FrameType.GOAWAY, timeoutMs, 'GOAWAY')
    return decodeGoaway(f)
  }

  /** The first HEADERS on `streamId`. */
  waitForHeaders(streamId: number, timeoutMs = 3000): Promise<Frame> {
    return this.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === streamId, timeoutMs, `HEADERS on stream ${streamId}`)
  }

  /** Resolves when the socket closes (true) or after `timeoutMs` (false). */
  waitForClose(timeoutMs = 3000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('closed', onClosed)
        resolve(false)
      }, timeoutMs)
      const onClosed = (): void => {
        clearTimeout(timer)
        resolve(true)
      }
      this.once('closed', onClosed)
    })
  }

  /** lib/ea bound to this peer's own TLS socket, in this peer's role (created once). */
  ea(provider?: CryptoProvider, acceptType17FromServer = false): ExportedAuthenticators {
    this.eaCache ??= ExportedAuthenticators.fromTlsSocket(this.socket, {
      role: this.role,
      ...(provider ? { provider } : {}),
      ...(acceptType17FromServer ? { acceptType17FromServer } : {}),
    })
    return this.eaCache
  }

  /** Closes the connection now. */
  close(): void {
    this.socket.destroy()
  }
}

// ------------------------------------------------------------------------------------------------
// Client

/** Settings a peer that speaks the extension sends (both settings on). */
export function extensionSettings(clientLimit = 1, extra: SettingsEntries = []): [number, number][] {
  return [
    [Ext.SETTINGS_HTTP_CLIENT_CERT_AUTH, clientLimit],
    [Ext.SETTINGS_HTTP_SERVER_CERT_AUTH, 1],
    ...extra.map(([a, b]) => [a, b] as [number, number]),
  ]
}

export interface RawClientOptions extends RawPeerBehaviour {
  readonly port: number
  readonly host?: string
  /** Trust anchor PEM; without it the server certificate is not checked. */
  readonly ca?: string
  /** Default 'localhost'. */
  readonly servername?: string
  /** First SETTINGS (default: the extension's, N = 1). `null`: send no preface and no SETTINGS. */
  readonly settings?: SettingsEntries | null
  /** TLS 1.3 cipher suites (e.g. 'TLS_AES_128_GCM_SHA256'). */
  readonly ciphersuites?: string
  /** Client certificate for the TLS handshake. */
  readonly cert?: string
  readonly key?: string
}

/** Connects, completes TLS 1.3 with ALPN h2, and sends the preface and the first SETTINGS. */
export async function connectRaw(o: RawClientOptions): Promise<RawPeer> {
  const socket = tls.connect({
    host: o.host ?? '127.0.0.1',
    port: o.port,
    servername: o.servername ?? 'localhost',
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.3',
    ...(o.ca ? { ca: o.ca } : { rejectUnauthorized: false }),
    ...(o.ciphersuites ? { ciphersuites: o.ciphersuites } : {}),
    ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve())
    socket.once('error', (e: Error & { code?: string }) => reject(handshakeFailure(e)))
  })
  if (socket.alpnProtocol !== 'h2') {
    socket.destroy()
    throw new Error(`ALPN negotiated ${String(socket.alpnProtocol)}, not h2`)
  }
  const peer = new RawPeer('client', socket, o)
  if (o.settings !== null) {
    peer.write(PREFACE)
    peer.sendSettings(o.settings ?? extensionSettings())
  }
  return peer
}

/**
 * A TLS handshake failure in words an implementer can act on (the OpenSSL text is kept as the
 * cause): the two a peer commits most are no h2 in ALPN (an HTTP/1.1-only server) and no TLS 1.3,
 * which exported authenticators need (RFC 9261 §1; digest §1).
 */
function handshakeFailure(e: Error & { code?: string }): Error {
  switch (e.code) {
    case 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL':
      return new Error('the server refused ALPN h2 (no_application_protocol alert): not an HTTP/2 server', { cause: e })
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
      return new Error('the server does not offer TLS 1.3 (protocol_version alert); exported authenticators need TLS 1.3', {
        cause: e,
      })
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new Error('the server did not answer with TLS (wrong version number): is this a TLS port?', { cause: e })
    case 'ECONNRESET':
      return new Error('the server closed the connection during the TLS handshake', { cause: e })
    default:
      return e
  }
}

// ------------------------------------------------------------------------------------------------
// Server

export interface RawServerOptions extends RawPeerBehaviour {
  readonly key: string
  readonly cert: string
  /** Server SETTINGS sent on each connection (default: the extension's, value 1). `null`: none. */
  readonly settings?: SettingsEntries | null
  readonly ciphersuites?: string
  /** Called for each connection after TLS and the server SETTINGS went out. */
  readonly onPeer?: (peer: RawPeer) => void
}

/** A `tls.Server` (ALPN h2, TLS 1.3) whose connections are raw peers. */
export class RawServer {
  readonly server: tls.Server
  readonly peers: RawPeer[] = []
  private readonly emitter = new EventEmitter()

  constructor(server: tls.Server) {
    this.server = server
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** @internal */
  add(peer: RawPeer): void {
    this.peers.push(peer)
    this.emitter.emit('peer', peer)
  }

  /** The `index`-th connection (0-based), when it arrives. */
  peer(index: number, timeoutMs = 3000): Promise<RawPeer> {
    const p = this.peers[index]
    if (p) return Promise.resolve(p)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.emitter.off('peer', on)
        reject(new Error(`no connection #${index} within ${timeoutMs} ms`))
      }, timeoutMs)
      const on = (): void => {
        const q = this.peers[index]
        if (!q) return
        clearTimeout(timer)
        this.emitter.off('peer', on)
        resolve(q)
      }
      this.emitter.on('peer', on)
    })
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const p of this.peers) p.close()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** Listens on 127.0.0.1:0 (or `port`). */
export async function listenRaw(o: RawServerOptions, port = 0): Promise<RawServer> {
  const server = tls.createServer({
    key: o.key,
    cert: o.cert,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.3',
    ...(o.ciphersuites ? { ciphersuites: o.ciphersuites } : {}),
  })
  const raw = new RawServer(server)
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    // RFC 9113 §3.2: HTTP/2 over TLS is negotiated with ALPN "h2". A client that negotiated no
    // protocol (an HTTP/1.1 client without ALPN) is not an HTTP/2 peer: closed, never a peer, so
    // it cannot take a conformance check meant for the client under test.
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy()
      return
    }
    const peer = new RawPeer('server', socket, o)
    // RFC 9113 §3.4: the server preface is a SETTINGS frame.
    if (o.settings !== null) peer.sendSettings(o.settings ?? extensionSettings(1))
    raw.add(peer)
    o.onPeer?.(peer)
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return raw
}
