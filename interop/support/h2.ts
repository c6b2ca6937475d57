import type http2 from 'node:http2'
import type { AddressInfo } from 'node:net'

/** Listens on 127.0.0.1:0 and returns the port. */
export async function listen(server: http2.Http2SecureServer | import("node:net").Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return (server.address() as AddressInfo).port
}

/** Closes a server and every session still open on it. */
export async function closeServer(server: http2.Http2SecureServer, sessions: Set<http2.Http2Session>): Promise<void> {
  for (const s of sessions) if (!s.destroyed) s.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** Tracks server sessions so tests can close them. */
export function trackSessions(server: http2.Http2SecureServer): Set<http2.Http2Session> {
  const set = new Set<http2.Http2Session>()
  server.on('session', (s: http2.ServerHttp2Session) => {
    set.add(s)
    s.once('close', () => set.delete(s))
  })
  return set
}

/** Makes one request and collects the response. */
export async function get(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
  timeoutMs = 8000,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  const stream = session.request({ ':path': path, ...headers })
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let h: http2.IncomingHttpHeaders = {}
    const timer = setTimeout(() => reject(new Error(`no response to ${path} in ${timeoutMs} ms`)), timeoutMs)
    stream.on('response', (r) => (h = r))
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => {
      clearTimeout(timer)
      resolve({ status: Number(h[':status']), headers: h, body: Buffer.concat(chunks).toString('utf8') })
    })
    stream.on('close', () => {
      clearTimeout(timer)
      if (stream.rstCode) reject(new Error(`stream reset ${stream.rstCode}`))
    })
    stream.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

/** Resolves when the session is connected. */
export async function connected(session: http2.ClientHttp2Session): Promise<void> {
  if (!session.connecting) return
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve())
    session.once('error', reject)
  })
}
