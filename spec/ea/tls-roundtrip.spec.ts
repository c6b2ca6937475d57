import { expect } from 'chai'
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { keysFromTlsSocket } from '../../lib/ea/exporter.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import type { CryptoProvider } from '../../lib/crypto/provider.js'
import { schemesForKey } from '../../lib/wire/tls/signature-scheme.js'
import type { KeyType } from '../../lib/wire/tls/signature-scheme.js'
import { testPki } from '../support/pki.js'
import type { PkiKeyType } from '../../lib/pki/test-pki.js'

interface Conn {
  client: tls.TLSSocket
  server: tls.TLSSocket
  close(): Promise<void>
}

async function connect(options: { ciphersuites?: string; maxVersion?: tls.SecureVersion } = {}): Promise<Conn> {
  const pki = await testPki('p256')
  let serverSide: tls.TLSSocket | undefined
  const server = tls.createServer({
    key: pki.server.keyPem,
    cert: pki.server.chainPem,
    minVersion: 'TLSv1.2',
    ...(options.ciphersuites ? { ciphers: options.ciphersuites } : {}),
  })
  const gotServer = new Promise<tls.TLSSocket>((resolve) => server.once('secureConnection', resolve))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    ca: pki.caPem,
    servername: 'localhost',
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    ...(options.ciphersuites ? { ciphers: options.ciphersuites } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve)
    client.once('error', reject)
  })
  serverSide = await gotServer
  return {
    client,
    server: serverSide,
    close: async () => {
      client.destroy()
      serverSide?.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const KEY_TYPES: PkiKeyType[] = ['p256', 'p384', 'p521', 'ed25519', 'ed448', 'rsa', 'rsa-pss']
const SUITES = [
  { name: 'TLS_AES_128_GCM_SHA256', hash: 'sha256', length: 32 },
  { name: 'TLS_AES_256_GCM_SHA384', hash: 'sha384', length: 48 },
] as const
const PROVIDERS: [string, CryptoProvider, CryptoProvider][] = [
  ['node', nodeCrypto, nodeCrypto],
  ['noble', nobleCrypto, nobleCrypto],
  ['node->noble', nodeCrypto, nobleCrypto],
  ['noble->node', nobleCrypto, nodeCrypto],
]

describe('ea over real TLS 1.3 connections', function () {
  this.timeout(30000)

  it('refuses a TLS 1.2 connection with ERR_SC_UNSUPPORTED', async () => {
    const c = await connect({ maxVersion: 'TLSv1.2' })
    try {
      expect(c.client.getProtocol()).to.equal('TLSv1.2')
      expect(() => keysFromTlsSocket(c.client)).to.throw().with.property('code', 'ERR_SC_UNSUPPORTED')
      expect(() => ExportedAuthenticators.fromTlsSocket(c.server, { role: 'server' })).to.throw().with.property('code', 'ERR_SC_UNSUPPORTED')
    } finally {
      await c.close()
    }
  })

  it("takes SHA-384 from Node's default suite", async () => {
    const c = await connect()
    try {
      expect(c.client.getCipher().standardName).to.equal('TLS_AES_256_GCM_SHA384')
      expect(keysFromTlsSocket(c.client).hash).to.equal('sha384')
    } finally {
      await c.close()
    }
  })

  for (const suite of SUITES) {
    describe(suite.name, () => {
      let c: Conn
      before(async () => {
        c = await connect({ ciphersuites: suite.name })
      })
      after(async () => c.close())

      it('derives equal keys on both sides', () => {
        const a = keysFromTlsSocket(c.client)
        const b = keysFromTlsSocket(c.server)
        expect(a.hash).to.equal(suite.hash)
        const x = a.exporter('EXPORTER-client authenticator finished key', new Uint8Array(0), suite.length)
        const y = b.exporter('EXPORTER-client authenticator finished key', new Uint8Array(0), suite.length)
        expect(Buffer.from(x).equals(Buffer.from(y))).to.equal(true)
      })

      for (const keyType of KEY_TYPES) {
        for (const [pname, signer, verifier] of PROVIDERS) {
          const schemes = schemesForKey(keyTypeOf(keyType), curveOf(keyType))
          if (!schemes.some((s) => signer.schemes.includes(s) && verifier.schemes.includes(s))) continue
          for (const scheme of schemes) {
            if (!signer.schemes.includes(scheme) || !verifier.schemes.includes(scheme)) continue
            const label = `${keyType} 0x${scheme.toString(16).padStart(4, '0')} ${pname}`

            it(`client authenticator answering a request: ${label}`, async () => {
              const pki = await testPki(keyType)
              const server = ExportedAuthenticators.fromTlsSocket(c.server, { role: 'server', provider: verifier })
              const client = ExportedAuthenticators.fromTlsSocket(c.client, { role: 'client', provider: signer })
              const req = server.request({ signatureAlgorithms: [scheme] })
              client.receiveRequest(req)
              const cred = { chain: pki.user.chainDer, key: signer.importPrivateKey(pki.user.keyPem) }
              const auth = client.authenticate({ request: req, credential: cred })
              const v = server.validate(auth, { request: req })
              expect(v.kind).to.equal('identity')
              if (v.kind === 'identity') expect(v.scheme).to.equal(scheme)
              // Empty authenticator for a second request.
              const req2 = server.request({ signatureAlgorithms: [scheme] })
              expect(server.validate(client.authenticate({ request: req2 }), { request: req2 }).kind).to.equal('declined')
            })

            it(`spontaneous server authenticator: ${label}`, async () => {
              const pki = await testPki(keyType)
              const server = ExportedAuthenticators.fromTlsSocket(c.server, { role: 'server', provider: signer })
              const client = ExportedAuthenticators.fromTlsSocket(c.client, { role: 'client', provider: verifier })
              const cred = { chain: pki.origin2.chainDer, key: signer.importPrivateKey(pki.origin2.keyPem) }
              const auth = server.authenticate({ credential: cred, scheme })
              const v = client.validate(auth)
              expect(v.kind).to.equal('identity')
            })
          }
        }
      }
    })
  }
})

function keyTypeOf(k: PkiKeyType): KeyType {
  if (k === 'mldsa44' || k === 'mldsa65' || k === 'mldsa87') return `ml-dsa-${k.slice(5)}` as KeyType
  return k === 'p256' || k === 'p384' || k === 'p521' ? 'ec' : k
}
function curveOf(k: PkiKeyType): 'P-256' | 'P-384' | 'P-521' | undefined {
  return k === 'p256' ? 'P-256' : k === 'p384' ? 'P-384' : k === 'p521' ? 'P-521' : undefined
}
