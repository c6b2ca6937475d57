import { expect } from 'chai'
import {
  ML_DSA_SCHEMES,
  SignatureScheme,
  TLS13_SCHEMES,
  isTls13Scheme,
  schemeInfo,
  schemeMatchesKey,
  schemeName,
  schemesForKey,
} from '../../../lib/wire/tls/signature-scheme.js'

describe('wire/tls/signature-scheme', () => {
  it('allows exactly the eleven RFC 8446 TLS 1.3 schemes of digest §10 and the three ML-DSA ones', () => {
    expect([...TLS13_SCHEMES].sort((a, b) => a - b)).to.deep.equal([
      0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b,
      0x0904, 0x0905, 0x0906,
    ])
    expect(ML_DSA_SCHEMES).to.deep.equal([0x0904, 0x0905, 0x0906])
    for (const c of TLS13_SCHEMES) expect(isTls13Scheme(c), schemeName(c)).to.equal(true)
  })

  it('refuses RSASSA-PKCS1-v1_5 and legacy pairs (RFC 9261 §5.2.2)', () => {
    for (const c of [0x0401, 0x0501, 0x0601, 0x0201, 0x0203, 0x0303, 0x0402, 0x0000, 0xffff]) {
      expect(isTls13Scheme(c), schemeName(c)).to.equal(false)
      expect(schemeInfo(c)).to.equal(undefined)
    }
  })

  it('gives each scheme its hash, salt length and key requirement', () => {
    expect(schemeInfo(0x0403)).to.include({ keyType: 'ec', curve: 'P-256', hash: 'sha256' })
    expect(schemeInfo(0x0503)).to.include({ keyType: 'ec', curve: 'P-384', hash: 'sha384' })
    expect(schemeInfo(0x0603)).to.include({ keyType: 'ec', curve: 'P-521', hash: 'sha512' })
    expect(schemeInfo(0x0805)).to.include({ keyType: 'rsa', hash: 'sha384', saltLength: 48 })
    expect(schemeInfo(0x080b)).to.include({ keyType: 'rsa-pss', hash: 'sha512', saltLength: 64 })
    expect(schemeInfo(0x0807)).to.include({ keyType: 'ed25519', hash: null })
    expect(schemeInfo(0x0808)).to.include({ keyType: 'ed448', hash: null })
    // draft-ietf-tls-mldsa: pure ML-DSA, one parameter set per codepoint.
    expect(schemeInfo(0x0904)).to.include({ name: 'mldsa44', keyType: 'ml-dsa-44', hash: null })
    expect(schemeInfo(0x0905)).to.include({ name: 'mldsa65', keyType: 'ml-dsa-65', hash: null })
    expect(schemeInfo(0x0906)).to.include({ name: 'mldsa87', keyType: 'ml-dsa-87', hash: null })
    expect(schemeMatchesKey(0x0905, 'ml-dsa-65')).to.equal(true)
    expect(schemeMatchesKey(0x0905, 'ml-dsa-44')).to.equal(false)
    expect(schemeMatchesKey(0x0906, 'ed25519')).to.equal(false)
    expect(schemesForKey('ml-dsa-87')).to.deep.equal([0x0906])
    for (const c of TLS13_SCHEMES) {
      const s = schemeInfo(c)!
      if (s.saltLength !== undefined) expect(s.saltLength).to.equal({ sha256: 32, sha384: 48, sha512: 64 }[s.hash!])
    }
  })

  it('names schemes, including refused and unknown ones', () => {
    expect(schemeName(SignatureScheme.ed25519)).to.equal('ed25519')
    expect(schemeName(0x0401)).to.equal('rsa_pkcs1_sha256')
    expect(schemeName(0x1234)).to.equal('0x1234')
    expect(schemeName(0x0001)).to.equal('0x0001')
  })

  it('matches ECDSA schemes only to their curve and RSA-PSS to the SPKI type', () => {
    expect(schemeMatchesKey(0x0403, 'ec', 'P-256')).to.equal(true)
    expect(schemeMatchesKey(0x0403, 'ec', 'P-384')).to.equal(false)
    expect(schemeMatchesKey(0x0403, 'ec')).to.equal(false)
    expect(schemeMatchesKey(0x0804, 'rsa')).to.equal(true)
    expect(schemeMatchesKey(0x0804, 'rsa-pss')).to.equal(false)
    expect(schemeMatchesKey(0x0809, 'rsa-pss')).to.equal(true)
    expect(schemeMatchesKey(0x0401, 'rsa')).to.equal(false)
  })

  it('lists the schemes of each key type in preference order', () => {
    expect(schemesForKey('ec', 'P-384')).to.deep.equal([0x0503])
    expect(schemesForKey('rsa')).to.deep.equal([0x0804, 0x0805, 0x0806])
    expect(schemesForKey('rsa-pss')).to.deep.equal([0x0809, 0x080a, 0x080b])
    expect(schemesForKey('ed25519')).to.deep.equal([0x0807])
  })
})
