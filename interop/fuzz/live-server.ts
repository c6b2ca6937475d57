/**
 * The server under fire in the live fuzz phase and the load run, as its own process (so a crash
 * is visible as an exit). Started with `fork` and an IPC channel; the parent sends
 * `{ type: 'start', keyPem, certPem, caPem, maxSessionMemory?, requestTimeoutMs? }` and gets
 * `{ type: 'listening', port }`; `{ type: 'stats' }` answers with session and request counts and
 * the heap after a forced GC (when run with --expose-gc).
 *
 * Routes: `/auth` asks for a user identity, `/device-user` for device then user (both via
 * oid_filters), `/hold?ms=N` answers after N ms, anything else answers `ok` at once. A failed
 * identity request is answered 403 (declined/invalid) or 504 (ERR_SC_TIMEOUT) with the code in
 * the body; a request whose stream closed first is counted as `abandoned`.
 */
import type http2 from 'node:http2'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { purposeRequest } from '../../lib/cli/roles.js'

interface StartMessage {
  readonly type: 'start'
  readonly keyPem: string
  readonly certPem: string
  readonly caPem: string
  readonly maxSessionMemory?: number
  readonly requestTimeoutMs?: number
}

const counters = {
  sessions: 0,
  openSessions: 0,
  violations: 0,
  requests: 0,
  answered: 0,
  status: {} as Record<string, number>,
  identities: 0,
  timeouts: 0,
  abandoned: 0,
  sessionErrors: 0,
}

function send(msg: unknown): void {
  process.send?.(msg)
}

function start(m: StartMessage): void {
  const server = createSecureServer(
    {
      key: m.keyPem,
      cert: m.certPem,
      // node20-feasibility notes: the 10 MB default answers ENHANCE_YOUR_CALM under load.
      maxSessionMemory: m.maxSessionMemory ?? 256,
      secondaryCerts: { requestTimeoutMs: m.requestTimeoutMs ?? 3000 },
    },
    (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      counters.requests++
      const url = new URL(req.url, 'https://x')
      const reply = (status: number, body: string): void => {
        if (res.stream.destroyed || res.stream.closed) {
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
          .requestIdentities(labels.map((l) => purposeRequest(l, m.caPem)), {
            timeoutMs: Number(url.searchParams.get('timeout') ?? m.requestTimeoutMs ?? 3000),
          })
          .then(
            (out) => {
              counters.identities += out.filter((o) => o.kind === 'identity').length
              const ok = out.every((o) => o.kind === 'identity')
              reply(ok ? 200 : 403, out.map((o) => `${o.label}:${o.kind}`).join(','))
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
    sessionCerts(s)?.on('violation', () => counters.violations++)
  })
  server.on('tlsClientError', () => {})
  server.listen(0, '127.0.0.1', () => {
    const a = server.address()
    send({ type: 'listening', port: typeof a === 'object' && a ? a.port : 0 })
  })
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'start') start(m as StartMessage)
  else if (m.type === 'stats') {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc) {
      gc()
      gc()
    }
    send({ type: 'stats', counters, heapUsed: process.memoryUsage().heapUsed, gc: !!gc })
  }
})
process.on('disconnect', () => process.exit(0))
