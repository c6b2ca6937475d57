/**
 * Request-mTLS on Node (server side): read a connection's ClientHello before the TLS stack does,
 * look for the request-mTLS flag in `tls_flags`, and decide per connection whether the TLS
 * handshake carries a CertificateRequest. Digest tls-flags-request-mtls §3.3.
 *
 * Why a front end: a `tls.Server` (and so `http2.Http2SecureServer`) fixes `requestCert` for all
 * its connections and offers no ClientHello callback beyond SNI/ALPN. We accept the raw TCP
 * connection ourselves, buffer bytes until the ClientHello is whole (pure parser in
 * `tls-flags/client-hello.ts`), put every byte back with `unshift`, and inject the socket into
 * one of two TLS servers with `emit('connection', socket)`:
 * - no CertificateRequest: the target server itself (its own options, its own listeners);
 * - CertificateRequest: a hidden `tls.Server` with the same TLS options plus `requestCert: true`,
 *   whose `'secureConnection'` is re-emitted on the target. Both paths end in the target's
 *   `'secureConnection'` listeners (node:http2 and anything attached to it) with a TLSSocket that
 *   Node's own server code set up (`authorized`, `authorizationError`, ALPN, session tickets).
 * Creating a server-side `tls.TLSSocket` by hand and emitting it was tried first: node:http2 then
 * waits forever, because only Node's internal server listener clears `secureConnecting` (and sets
 * `authorized`); the hidden server avoids that internal.
 *
 * The socket must stay paused after `unshift` and must not be resumed by us: Node's TLS wrap
 * drains the readable buffer itself and then reads natively (measured on Node 20.20.2).
 *
 * Limits (documented, not fixable here):
 * - A Node *client* cannot send the flag: node:tls has no API to add ClientHello extensions.
 *   Test clients are hand-built ClientHellos, or another stack (e.g. Cloudflare's Go fork).
 * - A Node server cannot echo the flag in its CertificateRequest (REQMTLS editor's copy); we
 *   implement the -00…-02 behaviour ("MAY send a CertificateRequest").
 * - With Encrypted ClientHello only the outer hello is visible (digest §3.2 caveats); after a
 *   HelloRetryRequest the decision taken on the first hello stands.
 */
import net from 'node:net'
import tls from 'node:tls'
import type http2 from 'node:http2'
import { ClosedError, PeerTimeoutError, type DecodeError } from '../errors.js'
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, parseClientHello, type ClientHello } from '../tls-flags/client-hello.js'
import {
  decideClientCertificateRequest,
  requestMtlsSignal,
  type CertificateRequestOptions,
  type RequestMtlsSignal,
} from '../tls-flags/request-mtls.js'

export { decideClientCertificateRequest } from '../tls-flags/request-mtls.js'
export type { CertificateRequestOptions, CertificateRequestPolicy } from '../tls-flags/request-mtls.js'

/** Default time to wait for a whole ClientHello. */
export const DEFAULT_PEEK_TIMEOUT_MS = 10000

/** Options of {@link peekClientHello}. */
export interface PeekOptions {
  /** Give up after this long without a whole ClientHello (default 10 s). */
  readonly timeoutMs?: number
  /** Bound on buffered bytes (default 64 KiB). */
  readonly maxBytes?: number
}

/** What {@link peekClientHello} saw. Either way, `bytes` were put back on the socket. */
export type PeekResult =
  | { readonly kind: 'client-hello'; readonly bytes: Uint8Array; readonly hello: ClientHello }
  /** The bytes are not a (bounded, well-formed) TLS ClientHello; let the TLS stack answer them. */
  | { readonly kind: 'not-client-hello'; readonly bytes: Uint8Array; readonly error: DecodeError }

/**
 * Reads from a raw TCP socket until a whole ClientHello has arrived (one or more records), then
 * puts every byte back (`unshift`) and leaves the socket paused with no `'data'` listener of ours,
 * ready to be handed to a TLS server.
 * @param socket - a connected, unread `net.Socket`.
 * @param options - timeout and size bound.
 * @returns the ClientHello and the buffered bytes, or `not-client-hello` with the decode error.
 * @throws PeerTimeoutError (`ERR_SC_TIMEOUT`) when the hello is not complete in time (the bytes
 *   read so far are put back); ClosedError (`ERR_SC_CLOSED`) when the socket ends, closes or
 *   fails first. The caller usually destroys the socket.
 */
export function peekClientHello(socket: net.Socket, options: PeekOptions = {}): Promise<PeekResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PEEK_TIMEOUT_MS
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES
  return new Promise<PeekResult>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (): Buffer => {
      settled = true
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onEnd)
      socket.removeListener('error', onError)
      socket.pause()
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
      // After 'end' a readable refuses unshift; the caller only destroys such a socket anyway.
      if (bytes.length > 0 && !socket.destroyed && !socket.readableEnded) socket.unshift(bytes)
      return bytes
    }
    const onData = (chunk: Buffer): void => {
      if (settled) return
      chunks.push(chunk)
      size += chunk.length
      const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, size)
      chunks.length = 0
      chunks.push(all)
      let parsed
      try {
        parsed = parseClientHello(all, { maxBytes })
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ERR_SC_DECODE') {
          finish()
          reject(e)
          return
        }
        const bytes = finish()
        resolve({ kind: 'not-client-hello', bytes, error: e as DecodeError })
        return
      }
      if (parsed.kind === 'need-more') return
      const bytes = finish()
      resolve({ kind: 'client-hello', bytes, hello: parsed.hello })
    }
    const onEnd = (): void => {
      if (settled) return
      finish()
      reject(new ClosedError('connection ended before a whole ClientHello arrived'))
    }
    const onError = (e: Error): void => {
      if (settled) return
      finish()
      reject(new ClosedError('connection failed before a whole ClientHello arrived', { cause: e }))
    }
    const timer = setTimeout(() => {
      if (settled) return
      finish()
      reject(new PeerTimeoutError('no whole ClientHello in time', timeoutMs))
    }, timeoutMs)
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.once('error', onError)
  })
}

/** What the front end learnt and decided for one connection. */
export interface RequestMtlsConnectionInfo {
  /** The client set the request-mTLS flag (well-formed `tls_flags`, configured codepoints). */
  readonly requestMtls: boolean
  /** The handshake was run with a CertificateRequest (policy decision). */
  readonly certificateRequested: boolean
  /** Details of the flag; undefined when no ClientHello could be read. */
  readonly signal: RequestMtlsSignal | undefined
  /** The decoded ClientHello; undefined when the bytes were not one. */
  readonly hello: ClientHello | undefined
}

const INFO = Symbol.for('h2-secondary-certs.requestMtls')
type Tagged = { [INFO]?: RequestMtlsConnectionInfo }

/**
 * The request-mTLS information of a connection handled by {@link attachRequestMtls}.
 * @param target - the TLSSocket, the raw socket, or the HTTP/2 session (also through the
 *   `session.socket` proxy).
 * @returns the information, or undefined for a connection that did not pass through the front end.
 */
export function requestMtlsInfo(
  target: tls.TLSSocket | net.Socket | http2.Http2Session,
): RequestMtlsConnectionInfo | undefined {
  const direct = (target as Tagged)[INFO]
  if (direct) return direct
  const inner = (target as { socket?: unknown }).socket
  if (inner && typeof inner === 'object') return (inner as Tagged)[INFO]
  return undefined
}

/** Options of {@link attachRequestMtls}. */
export interface RequestMtlsServerOptions extends CertificateRequestOptions, PeekOptions {
  /**
   * TLS options for connections that get a CertificateRequest: the same `key`/`cert` (or SNI
   * setup) as the target server, plus `ca` for verifying client certificates. `requestCert` is
   * forced to true; `ALPNProtocols` and `ticketKeys` default to the target's.
   */
  readonly tls: tls.TlsOptions
  /**
   * Close connections whose client certificate fails verification (default false: the
   * application decides, reading `authorized`/`authorizationError`, RFC 8705 §6.2 style).
   */
  readonly rejectUnauthorized?: boolean
  /** Called once per connection after the decision (for logs and tests). */
  readonly onDecision?: (info: RequestMtlsConnectionInfo, socket: net.Socket) => void
}

/** A request-mTLS front end in front of a TLS or HTTP/2 server. */
export interface RequestMtlsFront {
  /** The TCP server to `listen()` on (instead of the target). */
  readonly server: net.Server
  /** Handles one raw connection (what `server` does for each; exposed for custom listeners). */
  handle(socket: net.Socket): Promise<void>
  /** Closes `server` and the hidden certificate-requesting TLS server. */
  close(): Promise<void>
}

function key(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string | undefined {
  return s.remoteAddress !== undefined && s.remotePort !== undefined ? `${s.remoteAddress}|${s.remotePort}` : undefined
}

/**
 * Puts a request-mTLS front end before `target` (a `tls.Server`, e.g. an
 * `http2.Http2SecureServer`, which must not `listen()` itself). For each connection it peeks
 * at the ClientHello, decides with {@link decideClientCertificateRequest} (default: request a
 * certificate exactly when the flag is present) and injects the socket into `target` (no
 * CertificateRequest) or into a hidden TLS server with `requestCert: true` whose secure
 * connections are re-emitted on `target` as `'secureConnection'`. Bytes that are not a
 * ClientHello go to `target` untouched, so its TLS stack raises the alert. A connection whose
 * hello does not arrive within `timeoutMs` is destroyed.
 *
 * The decision is exposed with {@link requestMtlsInfo} on the raw socket, on the TLSSocket and
 * (for node:http2 targets) on the session.
 *
 * Node clients cannot send the flag (node:tls cannot add ClientHello extensions).
 * @param target - the server that owns the application's listeners.
 * @param options - TLS options of the certificate-requesting path, codepoints, policy, limits.
 * @returns the front end; call `front.server.listen(...)`.
 */
export function attachRequestMtls(target: tls.Server, options: RequestMtlsServerOptions): RequestMtlsFront {
  const live = new Map<string, RequestMtlsConnectionInfo>()
  const targetInternals = target as unknown as { ALPNProtocols?: Uint8Array }
  const certServer = tls.createServer({
    ...(targetInternals.ALPNProtocols !== undefined ? { ALPNProtocols: targetInternals.ALPNProtocols } : {}),
    ticketKeys: target.getTicketKeys(),
    ...options.tls,
    requestCert: true,
    rejectUnauthorized: options.rejectUnauthorized ?? false,
  })
  certServer.on('secureConnection', (socket: tls.TLSSocket) => {
    target.emit('secureConnection', socket)
  })
  certServer.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
    target.emit('tlsClientError', err, socket)
  })

  // Tag every TLSSocket and HTTP/2 session of the target with the decision of its connection.
  const tagSocket = (socket: tls.TLSSocket): void => {
    const k = key(socket)
    const info = k === undefined ? undefined : live.get(k)
    if (info) (socket as Tagged)[INFO] = info
  }
  target.prependListener('secureConnection', tagSocket)
  const tagSession = (session: http2.Http2Session): void => {
    const k = session.socket ? key(session.socket) : undefined
    const info = k === undefined ? undefined : live.get(k)
    if (info) (session as unknown as Tagged)[INFO] = info
  }
  target.prependListener('session', tagSession)

  const handle = async (socket: net.Socket): Promise<void> => {
    let result: PeekResult
    try {
      result = await peekClientHello(socket, options)
    } catch {
      socket.destroy()
      return
    }
    if (socket.destroyed) return
    let info: RequestMtlsConnectionInfo
    if (result.kind === 'client-hello') {
      const signal = requestMtlsSignal(result.hello, options)
      info = {
        requestMtls: signal.kind === 'flags' && signal.requested,
        certificateRequested: decideClientCertificateRequest(result.hello, options),
        signal,
        hello: result.hello,
      }
    } else {
      info = { requestMtls: false, certificateRequested: false, signal: undefined, hello: undefined }
    }
    ;(socket as Tagged)[INFO] = info
    const k = key(socket)
    if (k !== undefined) {
      live.set(k, info)
      socket.once('close', () => {
        if (live.get(k) === info) live.delete(k)
      })
    }
    options.onDecision?.(info, socket)
    ;(info.certificateRequested ? certServer : target).emit('connection', socket)
  }

  const server = net.createServer((socket) => {
    void handle(socket)
  })
  const close = async (): Promise<void> => {
    target.removeListener('secureConnection', tagSocket)
    target.removeListener('session', tagSession)
    await Promise.all([
      new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => certServer.close(() => resolve())),
    ])
  }
  return { server, handle, close }
}
