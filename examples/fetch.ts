/**
 * fetch() with secondary certificates: undici's fetch through `SecondaryCertsAgent` presents a
 * device and a user certificate when the server asks; a second origin proved by the server's
 * SERVER_CERTIFICATE is reached over the same connection; and a third run goes through an HTTP
 * CONNECT proxy. Everything on 127.0.0.1 with a fresh test PKI.
 *
 *   node --import tsx examples/fetch.ts
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { fetch } from 'undici'
import { SecondaryCertsAgent, createSecureServer, createTestPki, ekuOidFilter, sessionCerts } from '../lib/index.js'

const pki = await createTestPki()
const device = { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem }
const user = { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }

// A server that asks for both identities on /whoami and also holds a certificate for
// other.localhost, which it sends as SERVER_CERTIFICATE (SERVER -02 §3.2) and lists in ORIGIN.
const server = createSecureServer({
  key: pki.server.keyPem,
  cert: pki.server.chainPem,
  secondaryCerts: {
    trust: { anchors: [pki.caPem], preset: 'frank' },
    serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.origin2.keyPem }],
    announceOrigins: true, // RFC 8336 ORIGIN frame listing other.localhost
  },
}, async (req, res) => {
  const certs = sessionCerts(req)
  if (!certs) return void res.writeHead(403).end('no secondary certificates\n')
  const asked = await certs.requestIdentities([
    { label: 'device', oidFilters: [ekuOidFilter('device')] },
    { label: 'user', oidFilters: [ekuOidFilter('user')] },
  ])
  res.end(`${String(req.headers[':authority'])}: ${asked.map((o) => `${o.label}=${o.kind}`).join(' ')}\n`)
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
const port = (server.address() as AddressInfo).port

// 1. The five lines: fetch with a device and a user certificate.
{
  const dispatcher = new SecondaryCertsAgent({ ca: pki.caPem, credentials: [device, user] })
  const res = await fetch(`https://127.0.0.1:${port}/whoami`, { dispatcher })
  process.stdout.write(await res.text())
  await dispatcher.close()
}

// 2. A second origin over the same connection. other.localhost is not in DNS here, so the agent
//    connects every name to 127.0.0.1; reuse is allowed by the server's ORIGIN frame.
{
  let proved!: () => void
  const certificate = new Promise<void>((resolve) => (proved = resolve))
  const dispatcher = new SecondaryCertsAgent({
    ca: pki.caPem,
    credentials: [device, user],
    connect: (target) => net.connect(target.port, '127.0.0.1'),
    coalescing: { dns: false },
    onServerCertificate: (ev) => ev.accepted && proved(),
  })
  process.stdout.write(await (await fetch(`https://localhost:${port}/whoami`, { dispatcher })).text())
  await certificate
  const conn = dispatcher.connections[0]!
  if (!conn.originSet) await new Promise((r) => conn.once('origin', r))
  process.stdout.write(await (await fetch(`https://other.localhost:${port}/whoami`, { dispatcher })).text())
  process.stdout.write(`connections used: ${dispatcher.connections.length}\n`)
  await dispatcher.close()
}

// 3. Through an HTTP CONNECT proxy: the agent runs TLS over the tunnel and wraps it.
{
  const proxy = http.createServer().on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    const upstream = net.connect(Number((req.url ?? '').split(':')[1]), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.pipe(client).pipe(upstream)
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
  const proxyPort = (proxy.address() as AddressInfo).port
  const dispatcher = new SecondaryCertsAgent({
    ca: pki.caPem,
    credentials: [device, user],
    connect: (target) =>
      new Promise<net.Socket>((resolve, reject) => {
        http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: `${target.hostname}:${target.port}` })
          .once('connect', (_res, socket) => resolve(socket))
          .once('error', reject)
          .end()
      }),
  })
  process.stdout.write(await (await fetch(`https://localhost:${port}/whoami`, { dispatcher })).text())
  await dispatcher.close()
  proxy.closeAllConnections()
  proxy.close()
}

server.close()
