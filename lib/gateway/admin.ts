/**
 * The admin listener (loopback by default): `/metrics` (Prometheus text format), `/healthz`
 * (200 while serving, 503 while draining) and `/.well-known/jwks.json` (the public key of the
 * signed identity assertion, RFC 7517 §5, when one is configured).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the admin listener serves. */
export interface AdminOptions {
  /** A prom-client Registry, or anything with the same two members (the cluster aggregator). */
  readonly registry: { metrics(): Promise<string>; readonly contentType: string }
  /** Default 127.0.0.1. */
  readonly host?: string
  readonly port: number
  /** Current health: false while draining. */
  readonly healthy: () => boolean
  /** JWKS to publish, if any. */
  readonly jwks?: () => object | undefined
}

/** A running admin listener. */
export interface AdminServer {
  readonly port: number
  close(): Promise<void>
}

/** Starts the admin listener. */
export async function startAdmin(o: AdminOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/healthz') {
      const ok = o.healthy()
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'draining' }) + '\n')
      return
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      )
      return
    }
    const jwks = o.jwks?.()
    if (path === '/.well-known/jwks.json' && jwks) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' }).end(JSON.stringify(jwks))
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  server.on('clientError', (_e, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host ?? '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}
