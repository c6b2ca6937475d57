/**
 * `SecondaryCertsAgent`: an undici `Dispatcher` whose connections carry secondary certificate
 * authentication (CLIENT -00, SERVER -02), so `fetch(url, { dispatcher })` presents the
 * configured credentials when a server asks, with no session code in the application.
 *
 * Design (README "fetch"): one undici `Client` per origin with `allowH2`, whose `connect` is
 * ours. We make the TLS connection (or take the caller's), wrap it in the frame interposer and
 * TLS facade, and hand the facade to undici; undici's own client-h2 runs `http2.connect` over it.
 * Redirects, request bodies, abort signals, timeouts and errors are therefore undici's.
 *
 * Connection reuse for other origins (SERVER -02 §3.2, §7.1; RFC 9113 §9.1.1; RFC 8336): a
 * request for an origin without a connection of its own goes over an open connection when a
 * secondary server certificate accepted there covers its host, the port is the same, and either
 * the server's ORIGIN frame lists the origin or DNS for the host includes the connection's peer
 * address (each check configurable). Origins learned on a connection go away with it.
 */
import dns from 'node:dns'
import type { EventEmitter } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { Client, Dispatcher, errors as undiciErrors } from 'undici'
import { UnsupportedError, UsageError } from '../errors.js'
import type { ClientExtensionOptions, CredentialSelector, ServerCertificateEvent } from '../binding/attach-client.js'
import { resolveClientOptions } from '../binding/options.js'
import type { LabelledCredentialInput } from '../binding/credentials.js'
import { SecondaryCertsConnection, serverNameFor } from './connection.js'
import type { ConnectionSetup } from './connection.js'

/** Where `connect` is asked to connect to. */
export interface ConnectTarget {
  /** The origin the connection is for (`https://host:port`). */
  readonly origin: URL
  /** Host name or IP literal (no brackets). */
  readonly hostname: string
  readonly port: number
  /** The TLS server name we will send (undefined for IP literals). */
  readonly servername: string | undefined
}

/**
 * Makes the transport of one connection. Return a `tls.TLSSocket` (connecting or connected; it
 * must negotiate ALPN `h2` and TLS 1.3) to do TLS yourself, or any other stream (a `net.Socket`,
 * an HTTP CONNECT tunnel, a Duplex) to have the agent run TLS over it. Either way it is wrapped
 * by the interposer, not replaced.
 */
export type AgentConnect = (target: ConnectTarget) => tls.TLSSocket | net.Socket | Duplex | Promise<tls.TLSSocket | net.Socket | Duplex>

/** When a connection may carry requests for another origin (see the file comment). */
export interface CoalescingOptions {
  /** Reuse when the server's ORIGIN frame (RFC 8336) lists the origin. Default true. */
  readonly originFrame?: boolean
  /**
   * Reuse when DNS for the host includes the connection's peer address (SERVER -02 §7.1: clients
   * SHOULD consult DNS as they would for the primary name). Default true. A connection through a
   * proxy never passes this check (its peer is the proxy).
   */
  readonly dns?: boolean
  /** Resolves a host name to addresses. Default: `dns.promises.lookup(host, { all: true })`. */
  readonly lookup?: (hostname: string) => Promise<readonly string[]>
}

/** Options of `SecondaryCertsAgent`. */
export interface SecondaryCertsAgentOptions {
  /** Trust anchors (PEM) for the TLS connection and for secondary server certificates. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[]
  /** Credentials the client may present when a server asks (CLIENT -00 §4). */
  readonly credentials?: readonly LabelledCredentialInput[]
  /** Picks a credential per request; default: the selector of `connect()`. */
  readonly select?: CredentialSelector
  /** Makes each connection's transport (proxies, custom sockets). Default: TCP to the origin. */
  readonly connect?: AgentConnect
  /** More `tls.connect` options for the connections the agent makes TLS on. */
  readonly tls?: Omit<tls.ConnectionOptions, 'host' | 'port' | 'socket' | 'ALPNProtocols'>
  /** The rest of the extension's options (codepoints, mode, limits, provider, ...). */
  readonly secondaryCerts?: Omit<ClientExtensionOptions, 'credentials' | 'select'>
  /** Connection reuse for other origins; `false` turns it off. */
  readonly coalescing?: CoalescingOptions | false
  /** Options of each undici `Client` (timeouts, window sizes, ...); `connect`/`allowH2` are ours. */
  readonly client?: Omit<Client.Options, 'connect' | 'allowH2'>
  /** Called for every secondary server certificate that passed RFC 9261 validation. */
  readonly onServerCertificate?: (event: ServerCertificateEvent, connection: SecondaryCertsConnection) => void
}

type Handler = Dispatcher.DispatchHandler
type Callback = () => void

/** Marks a coalesced request refused at the last moment (its connection changed). */
class CoalescingRefused extends Error {}

/**
 * An undici `Dispatcher` presenting secondary certificates (see the file comment).
 * `fetch(url, { dispatcher: agent })` from `undici` (7.x) uses it; `close()` / `destroy()` work as
 * on undici's `Agent`.
 */
export class SecondaryCertsAgent extends Dispatcher {
  private readonly clients = new Map<string, Client>()
  private readonly current = new Map<Client, SecondaryCertsConnection>()
  private readonly setup: ConnectionSetup
  private readonly options: SecondaryCertsAgentOptions
  private readonly coalescing: { originFrame: boolean; dns: boolean; lookup: (hostname: string) => Promise<readonly string[]> } | undefined
  private closing: Promise<void> | undefined
  private destroyedValue = false

  /**
   * @throws UsageError (`ERR_SC_USAGE`) for a credential whose key does not load.
   */
  constructor(options: SecondaryCertsAgentOptions = {}) {
    super()
    this.options = options
    const ext: ClientExtensionOptions = {
      ...(options.secondaryCerts ?? {}),
      ...(options.select ? { select: options.select } : {}),
    }
    // One resolution for every connection of the agent (credentials loaded and checked once).
    this.setup = resolveClientOptions({ ...ext, credentials: options.credentials ?? [] }, options.ca)
    const c = options.coalescing
    this.coalescing =
      c === false
        ? undefined
        : {
            originFrame: c?.originFrame ?? true,
            dns: c?.dns ?? true,
            lookup: c?.lookup ?? defaultLookup,
          }
  }

  /** The open connections, one per origin that has one. */
  get connections(): readonly SecondaryCertsConnection[] {
    return [...this.current.values()].filter((c) => !c.closed)
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.destroyedValue || this.closing) {
      failHandler(handler, this.destroyedValue ? new undiciErrors.ClientDestroyedError() : new undiciErrors.ClientClosedError())
      return false
    }
    let url: URL
    try {
      url = new URL(String(options.origin))
      if (url.protocol !== 'https:') throw new UsageError(`SecondaryCertsAgent speaks https only, not ${url.protocol}`)
    } catch (e) {
      failHandler(handler, e as Error)
      return false
    }
    const key = url.origin
    const own = this.clients.get(key)
    if (own) return own.dispatch(direct(options, url), handler)
    const co = this.coalescing
    if (co) {
      const candidates = this.candidatesFor(url)
      if (co.originFrame) {
        const byOrigin = candidates.find(([, conn]) => conn.originSet?.has(key) === true)
        if (byOrigin) return this.dispatchCoalesced(byOrigin[0], byOrigin[1], url, options, handler)
      }
      if (co.dns && candidates.length > 0) {
        void this.dispatchAfterLookup(url, candidates, options, handler)
        return true
      }
    }
    return this.clientFor(key).dispatch(direct(options, url), handler)
  }

  override close(): Promise<void>
  override close(callback: Callback): void
  override close(callback?: Callback): Promise<void> | void {
    this.closing ??= Promise.all([...this.clients.values()].map((c) => c.close())).then(() => undefined)
    if (callback) {
      void this.closing.then(callback)
      return
    }
    return this.closing
  }

  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: Callback): void
  override destroy(err: Error | null, callback: Callback): void
  override destroy(a?: Error | null | Callback, b?: Callback): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null)
    const callback = typeof a === 'function' ? a : b
    this.destroyedValue = true
    const done = Promise.all([...this.clients.values()].map((c) => c.destroy(err))).then(() => undefined)
    if (callback) {
      void done.then(callback)
      return
    }
    return done
  }

  /** Connections (with their Client) whose accepted secondary certificates cover `url`. */
  private candidatesFor(url: URL): [Client, SecondaryCertsConnection][] {
    const port = Number(url.port || 443)
    const out: [Client, SecondaryCertsConnection][] = []
    for (const [client, conn] of this.current) {
      if (!conn.closed && conn.port === port && conn.coversBySecondaryCertificate(url.hostname)) out.push([client, conn])
    }
    return out
  }

  private async dispatchAfterLookup(url: URL, candidates: [Client, SecondaryCertsConnection][], options: Dispatcher.DispatchOptions, handler: Handler): Promise<void> {
    let addresses: readonly string[] = []
    try {
      addresses = (await this.coalescing!.lookup(url.hostname.replace(/^\[|\]$/g, ''))).map(normalizeAddress)
    } catch {
      // No DNS answer: no reuse; the direct connection reports its own error.
    }
    const hit = candidates.find(([client, conn]) => this.current.get(client) === conn && !conn.closed && addresses.includes(normalizeAddress(conn.remoteAddress ?? '')))
    if (this.destroyedValue || this.closing) {
      failHandler(handler, new undiciErrors.ClientClosedError())
      return
    }
    if (hit) this.dispatchCoalesced(hit[0], hit[1], url, options, handler)
    else this.clientFor(url.origin).dispatch(direct(options, url), handler)
  }

  /**
   * Sends a request for `url` over another origin's connection, with `:authority` set to its
   * host. A guard runs when undici is about to open the stream: if the Client's connection is no
   * longer the one that proved the origin (it closed and undici reconnected), the request is not
   * sent there; it goes over a connection of its own instead when its body can be sent again. The
   * same happens after a 421 answer (see `guardHandler`).
   */
  private dispatchCoalesced(client: Client, conn: SecondaryCertsConnection, url: URL, options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const still = (): boolean => this.current.get(client) === conn && !conn.closed && conn.coversBySecondaryCertificate(url.hostname)
    const replayable = options.body === null || options.body === undefined || typeof options.body === 'string' || options.body instanceof Uint8Array
    const retry = (): void => {
      if (replayable) this.clientFor(url.origin).dispatch(direct(options, url), handler)
      else failHandler(handler, new UsageError(`connection for ${url.origin} closed before the request was sent`))
    }
    const guarded = guardHandler(handler, still, replayable, retry)
    const via = new URL(conn.origin)
    const opts: WithServerName = { ...options, headers: withHost(options.headers, url.host), servername: undiciServerName(via) }
    return client.dispatch(opts, guarded)
  }

  private clientFor(key: string): Client {
    let client = this.clients.get(key)
    if (client) return client
    const origin = new URL(key)
    const made: Client = new Client(key, {
      ...(this.options.client ?? {}),
      allowH2: true,
      connect: (_opts: unknown, callback: (...args: [null, net.Socket] | [Error, null]) => void) => {
        this.openConnection(origin).then(
          (conn) => {
            if (this.destroyedValue) {
              conn.socket.destroy()
              callback(new undiciErrors.ClientDestroyedError(), null)
              return
            }
            this.current.set(made, conn)
            conn.once('close', () => {
              if (this.current.get(made) === conn) this.current.delete(made)
            })
            callback(null, conn.socket)
          },
          (err: Error) => callback(err, null),
        )
      },
    })
    // Client events reach the agent's listeners as with undici's Agent (`drain` matters to
    // callers that saw dispatch() return false).
    const from = made as unknown as EventEmitter
    const to = this as unknown as EventEmitter
    for (const event of ['drain', 'connect', 'disconnect', 'connectionError']) {
      from.on(event, (o: URL, targets: readonly unknown[], ...rest: unknown[]) => to.emit(event, o, [this, ...targets], ...rest))
    }
    this.clients.set(key, made)
    return made
  }

  private async openConnection(origin: URL): Promise<SecondaryCertsConnection> {
    const hostname = origin.hostname.replace(/^\[|\]$/g, '')
    const port = Number(origin.port || 443)
    const servername = this.options.tls?.servername ?? serverNameFor(hostname)
    const target: ConnectTarget = { origin, hostname, port, servername }
    const transport = this.options.connect ? await this.options.connect(target) : undefined
    const tlsSocket =
      transport instanceof tls.TLSSocket
        ? transport
        : tls.connect({
            minVersion: 'TLSv1.3',
            ...(this.options.ca !== undefined ? { ca: this.options.ca as tls.ConnectionOptions['ca'] } : {}),
            ...(this.options.tls ?? {}),
            ...(transport ? { socket: transport } : { host: hostname, port }),
            ...(servername !== undefined ? { servername } : {}),
            ALPNProtocols: ['h2'],
          } as tls.ConnectionOptions)
    await handshake(tlsSocket)
    if (tlsSocket.alpnProtocol !== 'h2') {
      tlsSocket.destroy()
      throw new UnsupportedError(`${origin.origin} did not negotiate HTTP/2 (ALPN ${String(tlsSocket.alpnProtocol)})`)
    }
    const conn = new SecondaryCertsConnection(tlsSocket, origin, this.setup)
    const listener = this.options.onServerCertificate
    if (listener) conn.on('serverCertificate', (ev: ServerCertificateEvent) => listener(ev, conn))
    return conn
  }
}

/**
 * undici's Client reconnects when a request's `servername` differs from the last one (it derives
 * it from a `host` header otherwise), and our coalesced requests carry a `host` header. Every
 * request to one of our Clients therefore names the Client's own host; our connector computes
 * the real SNI itself, so the value is only undici's key.
 */
function undiciServerName(origin: URL): string {
  return origin.hostname.replace(/^\[|\]$/g, '')
}

/** undici's Request accepts `servername` though its DispatchOptions type does not list it. */
type WithServerName = Dispatcher.DispatchOptions & { servername: string }

function direct(options: Dispatcher.DispatchOptions, url: URL): Dispatcher.DispatchOptions {
  const out: WithServerName = { ...options, servername: undiciServerName(url) }
  return out
}

/** Resolves when the TLS handshake is done; rejects on error or close first. */
function handshake(socket: tls.TLSSocket): Promise<void> {
  if ((socket as unknown as { _secureEstablished?: boolean })._secureEstablished === true) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      cleanup()
      socket.destroy()
      reject(e)
    }
    const onClose = (): void => {
      cleanup()
      reject(new undiciErrors.SocketError('connection closed during the TLS handshake'))
    }
    const onSecure = (): void => {
      cleanup()
      resolve()
    }
    const cleanup = (): void => {
      socket.removeListener('error', onError)
      socket.removeListener('close', onClose)
      socket.removeListener('secureConnect', onSecure)
    }
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.once('secureConnect', onSecure)
  })
}

async function defaultLookup(hostname: string): Promise<readonly string[]> {
  const all = await dns.promises.lookup(hostname, { all: true })
  return all.map((a) => a.address)
}

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a.toLowerCase()
}

/** Copies `headers` with `host` set (undici sends it as `:authority` over HTTP/2). */
function withHost(headers: Dispatcher.DispatchOptions['headers'], host: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const put = (k: string, v: unknown): void => {
    const name = k.toLowerCase()
    if (name === 'host' || v === undefined || v === null) return
    const value = Array.isArray(v) ? v.map(String) : String(v)
    const prev = out[name]
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(value) ? value : [value])]
  }
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [string, unknown][]) put(pair[0], pair[1])
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) put(String(headers[i]), headers[i + 1])
    }
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) put(pair[0], pair[1])
  } else if (headers) {
    for (const [k, v] of Object.entries(headers)) put(k, v)
  }
  out['host'] = host
  return out
}

/** Reports `error` to a handler of either undici handler API. */
function failHandler(handler: Handler, error: Error): void {
  const h = handler as { onResponseError?: (c: unknown, e: Error) => void; onError?: (e: Error) => void }
  if (typeof h.onResponseError === 'function') {
    h.onResponseError(abortedController(error), error)
  } else if (typeof h.onError === 'function') {
    h.onError(error)
  } else {
    throw error
  }
}

function abortedController(reason: Error): object {
  return { aborted: true, reason, paused: false, abort() {}, pause() {}, resume() {} }
}

/**
 * Wraps a handler (either undici handler API) for a request sent over another origin's
 * connection:
 * - when undici is about to open the stream (`onConnect` / `onRequestStart`), `allowed()` is
 *   checked first; when it fails the request is aborted before any byte is written and
 *   `retry()` runs instead of the handler's error path;
 * - a 421 (Misdirected Request) answer (RFC 9110 §15.5.20, RFC 9113 §9.1.2: the server is not
 *   authoritative for the origin on this connection) is not shown to the handler when the body
 *   can be sent again: once that response ends, `retry()` sends the request over a connection of
 *   the origin's own.
 */
function guardHandler(handler: Handler, allowed: () => boolean, replayable: boolean, retry: () => void): Handler {
  let refused = false
  let misdirected = false
  const marker = new CoalescingRefused('coalesced connection changed')
  return new Proxy(handler as object, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown
      if (typeof value !== 'function') return value
      const fn = value as (...args: unknown[]) => unknown
      switch (prop) {
        case 'onConnect':
          return (abort: (e: Error) => void, ...rest: unknown[]) => {
            if (!allowed()) {
              refused = true
              abort(marker)
              return
            }
            return fn.call(target, abort, ...rest)
          }
        case 'onRequestStart':
          return (controller: { abort(e: Error): void }, ...rest: unknown[]) => {
            if (!allowed()) {
              refused = true
              controller.abort(marker)
              return
            }
            return fn.call(target, controller, ...rest)
          }
        case 'onHeaders':
          return (statusCode: number, ...rest: unknown[]) => {
            if (statusCode === 421 && replayable) {
              misdirected = true
              return true
            }
            return fn.call(target, statusCode, ...rest)
          }
        case 'onResponseStart':
          return (controller: unknown, statusCode: number, ...rest: unknown[]) => {
            if (statusCode === 421 && replayable) {
              misdirected = true
              return
            }
            return fn.call(target, controller, statusCode, ...rest)
          }
        case 'onData':
        case 'onResponseData':
          return (...args: unknown[]) => (misdirected ? true : fn.apply(target, args))
        case 'onComplete':
        case 'onResponseEnd':
          return (...args: unknown[]) => {
            if (misdirected) {
              retry()
              return
            }
            return fn.apply(target, args)
          }
        case 'onError':
        case 'onResponseError':
          return (...args: unknown[]) => {
            if ((refused && args.includes(marker)) || misdirected) {
              retry()
              return
            }
            return fn.apply(target, args)
          }
        default:
          return fn.bind(target)
      }
    },
  }) as Handler
}
