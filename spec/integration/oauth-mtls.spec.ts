import { expect } from 'chai'
import { runOAuthMtlsDemo } from '../../examples/oauth-mtls.js'

describe('integration: RFC 8705 tokens bound to a secondary certificate (examples/oauth-mtls.ts)', function () {
  this.timeout(20000)

  it('issues a bound token to the tls_client_auth client and enforces the binding at the resource server', async () => {
    const r = await runOAuthMtlsDemo()
    expect(r.tokenStatus).to.equal(200)
    expect(r.boundTo).to.match(/^[A-Za-z0-9_-]{43}$/)
    expect(r.resourceWithBoundCert).to.equal(200)
    expect(r.resourceWithOtherCert).to.equal(401)
    expect(r.otherCertChallenge).to.match(/invalid_token/)
    expect(r.resourceWithoutCert).to.equal(401)
    expect(r.wwwAuthenticate).to.match(/invalid_token/)
  })
})
