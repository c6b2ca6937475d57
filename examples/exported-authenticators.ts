/**
 * RFC 9261 without HTTP/2: over one TLS 1.3 connection on loopback, the server asks the client
 * for a certificate, the client answers with an exported authenticator, the server validates it;
 * then the server sends a spontaneous authenticator for a second origin.
 *
 *   node --import tsx examples/exported-authenticators.ts
 */
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { ExportedAuthenticators, createTestPki, nodeCrypto } from '../lib/index.js'

const pki = await createTestPki({ keyType: 'p256' })

const server = tls.createServer({ key: pki.server.keyPem, cert: pki.server.chainPem, minVersion: 'TLSv1.3' })
const accepted = new Promise<tls.TLSSocket>((resolve) => server.once('secureConnection', resolve))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const client = tls.connect({
  host: '127.0.0.1',
  port: (server.address() as AddressInfo).port,
  servername: 'localhost',
  ca: pki.caPem,
})
await new Promise<void>((resolve) => client.once('secureConnect', resolve))
const serverSocket = await accepted

// Each side wraps its own end of the connection; the role picks labels and request types.
const serverEa = ExportedAuthenticators.fromTlsSocket(serverSocket, { role: 'server' })
const clientEa = ExportedAuthenticators.fromTlsSocket(client, { role: 'client' })
console.log(`connection hash: ${serverEa.hash}`)

// 1. Server -> client: a CertificateRequest (type 13). An application sends these bytes inside
//    its own protected channel (HTTP/2 uses the AUTHENTICATOR_REQUESTS frame).
const request = serverEa.request()
clientEa.receiveRequest(request)

// 2. Client -> server: an authenticator proving possession of the user key.
const user = { chain: pki.user.chainDer, key: nodeCrypto.importPrivateKey(pki.user.keyPem) }
const authenticator = clientEa.authenticate({ request, credential: user })
console.log(`client authenticator: ${authenticator.length} bytes`)

// 3. The server validates it against its request.
const verdict = serverEa.validate(authenticator, { request })
if (verdict.kind !== 'identity') throw new Error(`unexpected verdict ${verdict.kind}`)
console.log(`server validated an identity, scheme 0x${verdict.scheme.toString(16)}, ${verdict.chain.length} certificate(s)`)

// 4. A spontaneous server authenticator for another origin, validated by the client.
const origin2 = { chain: pki.origin2.chainDer, key: nodeCrypto.importPrivateKey(pki.origin2.keyPem) }
const spontaneous = serverEa.authenticate({ credential: origin2 })
console.log(`client validates the server's extra certificate: ${clientEa.validate(spontaneous).kind}`)

// 5. Declining: the empty authenticator.
const request2 = serverEa.request()
const empty = clientEa.authenticate({ request: request2 })
console.log(`empty authenticator (${empty.length} bytes) -> ${serverEa.validate(empty, { request: request2 }).kind}`)

client.destroy()
serverSocket.destroy()
server.close()
