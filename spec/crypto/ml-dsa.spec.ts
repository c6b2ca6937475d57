import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import {
  ML_DSA,
  decodeMlDsaPkcs8,
  decodeMlDsaSpki,
  encodeMlDsaPkcs8,
  encodeMlDsaSpki,
  generateMlDsaKey,
  isMlDsaSpki,
  mlDsaByOid,
  mlDsaSign,
  mlDsaVerify,
  verifyMlDsaCertificateSignature as verifyInCrypto,
} from '../../lib/crypto/ml-dsa.js'
import { verifyMlDsaCertificateSignature as verifyInPolicy } from '../../lib/policy/ml-dsa-signature.js'
import { defaultCrypto } from '../../lib/crypto/default-provider.js'
import { createNodeProvider, nodeCrypto, opensslMlDsa } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { decodeCertFields } from '../../lib/policy/der.js'
import { testPki } from '../support/pki.js'

interface Vector {
  name: string
  parameterSet: string
  seed: string
  seedPkcs8: string
  opensslPkcs8: string
  spki: string
  message: string
  signature: string
}
const VECTORS = JSON.parse(readFileSync(new URL('../vectors/ml-dsa.json', import.meta.url), 'utf8')) as {
  source: string
  valid: Vector[]
}
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('crypto/ml-dsa', function () {
  this.timeout(20_000)

  it('knows the RFC 9881 OIDs, FIPS 204 sizes and TLS codepoints', () => {
    expect(ML_DSA.map((p) => [p.oid, p.scheme, p.publicKeyBytes, p.signatureBytes])).to.deep.equal([
      ['2.16.840.1.101.3.4.3.17', 0x0904, 1312, 2420],
      ['2.16.840.1.101.3.4.3.18', 0x0905, 1952, 3309],
      ['2.16.840.1.101.3.4.3.19', 0x0906, 2592, 4627],
    ])
    expect(mlDsaByOid('2.16.840.1.101.3.4.3.18')?.name).to.equal('ml-dsa-65')
  })

  describe('known answers (seeds from NIST ACVP, outputs from OpenSSL)', () => {
    for (const v of VECTORS.valid) {
      it(`${v.name}: the seed-form PKCS#8 yields OpenSSL's public key`, () => {
        const key = decodeMlDsaPkcs8(hex(v.seedPkcs8))!
        expect(key.params.name).to.equal(v.parameterSet.toLowerCase())
        expect(toHex(key.seed!)).to.equal(v.seed)
        expect(toHex(encodeMlDsaSpki(key.params, key.publicKey))).to.equal(v.spki)
        expect(toHex(encodeMlDsaPkcs8(key, 'seed'))).to.equal(v.seedPkcs8)
      })
      it(`${v.name}: reads OpenSSL's own PKCS#8 export and writes it back byte for byte`, () => {
        const fromSeed = decodeMlDsaPkcs8(hex(v.seedPkcs8))!
        const fromOpenssl = decodeMlDsaPkcs8(hex(v.opensslPkcs8))!
        expect(toHex(fromOpenssl.secretKey)).to.equal(toHex(fromSeed.secretKey))
        expect(toHex(encodeMlDsaPkcs8(fromOpenssl, 'both'))).to.equal(v.opensslPkcs8)
        const expandedOnly = decodeMlDsaPkcs8(encodeMlDsaPkcs8(fromOpenssl, 'expandedKey'))!
        expect(expandedOnly.seed).to.equal(undefined)
        expect(toHex(expandedOnly.publicKey)).to.equal(toHex(fromSeed.publicKey))
      })
      it(`${v.name}: verifies OpenSSL's signature and refuses a flipped bit`, () => {
        const { params, publicKey } = decodeMlDsaSpki(hex(v.spki))
        const sig = hex(v.signature)
        expect(mlDsaVerify(params, publicKey, hex(v.message), sig)).to.equal(true)
        sig[100]! ^= 0x01
        expect(mlDsaVerify(params, publicKey, hex(v.message), sig)).to.equal(false)
        expect(mlDsaVerify(params, publicKey, hex(v.message), sig.subarray(1))).to.equal(false)
      })
    }
  })

  describe('invalid encodings', () => {
    const v = VECTORS.valid[0]!
    it('rejects a "both" key whose expanded key does not match its seed', () => {
      const a = decodeMlDsaPkcs8(hex(v.opensslPkcs8))!
      const other = generateMlDsaKey(a.params)
      const mixed = encodeMlDsaPkcs8({ ...a, secretKey: other.secretKey }, 'both')
      expect(codeOf(() => decodeMlDsaPkcs8(mixed))).to.equal('ERR_SC_DECODE')
    })
    it('rejects a seed that is not 32 bytes', () => {
      // OneAsymmetricKey { 0, id-ML-DSA-44, OCTET STRING { [0] 31 bytes } }
      const short = hex(`3033020100300b0609608648016503040311042180${'1f'}${'ab'.repeat(31)}`)
      expect(codeOf(() => decodeMlDsaPkcs8(short))).to.equal('ERR_SC_DECODE')
    })
    it('rejects every truncated prefix of a SubjectPublicKeyInfo and of a PKCS#8 key', () => {
      const spki = hex(v.spki)
      for (let n = 0; n < spki.length; n += 97) {
        expect(codeOf(() => decodeMlDsaSpki(spki.subarray(0, n))), `spki ${n}`).to.equal('ERR_SC_DECODE')
      }
      const p8 = hex(v.seedPkcs8)
      for (let n = 0; n < p8.length; n++) {
        expect(codeOf(() => decodeMlDsaPkcs8(p8.subarray(0, n))), `pkcs8 ${n}`).to.equal('ERR_SC_DECODE')
      }
    })
    it('rejects ML-DSA AlgorithmIdentifier parameters (RFC 9881 §2: MUST be absent)', () => {
      const spki = hex(v.spki)
      // 30 82 05 32 | 30 0b 06 09 <oid> | 03 82 ...  →  insert NULL parameters (05 00).
      const withNull = Uint8Array.from([0x30, 0x82, 0x05, 0x34, 0x30, 0x0d, ...spki.subarray(6, 17), 0x05, 0x00, ...spki.subarray(17)])
      expect(codeOf(() => decodeMlDsaSpki(withNull))).to.equal('ERR_SC_DECODE')
      expect(isMlDsaSpki(withNull)).to.equal(false)
      expect(isMlDsaSpki(spki)).to.equal(true)
    })
    it('returns undefined for a PKCS#8 key of another algorithm', async () => {
      const pki = await testPki('p256')
      const der = Buffer.from(pki.user.keyPem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')
      expect(decodeMlDsaPkcs8(new Uint8Array(der))).to.equal(undefined)
    })
  })

  it('signs with fresh randomness each time (hedged ML-DSA.Sign)', () => {
    const p = ML_DSA[0]!
    const k = generateMlDsaKey(p)
    const m = new Uint8Array(40)
    const a = mlDsaSign(p, k.secretKey, m)
    const b = mlDsaSign(p, k.secretKey, m)
    expect(toHex(a)).to.not.equal(toHex(b))
    expect(mlDsaVerify(p, k.publicKey, m, a) && mlDsaVerify(p, k.publicKey, m, b)).to.equal(true)
  })

  describe('certificate signatures (RFC 9881 §3)', () => {
    for (const [where, verifyMlDsaCertificateSignature] of [
      ['crypto/ml-dsa', verifyInCrypto],
      ['policy/ml-dsa-signature', verifyInPolicy],
    ] as const)
    it(`${where}: verifies an ML-DSA chain, refuses a tampered certificate, leaves classical ones to node`, async () => {
      const pki = await testPki('mldsa44')
      const spki = (der: Uint8Array): Uint8Array => decodeCertFields(der).spkiDer
      expect(verifyMlDsaCertificateSignature(pki.user.certDer, spki(pki.intermediate.certDer))).to.equal(true)
      expect(verifyMlDsaCertificateSignature(pki.intermediate.certDer, spki(pki.root.certDer))).to.equal(true)
      // Signed by the intermediate, not by the root.
      expect(verifyMlDsaCertificateSignature(pki.user.certDer, spki(pki.root.certDer))).to.equal(false)
      const bad = Uint8Array.from(pki.user.certDer)
      bad[bad.length - 10]! ^= 0x40
      expect(verifyMlDsaCertificateSignature(bad, spki(pki.intermediate.certDer))).to.equal(false)
      const ec = await testPki('p256')
      expect(verifyMlDsaCertificateSignature(ec.user.certDer, spki(ec.intermediate.certDer))).to.equal(undefined)
      // An ECDSA-signed certificate checked against an ML-DSA key: a mismatch, not a pass.
      expect(verifyMlDsaCertificateSignature(ec.user.certDer, spki(pki.intermediate.certDer))).to.equal(false)
    })
  })

  describe('providers', () => {
    it('node uses OpenSSL ML-DSA only where feature detection finds it', async () => {
      const pki = await testPki('mldsa65')
      expect(createNodeProvider({ mlDsa: false }).schemes).to.not.include(0x0905)
      if (opensslMlDsa()) {
        expect(nodeCrypto.importPrivateKey(pki.user.keyPem).schemes).to.deep.equal([0x0905])
      } else {
        expect(codeOf(() => nodeCrypto.importPrivateKey(pki.user.keyPem))).to.equal('ERR_SC_UNSUPPORTED')
        expect(codeOf(() => nodeCrypto.publicKeyInfo(pki.user.certDer))).to.equal('ERR_SC_UNSUPPORTED')
        expect(codeOf(() => nodeCrypto.verify(0x0905, pki.user.certDer, new Uint8Array(1), new Uint8Array(3309)))).to.equal(
          'ERR_SC_UNSUPPORTED',
        )
      }
    })
    it('the default provider serves ML-DSA with no configuration and classical schemes with node', async () => {
      const pki = await testPki('mldsa87')
      expect(defaultCrypto.schemes).to.include.members([0x0403, 0x0804, 0x0904, 0x0905, 0x0906])
      const key = defaultCrypto.importPrivateKey(pki.user.keyPem)
      expect(key.provider).to.equal(opensslMlDsa() ? 'node' : 'noble')
      expect(key.schemes).to.deep.equal([0x0906])
      const content = new Uint8Array(130).fill(3)
      const sig = defaultCrypto.sign(0x0906, key, content)
      expect(sig.length).to.equal(4627)
      expect(defaultCrypto.verify(0x0906, pki.user.certDer, content, sig)).to.equal(true)
      expect(nobleCrypto.verify(0x0906, pki.user.certDer, content, sig)).to.equal(true)
      // Scheme/key matching as for other schemes: a 65 scheme against an 87 key fails.
      expect(defaultCrypto.verify(0x0905, pki.user.certDer, content, sig)).to.equal(false)
      expect(codeOf(() => defaultCrypto.sign(0x0905, key, content))).to.equal('ERR_SC_USAGE')
      const ec = await testPki('p256')
      expect(defaultCrypto.importPrivateKey(ec.user.keyPem).provider).to.equal('node')
    })
  })
})
