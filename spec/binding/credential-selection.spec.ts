import { expect } from 'chai'
import { selectCredential } from '../../lib/binding/credential-selection.js'
import { loadCredential } from '../../lib/binding/credentials.js'
import type { LoadedCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { EKU, issueCertificate } from '../../lib/pki/test-pki.js'
import type { TestCredential } from '../../lib/pki/test-pki.js'
import { certificateAuthoritiesFromAnchors, ekuOidFilter } from '../../lib/policy/certificate-policy.js'
import type { CertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { testPki } from '../support/pki.js'

const DAY = 86400000
const NOW = new Date()

function request(init: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    type: 13,
    context: new Uint8Array(8),
    extensions: [],
    signatureAlgorithms: [0x0403],
    signatureAlgorithmsCert: undefined,
    certificateAuthorities: undefined,
    oidFilters: undefined,
    statusRequest: false,
    ...init,
  } as CertificateRequest
}

function load(c: TestCredential, label: string): LoadedCredential {
  return loadCredential({ cert: c.chainPem, key: c.keyPem }, nodeCrypto, label)
}

describe('binding/credential-selection', () => {
  let user: LoadedCredential
  let expired: LoadedCredential
  let future: LoadedCredential

  before(async () => {
    const pki = await testPki('p256')
    user = load(pki.user, 'user')
    const leaf = (notBefore: Date, notAfter: Date): Promise<TestCredential> =>
      issueCertificate({ subject: 'CN=user, O=h2sc test', issuer: pki.intermediate, extKeyUsage: [EKU.clientAuth], keyUsage: ['digitalSignature'], basicConstraints: { ca: false }, notBefore, notAfter })
    expired = load(await leaf(new Date(NOW.getTime() - 30 * DAY), new Date(NOW.getTime() - DAY)), 'old-user')
    future = load(await leaf(new Date(NOW.getTime() + DAY), new Date(NOW.getTime() + 30 * DAY)), 'next-user')
  })

  it('presents a matching credential inside its validity period', () => {
    const s = selectCredential(request({ oidFilters: [ekuOidFilter('user')] }), [expired, future, user], [], NOW)
    expect(s.kind === 'credential' && s.credential.label).to.equal('user')
  })

  it('never presents an expired credential and says so', () => {
    expect(selectCredential(request({ oidFilters: [ekuOidFilter('user')] }), [expired], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'expired' })
  })

  it('never presents a not-yet-valid credential and says so', () => {
    expect(selectCredential(request(), [future], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'not-yet-valid' })
  })

  it('declines with no-matching-credential when the request fields exclude every credential', async () => {
    const other = await testPki('p384')
    const names = certificateAuthoritiesFromAnchors([other.caPem])
    expect(selectCredential(request({ certificateAuthorities: names }), [user], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'no-matching-credential' })
    expect(selectCredential(request({ oidFilters: [ekuOidFilter('device')] }), [user], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'no-matching-credential' })
    expect(selectCredential(request({ signatureAlgorithms: [0x0807] }), [user], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'no-matching-credential' })
  })

  it('declines with no-credentials when it holds none', () => {
    expect(selectCredential(request(), [], [], NOW)).to.deep.equal({ kind: 'decline', reason: 'no-credentials' })
  })

  it('prefers a credential not yet presented on the connection', async () => {
    const pki = await testPki('p256')
    const device = load(pki.device, 'device')
    const s = selectCredential(request(), [user, device], ['user'], NOW)
    expect(s.kind === 'credential' && s.credential.label).to.equal('device')
    const again = selectCredential(request(), [user], ['user'], NOW)
    expect(again.kind === 'credential' && again.credential.label).to.equal('user')
  })
})
