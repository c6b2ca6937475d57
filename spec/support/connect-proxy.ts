/**
 * An HTTP CONNECT proxy (RFC 9110 §9.3.6) for tests: every tunnel goes to 127.0.0.1 at the
 * requested port, whatever host was named; `tunnels` records each request target.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'

export interface ConnectProxy {
  readonly port: number
  readonly tunnels: string[]
  /** Opens a tunnel through the proxy to `host:port` (resolves with the raw socket). */
  tunnel(host: string, port: number): Promise<net.Socket>
  close(): Promise<void>
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const server = http.createServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '')
    const port = Number((req.url ?? '').split(':').pop())
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    tunnels,
    tunnel: (host, targetPort) =>
      new Promise<net.Socket>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: `${host}:${targetPort}` })
        req.once('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`proxy said ${res.statusCode}`))))
        req.once('error', reject)
        req.end()
      }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
