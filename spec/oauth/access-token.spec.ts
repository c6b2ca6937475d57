import { expect } from 'chai'
import { createLocalJWKSet } from 'jose'
import {
  AccessTokenRejectedError,
  authorizeRequest,
  verifyAccessToken,
  type AuthorizeRequestOptions,
} from '../../lib/oauth/access-token.js'
import { x5tS256 } from '../../lib/oauth/certificate-binding.js'
import { AUDIENCE, ISSUER, makeCert, makeIssuer, NOW, type Issuer, type MadeCert } from './support.js'

async function rejectionOf(p: Promise<unknown>): Promise<AccessTokenRejectedError> {
  try {
    await p
  } catch (e) {
    expect(e).to.be.instanceOf(AccessTokenRejectedError)
    return e as AccessTokenRejectedError
  }
  return expect.fail('expected a rejection')
}

describe('oauth/access-token', () => {
  let as: Issuer
  let other: Issuer
  let handshake: MadeCert
  let user: MadeCert
  before(async () => {
    ;[as, other, handshake, user] = await Promise.all([makeIssuer(), makeIssuer('k2'), makeCert(), makeCert()])
  })
  const base = (): { keys: Issuer['jwks']; issuer: string; audience: string; now: Date } => ({
    keys: as.jwks,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: NOW,
  })

  describe('verifyAccessToken', () => {
    it('returns the claims of a valid token verified against a JWK Set', async () => {
      const jwt = await as.sign({ scope: 'read', cnf: { 'x5t#S256': x5tS256(user.der) } })
      const claims = await verifyAccessToken(jwt, base())
      expect(claims.sub).to.equal('client-1')
      expect(claims['scope']).to.equal('read')
      expect(claims.cnf).to.deep.equal({ 'x5t#S256': x5tS256(user.der) })
    })

    it('accepts a single key object and a jose key resolver', async () => {
      const jwt = await as.sign({})
      expect((await verifyAccessToken(jwt, { ...base(), keys: as.publicKey })).iss).to.equal(ISSUER)
      expect((await verifyAccessToken(jwt, { ...base(), keys: createLocalJWKSet(as.jwks) })).iss).to.equal(ISSUER)
    })

    it('rejects an expired token with token-expired', async () => {
      const jwt = await as.sign({}, { issuedAt: new Date(NOW.getTime() - 7_200_000), expiresAt: new Date(NOW.getTime() - 1000) })
      const e = await rejectionOf(verifyAccessToken(jwt, base()))
      expect(e.code).to.equal('ERR_SC_POLICY_REJECTED')
      expect(e.reason).to.equal('token-expired')
    })

    it('honours the clock tolerance', async () => {
      const jwt = await as.sign({}, { issuedAt: new Date(NOW.getTime() - 7_200_000), expiresAt: new Date(NOW.getTime() - 5000) })
      expect((await verifyAccessToken(jwt, { ...base(), clockToleranceSec: 30 })).sub).to.equal('client-1')
    })

    it('rejects a token for another audience with token-claim-invalid on aud', async () => {
      const jwt = await as.sign({ aud: 'https://elsewhere.example' })
      const e = await rejectionOf(verifyAccessToken(jwt, base()))
      expect([e.code, e.reason, e.claim]).to.deep.equal(['ERR_SC_POLICY_REJECTED', 'token-claim-invalid', 'aud'])
    })

    it('rejects a token from another issuer with token-claim-invalid on iss', async () => {
      const jwt = await as.sign({ iss: 'https://evil.example' })
      const e = await rejectionOf(verifyAccessToken(jwt, base()))
      expect([e.reason, e.claim]).to.deep.equal(['token-claim-invalid', 'iss'])
    })

    it('rejects a token whose typ differs from the required one', async () => {
      const jwt = await as.sign({}, { typ: 'JWT' })
      const e = await rejectionOf(verifyAccessToken(jwt, { ...base(), typ: 'at+jwt' }))
      expect([e.reason, e.claim]).to.deep.equal(['token-claim-invalid', 'typ'])
      expect((await verifyAccessToken(await as.sign({}), { ...base(), typ: 'at+jwt' })).sub).to.equal('client-1')
    })

    it('rejects a token signed by an unknown key id with token-key-not-found', async () => {
      const jwt = await other.sign({})
      expect((await rejectionOf(verifyAccessToken(jwt, base()))).reason).to.equal('token-key-not-found')
    })

    it('rejects a forged signature with token-signature-invalid', async () => {
      const jwt = await other.sign({}, { kid: 'k1' })
      expect((await rejectionOf(verifyAccessToken(jwt, base()))).reason).to.equal('token-signature-invalid')
      expect((await rejectionOf(verifyAccessToken(jwt, { ...base(), keys: as.publicKey }))).reason).to.equal('token-signature-invalid')
    })

    it('rejects an algorithm outside the allowed list', async () => {
      const jwt = await as.sign({})
      expect((await rejectionOf(verifyAccessToken(jwt, { ...base(), algorithms: ['RS256'] }))).reason).to.equal(
        'token-alg-not-allowed',
      )
    })

    it('rejects garbage with token-malformed', async () => {
      expect((await rejectionOf(verifyAccessToken('not.a.jwt', base()))).reason).to.equal('token-malformed')
    })

    it('refuses an empty audience list as a usage error', async () => {
      const jwt = await as.sign({})
      const err = await verifyAccessToken(jwt, { ...base(), audience: [] }).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      )
      expect(err?.code).to.equal('ERR_SC_USAGE')
    })
  })

  describe('authorizeRequest', () => {
    const options = (more: Partial<AuthorizeRequestOptions> = {}): AuthorizeRequestOptions => ({
      ...base(),
      accept: 'any',
      realm: 'api',
      ...more,
    })

    it('authorizes a bound token whose certificate is a secondary certificate of the connection', async () => {
      const jwt = await as.sign({ cnf: { 'x5t#S256': x5tS256(user.der) } })
      const r = await authorizeRequest(
        { authorization: `Bearer ${jwt}`, certificates: { handshake: handshake.der, secondary: [user.der] } },
        options(),
      )
      expect(r.ok).to.equal(true)
      if (r.ok) {
        expect(r.binding?.matched).to.equal('secondary')
        expect(r.claims.sub).to.equal('client-1')
      }
    })

    it('refuses the same token when only handshake certificates are accepted (401 invalid_token)', async () => {
      const jwt = await as.sign({ cnf: { 'x5t#S256': x5tS256(user.der) } })
      const r = await authorizeRequest(
        { authorization: `Bearer ${jwt}`, certificates: { handshake: handshake.der, secondary: [user.der] } },
        options({ accept: 'handshake' }),
      )
      expect(r.ok).to.equal(false)
      if (!r.ok) {
        expect([r.status, r.error, r.reason]).to.deep.equal([401, 'invalid_token', 'mismatch'])
        expect(r.wwwAuthenticate).to.match(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/)
      }
    })

    it('answers a request without a token with a bare challenge and no error code', async () => {
      const r = await authorizeRequest({ certificates: { secondary: [] } }, options())
      expect(r).to.deep.equal({ ok: false, status: 401, error: undefined, reason: 'no-token', wwwAuthenticate: 'Bearer realm="api"' })
    })

    it('answers a malformed Authorization header with 400 invalid_request', async () => {
      for (const authorization of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b']) {
        const r = await authorizeRequest({ authorization, certificates: { secondary: [] } }, options())
        expect(!r.ok && [r.status, r.error, r.reason], authorization).to.deep.equal([400, 'invalid_request', 'bad-authorization-header'])
      }
    })

    it('refuses an expired bound token with 401 invalid_token and reason token-expired', async () => {
      const jwt = await as.sign(
        { cnf: { 'x5t#S256': x5tS256(user.der) } },
        { issuedAt: new Date(NOW.getTime() - 7_200_000), expiresAt: new Date(NOW.getTime() - 1000) },
      )
      const r = await authorizeRequest({ authorization: `bearer ${jwt}`, certificates: { secondary: [user.der] } }, options())
      expect(!r.ok && [r.status, r.error, r.reason]).to.deep.equal([401, 'invalid_token', 'token-expired'])
    })

    it('refuses an unbound token unless binding is optional', async () => {
      const jwt = await as.sign({})
      const input = { authorization: `Bearer ${jwt}`, certificates: { handshake: handshake.der, secondary: [] } }
      const strict = await authorizeRequest(input, options())
      expect(!strict.ok && strict.reason).to.equal('no-cnf')
      const lax = await authorizeRequest(input, options({ requireBinding: false }))
      expect(lax.ok && lax.binding).to.equal(undefined)
    })

    it('still enforces a binding that is present when binding is optional', async () => {
      const jwt = await as.sign({ cnf: { 'x5t#S256': x5tS256(user.der) } })
      const r = await authorizeRequest(
        { authorization: `Bearer ${jwt}`, certificates: { handshake: handshake.der, secondary: [] } },
        options({ requireBinding: false }),
      )
      expect(!r.ok && r.reason).to.equal('mismatch')
    })
  })
})
