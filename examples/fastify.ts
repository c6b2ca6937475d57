/**
 * Fastify 5 with HTTP/2 secondary certificates: the plugin adds the extension to Fastify's own
 * server; a route declares the identities it needs; our client, holding a device and a user
 * credential, connects with no TLS client certificate and is asked for both on its first request.
 *
 *   node --import tsx examples/fastify.ts
 */
import Fastify from 'fastify'
import { fastifySecondaryCerts } from '../lib/fastify.js'
import { clientCerts, connect, createCertificatePolicy, createTestPki } from '../lib/index.js'

const pki = await createTestPki({ keyType: 'p256' })

// 1. Fastify with http2 + https, and the plugin (register before listen).
const app = Fastify({ http2: true, https: { key: pki.server.keyPem, cert: pki.server.chainPem } })
await app.register(fastifySecondaryCerts, {
  // 'frank': serverAuth certificates are accepted as devices (EKU digest, row 5).
  policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }),
  // Named in certificate_authorities so the client's default selector can choose.
  requestAnchors: [pki.caPem],
})

// 2. A protected route: the plugin asks for what is missing, holds the request, then runs this.
app.get('/whoami', { config: { requireIdentities: ['device', 'user'] } }, async (request) => ({
  identities: (request.identityCheck?.met ?? []).map((m) => ({
    need: m.label,
    subject: m.identity.subject.replace(/\n/g, ', '),
    roles: [...m.decision.roles],
    rows: [...m.decision.rows],
  })),
}))

await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address() as { port: number }

// 3. A client with two credentials; the default selector picks by oid_filters and CA names.
const session = connect(`https://127.0.0.1:${port}`, {
  ca: pki.caPem,
  servername: 'localhost',
  secondaryCerts: {
    credentials: [
      { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
      { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
    ],
  },
})

const stream = session.request({ ':path': '/whoami' })
let status = 0
let body = ''
stream.on('response', (h) => (status = Number(h[':status'])))
stream.setEncoding('utf8')
stream.on('data', (c: string) => (body += c))
await new Promise<void>((resolve, reject) => {
  stream.once('end', resolve)
  stream.once('error', reject)
})

console.log(`GET /whoami -> ${status}`)
console.log(JSON.stringify(JSON.parse(body), null, 2))
console.log(`client answered: ${clientCerts(session)!.answers.map((a) => a.label ?? 'declined').join(', ')}`)

session.close()
await app.close()
if (status !== 200) process.exitCode = 1
