/**
 * Upstream connections through undici: an HTTP/1.1 keep-alive `Pool` for http://, an
 * `H2CClient` (HTTP/2 prior knowledge, RFC 9113 §3.3) for h2c://, and a `Pool` that offers h2 and
 * http/1.1 in ALPN for https://. One dispatcher per origin (and CA), shared by every route.
 */
import { H2CClient, Pool } from 'undici'
import type { Dispatcher } from 'undici'
import type { GatewayLimits, ResolvedRoute } from './config.js'

/** Dispatchers by upstream; `close()` ends them all. */
export class UpstreamPool {
  private readonly dispatchers = new Map<string, Dispatcher>()
  private readonly limits: GatewayLimits

  constructor(limits: GatewayLimits) {
    this.limits = limits
  }

  /** The dispatcher for a route's upstream, created on first use. */
  for(route: ResolvedRoute): Dispatcher {
    const u = route.upstream
    const key = `${u.kind}|${u.origin}|${route.upstreamCa ?? ''}`
    let d = this.dispatchers.get(key)
    if (!d) {
      const common = {
        connectTimeout: this.limits.upstreamConnectTimeoutMs,
        headersTimeout: this.limits.upstreamHeadersTimeoutMs,
        bodyTimeout: this.limits.upstreamBodyTimeoutMs,
        keepAliveTimeout: 4000,
      }
      if (u.kind === 'h2c') d = new H2CClient(u.origin, common)
      else if (u.kind === 'https') {
        d = new Pool(u.origin, {
          ...common,
          connections: this.limits.upstreamConnections,
          allowH2: true,
          connect: { ...(route.upstreamCa ? { ca: route.upstreamCa } : {}) },
        })
      } else d = new Pool(u.origin, { ...common, connections: this.limits.upstreamConnections })
      this.dispatchers.set(key, d)
    }
    return d
  }

  /** Closes every upstream connection (waits for requests on them to end). */
  async close(): Promise<void> {
    const all = [...this.dispatchers.values()]
    this.dispatchers.clear()
    await Promise.all(all.map((d) => d.close().catch(() => d.destroy())))
  }

  /** Ends every upstream connection now. */
  async destroy(): Promise<void> {
    const all = [...this.dispatchers.values()]
    this.dispatchers.clear()
    await Promise.all(all.map((d) => d.destroy().catch(() => {})))
  }
}

/**
 * Maps an undici failure to the client's status (RFC 9110 §15.6.3 502 Bad Gateway, §15.6.5 504
 * Gateway Timeout) and a short reason for the problem body and the log.
 */
export function upstreamFailure(e: unknown): { status: 502 | 504; reason: string } {
  const code = String((e as { code?: unknown } | undefined)?.code ?? '')
  const causeCode = String(((e as { cause?: { code?: unknown } } | undefined)?.cause)?.code ?? '')
  const c = code || causeCode
  if (c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_CONNECT_TIMEOUT' || c === 'ETIMEDOUT') return { status: 504, reason: 'upstream-timeout' }
  if (c === 'UND_ERR_BODY_TIMEOUT') return { status: 504, reason: 'upstream-body-timeout' }
  if (c === 'ECONNREFUSED') return { status: 502, reason: 'upstream-refused' }
  if (c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE') return { status: 502, reason: 'upstream-reset' }
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return { status: 502, reason: 'upstream-unresolved' }
  if (c.startsWith('ERR_TLS') || c.includes('CERT') || c === 'DEPTH_ZERO_SELF_SIGNED_CERT') return { status: 502, reason: 'upstream-tls' }
  return { status: 502, reason: 'upstream-error' }
}
