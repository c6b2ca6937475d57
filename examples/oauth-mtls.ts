/**
 * OAuth 2.0 mutual-TLS (RFC 8705) with secondary certificates, on loopback:
 *
 *  - an authorization server authenticates the OAuth client by a *secondary* certificate
 *    (tls_client_auth, RFC 8705 §2.1, matched on the SAN email) and issues an access token bound
 *    to that certificate (cnf.x5t#S256, §3.1);
 *  - a resource server accepts the token only on a connection where the same certificate was
 *    presented as a secondary certificate (§3.2), and answers 401 otherwise.
 *
 *   node --import tsx examples/oauth-mtls.ts
 */
import type http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import {
  authenticateMtlsClient,
  authorizeRequest,
  connect,
  createCertificatePolicy,
  createSecureServer,
  createTestPki,
  ekuOidFilter,
  identitiesOf,
  sessionCerts,
  x5tS256,
} from '../lib/index.js'
import type { MtlsClientMetadata } from '../lib/index.js'

const ISSUER = 'https://as.localhost'
const AUDIENCE = 'https://rs.localhost'

export interface OAuthDemoResult {
  /** Why the resource server refused the device certificate's connection. */
  otherCertChallenge: string | undefined
  tokenStatus: number
  token: string | undefined
  boundTo: string | undefined
  /** Resource request with the token on a connection that presented the bound certificate. */
  resourceWithBoundCert: number
  /** Same token, but the connection presented a different (device) certificate. */
  resourceWithOtherCert: number
  /** Same token, the client declined to present any certificate. */
  resourceWithoutCert: number
  wwwAuthenticate: string | undefined
}

async function call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
  const stream = session.request(headers)
  stream.end()
  return await new Promise((resolve, reject) => {
    let h: http2.IncomingHttpHeaders = {}
    let body = ''
    stream.on('response', (r) => (h = r))
    stream.on('data', (c: Buffer) => (body += c.toString()))
    stream.on('end', () => resolve({ status: Number(h[':status']), body, headers: h }))
    stream.on('error', reject)
  })
}

export async function runOAuthMtlsDemo(): Promise<OAuthDemoResult> {
  const pki = await createTestPki({ keyType: 'p256' })
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'as-1' }] }
  const policy = createCertificatePolicy({ anchors: [pki.caPem], preset: 'rfc5280' })
  const userRequest = { label: 'client', oidFilters: [ekuOidFilter('user')] }

  // The OAuth client's registration at the AS (RFC 8705 §2.1.2).
  const registration: MtlsClientMetadata = {
    client_id: 'demo-client',
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_san_email: 'user@example.test',
  }

  const as = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: policy } }, async (req, res) => {
    if (req.url !== '/token' || req.method !== 'POST') {
      res.writeHead(404).end()
      return
    }
    const [outcome] = await sessionCerts(req)!.requestIdentities([userRequest])
    const chain = outcome?.kind === 'identity' ? outcome.identity.chain : undefined
    const trusted = chain ? await policy({ chain }, 'user') : undefined
    const auth = chain && trusted?.accept ? authenticateMtlsClient(registration, { secondary: [chain[0]!] }, { accept: 'secondary' }) : undefined
    if (!auth?.ok) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'invalid_client' }))
      return
    }
    const token = await new SignJWT({ client_id: registration.client_id, cnf: { 'x5t#S256': x5tS256(auth.certificate) } })
      .setProtectedHeader({ alg: 'ES256', kid: 'as-1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(registration.client_id!)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300 }))
  })

  const rs = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { trust: policy } }, async (req, res) => {
    // Ask for the client's certificate on this connection, then check the token's binding
    // against the certificates validated here (never those of another connection).
    await sessionCerts(req)!.requestIdentities([userRequest]).catch(() => [])
    const secondary = identitiesOf(req).map((i) => i.chain[0]!)
    const r = await authorizeRequest(
      { authorization: req.headers.authorization, certificates: { secondary } },
      { keys: jwks, issuer: ISSUER, audience: AUDIENCE, accept: 'secondary', realm: 'demo' },
    )
    if (!r.ok) {
      res.writeHead(r.status, { 'www-authenticate': r.wwwAuthenticate })
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ hello: r.claims.sub, boundTo: r.binding?.thumbprint }))
  })

  const listen = (s: http2.Http2SecureServer): Promise<number> =>
    new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)))
  const asPort = await listen(as)
  const rsPort = await listen(rs)
  const user = { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }
  const device = { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem }
  type Choice = 'default' | 'first' | 'decline'
  const open = (port: number, credentials: (typeof user)[], choice: Choice = 'default'): http2.ClientHttp2Session =>
    connect(`https://127.0.0.1:${port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: {
        credentials,
        ...(choice === 'decline' ? { select: () => null } : choice === 'first' ? { select: (_info, creds) => creds[0] ?? null } : {}),
      },
    })

  const sessions: http2.ClientHttp2Session[] = []
  try {
    const asSession = open(asPort, [user])
    sessions.push(asSession)
    const tokenResponse = await call(asSession, { ':method': 'POST', ':path': '/token' })
    const token = tokenResponse.status === 200 ? (JSON.parse(tokenResponse.body) as { access_token: string }).access_token : undefined
    const authz = { authorization: `Bearer ${token ?? ''}` }

    const good = open(rsPort, [user])
    // Presents the device certificate whatever was asked: valid on the connection, but not the
    // certificate the token is bound to.
    const other = open(rsPort, [device], 'first')
    const none = open(rsPort, [user], 'decline')
    sessions.push(good, other, none)
    const r1 = await call(good, { ':path': '/resource', ...authz })
    const r2 = await call(other, { ':path': '/resource', ...authz })
    const r3 = await call(none, { ':path': '/resource', ...authz })
    return {
      tokenStatus: tokenResponse.status,
      token,
      boundTo: r1.status === 200 ? (JSON.parse(r1.body) as { boundTo?: string }).boundTo : undefined,
      resourceWithBoundCert: r1.status,
      resourceWithOtherCert: r2.status,
      otherCertChallenge: r2.headers['www-authenticate'] as string | undefined,
      resourceWithoutCert: r3.status,
      wwwAuthenticate: r3.headers['www-authenticate'] as string | undefined,
    }
  } finally {
    for (const s of sessions) s.destroy()
    await new Promise<void>((r) => as.close(() => r()))
    await new Promise<void>((r) => rs.close(() => r()))
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runOAuthMtlsDemo()
  console.log(`token endpoint: ${r.tokenStatus}, token bound to x5t#S256 ${r.boundTo ?? '-'}`)
  console.log(`resource with the bound secondary certificate: ${r.resourceWithBoundCert}`)
  console.log(`resource with another certificate: ${r.resourceWithOtherCert}`)
  console.log(`resource with no certificate: ${r.resourceWithoutCert} (${r.wwwAuthenticate ?? ''})`)
  process.exit(r.resourceWithBoundCert === 200 && r.resourceWithOtherCert === 401 && r.resourceWithoutCert === 401 ? 0 : 1)
}
