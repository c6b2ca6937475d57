import { expect } from 'chai'
import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'
import type http2 from 'node:http2'
import { UnsecuredJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import type { JSONWebKeySet } from 'jose'
import { startAdmin } from '../../lib/gateway/admin.js'
import type { AdminServer } from '../../lib/gateway/admin.js'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway } from '../../lib/gateway/gateway.js'
import { x5tS256 } from '../../lib/oauth/certificate-binding.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, header, startBackend } from './support/harness.js'
import type { Backend, Echo } from './support/harness.js'

function getJson(url: string): Promise<{ status: number; type: string | undefined; body: unknown }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let b = ''
      res.on('data', (c: Buffer) => (b += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: JSON.parse(b) as unknown }))
    }).on('error', reject)
  })
}

interface Claims {
  iss: string
  aud: string
  iat: number
  exp: number
  identities: Record<string, { sub: string; 'x5t#S256': string; roles: string[] }>
  cnf?: { 'x5t#S256': string }
}

describe('gateway: signed identity assertion (compact JWS) with the key as a JWKS on the admin listener', function () {
  this.timeout(60000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway
  let admin: AdminServer
  let session: http2.ClientHttp2Session
  let jwks: JSONWebKeySet

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    gw = createGateway({
      cert: pki.server.chainPem,
      key: pki.server.keyPem,
      ca: pki.caPem,
      routes: [
        { prefix: '/open', upstream: backend.url, public: true },
        { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
      ],
      assertion: { key: privateKey.export({ format: 'pem', type: 'sec1' }).toString(), issuer: 'https://gw.test', ttlSeconds: 30 },
    })
    const port = (await gw.listen()).port
    admin = await startAdmin({ registry: gw.metrics.registry, port: 0, healthy: () => true, jwks: () => gw.jwks() })
    session = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    const r = await getJson(`http://127.0.0.1:${admin.port}/.well-known/jwks.json`)
    expect(r.status).to.equal(200)
    expect(r.type).to.equal('application/jwk-set+json')
    jwks = r.body as JSONWebKeySet
  })
  after(async () => {
    session.destroy()
    await admin.close()
    await gw.close({ timeoutMs: 300 })
    await backend.stop()
  })

  it('publishes only a public key', () => {
    expect(jwks.keys).to.have.length(1)
    expect(jwks.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(jwks.keys[0]).to.not.have.property('d')
  })

  it('signs iss, aud, iat, exp ≤ 60 s and per label the subject, x5t#S256 and roles; a backend verifies it with the JWKS', async () => {
    const echo = JSON.parse((await fetchH2(session, '/api')).body.toString()) as Echo
    const [jws] = header(echo, 'secondary-identity-assertion')
    expect(jws).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(decodeProtectedHeader(jws!)).to.include({ alg: 'ES256', typ: 'secondary-identity+jwt', kid: jwks.keys[0]!.kid })
    const { payload } = await jwtVerify(jws!, createLocalJWKSet(jwks), { issuer: 'https://gw.test', audience: backend.url.replace('localhost', '127.0.0.1') })
    const c = payload as unknown as Claims
    expect(c.exp - c.iat).to.equal(30)
    expect(c.exp - c.iat).to.be.at.most(60)
    expect(c.identities['device']!.sub).to.contain('CN=device-')
    expect(c.identities['device']!['x5t#S256']).to.equal(x5tS256(pki.device.certDer))
    expect(c.identities['device']!.roles).to.deep.equal(['device'])
    expect(c.identities['user']!['x5t#S256']).to.equal(x5tS256(pki.user.certDer))
    expect(c.identities['user']!.roles).to.deep.equal(['user'])
    expect(c.identities['user']!.sub).to.contain('CN=user')
    // A tampered assertion does not verify.
    const parts = jws!.split('.')
    const forged = [parts[0], Buffer.from(JSON.stringify({ ...c, identities: { admin: c.identities['user'] } })).toString('base64url'), parts[2]].join('.')
    let failed = false
    await jwtVerify(forged, createLocalJWKSet(jwks)).catch(() => (failed = true))
    expect(failed).to.equal(true)
  })

  it('adds cnf when a forwarded bearer token is bound (RFC 8705) to one of the accepted certificates, not otherwise', async () => {
    const bound = new UnsecuredJWT({ cnf: { 'x5t#S256': x5tS256(pki.user.certDer) } }).encode()
    const other = new UnsecuredJWT({ cnf: { 'x5t#S256': 'A'.repeat(43) } }).encode()
    const get = async (token: string): Promise<Claims> => {
      const echo = JSON.parse((await fetchH2(session, '/api', { headers: { authorization: `Bearer ${token}` } })).body.toString()) as Echo
      expect(header(echo, 'authorization')).to.deep.equal([`Bearer ${token}`])
      return (await jwtVerify(header(echo, 'secondary-identity-assertion')[0]!, createLocalJWKSet(jwks))).payload as unknown as Claims
    }
    expect((await get(bound)).cnf).to.deep.equal({ 'x5t#S256': x5tS256(pki.user.certDer) })
    expect((await get(other)).cnf).to.equal(undefined)
  })

  it('sends no assertion on a public route, and strips a client-sent one', async () => {
    const echo = JSON.parse((await fetchH2(session, '/open/x', { headers: { 'secondary-identity-assertion': 'forged' } })).body.toString()) as Echo
    expect(header(echo, 'secondary-identity-assertion')).to.deep.equal([])
  })
})
