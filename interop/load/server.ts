/**
 * The server used by the live fuzz phase, the load run and the fault specs: a
 * `createSecureServer` with the extension and a few routes, counting what happens to sessions
 * and requests.
 *
 * Routes: `/auth` asks for a user identity, `/device-user` for a device then a user identity
 * (purpose requests: oid_filters + certificate_authorities), `/hold?ms=N` answers after N ms,
 * anything else answers `ok` at once. `?timeout=MS` sets the identity timeout. A failed identity
 * request is answered 403 (declined, invalid, closed) or 504 (ERR_SC_TIMEOUT) with the error
 * code as body; a request whose stream is gone when the answer is ready counts as `abandoned`.
 */
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { purposeRequest } from '../../lib/cli/roles.js'

export interface LoadServerOptions {
  readonly keyPem: string
  readonly certPem: string
  readonly caPem: string
  /** MB (node:http2 option). Default 256: the 10 MB default answers ENHANCE_YOUR_CALM under load. */
  readonly maxSessionMemory?: number
  readonly requestTimeoutMs?: number
}

export interface LoadServerCounters {
  sessions: number
  openSessions: number
  violations: number
  violationNames: Record<string, number>
  requests: number
  answered: number
  status: Record<string, number>
  identities: number
  timeouts: number
  abandoned: number
  sessionErrors: number
}

export function newCounters(): LoadServerCounters {
  return { sessions: 0, openSessions: 0, violations: 0, violationNames: {}, requests: 0, answered: 0, status: {}, identities: 0, timeouts: 0, abandoned: 0, sessionErrors: 0 }
}

/** Creates (does not start) the server. */
export function createLoadServer(o: LoadServerOptions): { server: http2.Http2SecureServer; counters: LoadServerCounters } {
  const counters = newCounters()
  const defaultTimeout = o.requestTimeoutMs ?? 3000
  // Built once: purposeRequest parses the CA certificate for certificate_authorities.
  const purpose = new Map(['user', 'device'].map((l) => [l, purposeRequest(l, o.caPem)]))
  const server = createSecureServer(
    {
      key: o.keyPem,
      cert: o.certPem,
      maxSessionMemory: o.maxSessionMemory ?? 256,
      secondaryCerts: { requestTimeoutMs: defaultTimeout, trust: { anchors: [o.caPem], preset: 'frank' } },
    },
    (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      counters.requests++
      const url = new URL(req.url, 'https://x')
      const reply = (status: number, body: string): void => {
        if (res.stream.destroyed || res.stream.closed || res.writableEnded) {
          counters.abandoned++
          return
        }
        counters.answered++
        counters.status[status] = (counters.status[status] ?? 0) + 1
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.end(body)
      }
      const ctl = sessionCerts(req)
      const ask = (labels: string[]): void => {
        if (!ctl) return reply(403, 'no-extension')
        ctl
          .requestIdentities(labels.map((l) => purpose.get(l)!), {
            timeoutMs: Number(url.searchParams.get('timeout') ?? defaultTimeout),
          })
          .then(
            (out) => {
              counters.identities += out.filter((x) => x.kind === 'identity').length
              const ok = out.every((x) => x.kind === 'identity')
              reply(ok ? 200 : 403, out.map((x) => `${x.label}:${x.kind}`).join(','))
            },
            (e: unknown) => {
              const code = (e as { code?: string }).code ?? 'error'
              if (code === 'ERR_SC_TIMEOUT') counters.timeouts++
              reply(code === 'ERR_SC_TIMEOUT' ? 504 : 403, code)
            },
          )
      }
      if (url.pathname === '/auth') ask(['user'])
      else if (url.pathname === '/device-user') ask(['device', 'user'])
      else if (url.pathname === '/hold') setTimeout(() => reply(200, 'held'), Number(url.searchParams.get('ms') ?? 100))
      else reply(200, 'ok')
    },
  )
  server.on('session', (s: http2.ServerHttp2Session) => {
    counters.sessions++
    counters.openSessions++
    s.on('error', () => counters.sessionErrors++)
    s.once('close', () => counters.openSessions--)
    sessionCerts(s)?.on('violation', (e: { violation?: string }) => {
      counters.violations++
      const k = e.violation ?? '?'
      counters.violationNames[k] = (counters.violationNames[k] ?? 0) + 1
    })
  })
  server.on('tlsClientError', () => {})
  return { server, counters }
}
