import { expect } from 'chai'
import { createHash, X509Certificate } from 'node:crypto'
import { identityFromVerdict, withTrust } from '../../lib/binding/identity.js'
import type { Verdict } from '../../lib/ea/authenticators.js'
import { testPki } from '../support/pki.js'

type IdentityVerdict = Extract<Verdict, { kind: 'identity' }>

function verdict(chain: Uint8Array[]): IdentityVerdict {
  return { kind: 'identity', context: new Uint8Array(8), chain, entries: chain.map((certData) => ({ certData, extensions: [] })), scheme: 0x0403, validatedAt: new Date(0) }
}

describe('binding/identity', () => {
  it('describes the end-entity certificate: subject, SHA-256 of the DER, EKU, scheme and chain', async () => {
    const pki = await testPki('p256')
    const id = identityFromVerdict('user', verdict(pki.user.chainDer))
    const x = new X509Certificate(pki.user.certDer)
    expect(id.label).to.equal('user')
    // RFC 4514: the last RDN of the DER Name first (node prints DER order, one RDN per line).
    expect(x.subject).to.equal('O=h2sc test\nCN=user')
    expect(id.subject).to.equal('CN=user,O=h2sc test')
    expect(id.subject).to.equal(pki.user.subject)
    expect(id.issuer).to.equal(pki.intermediate.subject)
    expect(id.sha256).to.equal(createHash('sha256').update(pki.user.certDer).digest('hex'))
    expect(id.eku).to.deep.equal(['1.3.6.1.5.5.7.3.2'])
    expect(id.scheme).to.equal(0x0403)
    expect(id.chain).to.have.length(pki.user.chainDer.length)
    expect(id.certificate.raw.equals(x.raw)).to.equal(true)
  })

  it('shares one parsed certificate between identities of the same DER (a copy in another buffer included)', async () => {
    const pki = await testPki('p256')
    const a = identityFromVerdict('device', verdict(pki.device.chainDer))
    const copy = pki.device.chainDer.map((d) => new Uint8Array(d))
    const b = identityFromVerdict('device', verdict(copy))
    expect(b.certificate).to.equal(a.certificate)
    expect(b.chain[0]).to.equal(copy[0])
    const c = identityFromVerdict('user', verdict(pki.user.chainDer))
    expect(c.certificate).to.not.equal(a.certificate)
    expect(c.sha256).to.not.equal(a.sha256)
  })

  it('hands out an EKU list that callers cannot change for later identities', async () => {
    const pki = await testPki('p256')
    const a = identityFromVerdict('device', verdict(pki.device.chainDer))
    expect(() => (a.eku as string[]).push('2.5.29.37.0')).to.throw(TypeError)
    expect(identityFromVerdict('device', verdict(pki.device.chainDer)).eku).to.deep.equal(['1.3.6.1.5.5.7.3.1'])
  })
})

describe('binding/identity trust', () => {
  it('is not trusted until decided, and carries the decision it is given', async () => {
    const pki = await testPki('p256')
    const id = identityFromVerdict('user', verdict(pki.user.chainDer))
    expect(id.trusted).to.equal(false)
    expect(id.roles).to.deep.equal([])
    expect(id.trust).to.include({ trusted: false, reason: 'not-evaluated' })
    const ok = withTrust(id, { trusted: true, purpose: 'user', roles: ['user'] })
    expect(ok.trusted).to.equal(true)
    expect(ok.roles).to.deep.equal(['user'])
    expect(ok.subject).to.equal(id.subject)
    expect(Object.isFrozen(ok)).to.equal(true)
    const no = withTrust(ok, { trusted: false, purpose: 'user', reason: 'no-path', detail: 'no path to an anchor' })
    expect(no.trusted).to.equal(false)
    expect(no.roles).to.deep.equal([])
    expect(no.trust).to.include({ reason: 'no-path' })
  })
})
