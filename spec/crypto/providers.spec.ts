import { expect } from 'chai'
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as opensslSign,
} from 'node:crypto'
import type { RSAPSSKeyPairKeyObjectOptions } from 'node:crypto'
import { nodeCrypto, opensslMlDsa } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import type { CryptoProvider } from '../../lib/crypto/provider.js'
import { schemeName, schemesForKey } from '../../lib/wire/tls/signature-scheme.js'
import type { Curve, HashName, KeyType } from '../../lib/wire/tls/signature-scheme.js'
import type { PkiKeyType } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'

const PROVIDERS: readonly CryptoProvider[] = [nodeCrypto, nobleCrypto]
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function codeOf(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return (e as { code?: unknown }).code
  }
  return 'did not throw'
}

const KEY_INFO: Record<PkiKeyType, { keyType: KeyType; curve?: Curve }> = {
  p256: { keyType: 'ec', curve: 'P-256' },
  p384: { keyType: 'ec', curve: 'P-384' },
  p521: { keyType: 'ec', curve: 'P-521' },
  ed25519: { keyType: 'ed25519' },
  ed448: { keyType: 'ed448' },
  rsa: { keyType: 'rsa' },
  'rsa-pss': { keyType: 'rsa-pss' },
  mldsa44: { keyType: 'ml-dsa-44' },
  mldsa65: { keyType: 'ml-dsa-65' },
  mldsa87: { keyType: 'ml-dsa-87' },
}
const SHARED_TYPES: readonly PkiKeyType[] = ['p256', 'p384', 'p521', 'ed25519', 'ed448']

describe('crypto/providers', function () {
  this.timeout(20_000)

  describe('sign with one provider, verify with the other', () => {
    for (const kt of SHARED_TYPES) {
      const info = KEY_INFO[kt]
      for (const scheme of schemesForKey(info.keyType, info.curve)) {
        for (const signer of PROVIDERS) {
          for (const verifier of PROVIDERS) {
            it(`${schemeName(scheme)}: ${signer.name} signs, ${verifier.name} verifies`, async () => {
              const pki = await testPki(kt)
              const key = signer.importPrivateKey(pki.user.keyPem)
              const content = enc(`content for ${schemeName(scheme)}`)
              const sig = signer.sign(scheme, key, content)
              expect(verifier.verify(scheme, pki.user.certDer, content, sig)).to.equal(true)
            })
          }
        }
      }
    }
  })

  it('lists the same schemes it can use', () => {
    expect([...nobleCrypto.schemes].sort()).to.deep.equal([
      0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0904, 0x0905, 0x0906,
    ])
    expect(nodeCrypto.schemes).to.include.members([0x0804, 0x0809, 0x0807, 0x0403])
    // ML-DSA from OpenSSL only where it has it (feature-detected, Node >= 24.6).
    if (opensslMlDsa()) expect(nodeCrypto.schemes).to.include.members([0x0904, 0x0905, 0x0906])
    else expect(nodeCrypto.schemes).to.not.include.members([0x0904])
  })

  it('noble verifies 64 OpenSSL P-256 signatures, high-s ones included', async () => {
    const pki = await testPki('p256')
    const key = nodeCrypto.importPrivateKey(pki.user.keyPem)
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
    let highS = 0
    for (let i = 0; i < 64; i++) {
      const content = enc(`message ${i}`)
      const sig = nodeCrypto.sign(0x0403, key, content)
      if (derS(sig) > n / 2n) highS++
      expect(nobleCrypto.verify(0x0403, pki.user.certDer, content, sig), `signature ${i}`).to.equal(
        true,
      )
    }
    // With 64 random signatures, about half have s > n/2; none would mean the test proves nothing.
    expect(highS).to.be.greaterThan(0)
  })

  describe('rejects', () => {
    for (const kt of SHARED_TYPES) {
      const info = KEY_INFO[kt]
      const scheme = schemesForKey(info.keyType, info.curve)[0] as number
      for (const p of PROVIDERS) {
        it(`${schemeName(scheme)} in ${p.name}: wrong key, tampered content or signature`, async () => {
          const pki = await testPki(kt)
          const key = p.importPrivateKey(pki.user.keyPem)
          const content = enc('the signed content')
          const sig = p.sign(scheme, key, content)
          expect(p.verify(scheme, pki.user.certDer, content, sig)).to.equal(true)
          expect(p.verify(scheme, pki.device.certDer, content, sig)).to.equal(false)
          const badContent = content.slice()
          badContent[3] = (badContent[3] as number) ^ 1
          expect(p.verify(scheme, pki.user.certDer, badContent, sig)).to.equal(false)
          const badSig = sig.slice()
          badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 1
          expect(p.verify(scheme, pki.user.certDer, content, badSig)).to.equal(false)
        })

        it(`${schemeName(scheme)} in ${p.name}: malformed signatures are false, not errors`, async () => {
          const pki = await testPki(kt)
          const content = enc('x')
          const sig = p.sign(scheme, p.importPrivateKey(pki.user.keyPem), content)
          for (const bad of [new Uint8Array(0), sig.subarray(0, 5), new Uint8Array(200).fill(0x30)]) {
            expect(p.verify(scheme, pki.user.certDer, content, bad)).to.equal(false)
          }
        })
      }
    }

    for (const p of PROVIDERS) {
      it(`a scheme that does not fit the certificate key in ${p.name}`, async () => {
        const p256 = await testPki('p256')
        const ed = await testPki('ed25519')
        const content = enc('x')
        const sig = p.sign(0x0403, p.importPrivateKey(p256.user.keyPem), content)
        expect(p.verify(0x0503, p256.user.certDer, content, sig)).to.equal(false)
        expect(p.verify(0x0807, p256.user.certDer, content, sig)).to.equal(false)
        const edSig = p.sign(0x0807, p.importPrivateKey(ed.user.keyPem), content)
        expect(p.verify(0x0403, ed.user.certDer, content, edSig)).to.equal(false)
      })
    }
  })

  describe('RSA-PSS (node provider)', () => {
    it('tells rsaEncryption from id-RSASSA-PSS keys, in certificates and private keys', async () => {
      const rsa = await testPki('rsa')
      const pss = await testPki('rsa-pss')
      for (const p of PROVIDERS) {
        expect(p.publicKeyInfo(rsa.user.certDer)).to.deep.equal({ keyType: 'rsa' })
        expect(p.publicKeyInfo(pss.user.certDer)).to.deep.equal({ keyType: 'rsa-pss' })
      }
      const rk = nodeCrypto.importPrivateKey(rsa.user.keyPem)
      const pk = nodeCrypto.importPrivateKey(pss.user.keyPem)
      expect(rk.keyType).to.equal('rsa')
      expect(rk.schemes).to.deep.equal([0x0804, 0x0805, 0x0806])
      expect(pk.keyType).to.equal('rsa-pss')
      expect(pk.schemes).to.deep.equal([0x0809, 0x080a, 0x080b])
    })

    for (const [kt, schemes] of [
      ['rsa', [0x0804, 0x0805, 0x0806]],
      ['rsa-pss', [0x0809, 0x080a, 0x080b]],
    ] as const) {
      for (const scheme of schemes) {
        it(`signs and verifies ${schemeName(scheme)}`, async () => {
          const pki = await testPki(kt)
          const content = enc('pss content')
          const sig = nodeCrypto.sign(scheme, nodeCrypto.importPrivateKey(pki.user.keyPem), content)
          expect(sig.length).to.equal(256)
          expect(nodeCrypto.verify(scheme, pki.user.certDer, content, sig)).to.equal(true)
          expect(nodeCrypto.verify(scheme, pki.user.certDer, enc('other'), sig)).to.equal(false)
        })
      }
    }

    it('requires salt length = hash length when verifying rsa_pss_rsae_sha256', async () => {
      const pki = await testPki('rsa')
      const key = createPrivateKey(pki.user.keyPem)
      const content = enc('salted')
      const withSalt = (saltLength: number): Uint8Array =>
        opensslSign('sha256', content, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength })
      expect(nodeCrypto.verify(0x0804, pki.user.certDer, content, withSalt(32))).to.equal(true)
      expect(nodeCrypto.verify(0x0804, pki.user.certDer, content, withSalt(0))).to.equal(false)
      expect(nodeCrypto.verify(0x0804, pki.user.certDer, content, withSalt(20))).to.equal(false)
      expect(nodeCrypto.verify(0x0804, pki.user.certDer, content, withSalt(64))).to.equal(false)
      // PKCS#1 v1.5 with the same hash must not pass as PSS either.
      const v15 = opensslSign('sha256', content, key)
      expect(nodeCrypto.verify(0x0804, pki.user.certDer, content, v15)).to.equal(false)
    })

    it('does not verify an rsae signature against an id-RSASSA-PSS certificate', async () => {
      const pss = await testPki('rsa-pss')
      const content = enc('x')
      const sig = nodeCrypto.sign(0x0809, nodeCrypto.importPrivateKey(pss.user.keyPem), content)
      expect(nodeCrypto.verify(0x0809, pss.user.certDer, content, sig)).to.equal(true)
      expect(nodeCrypto.verify(0x0804, pss.user.certDer, content, sig)).to.equal(false)
    })

    it('offers only the hash an RSASSA-PSS key is restricted to', () => {
      // @types/node 20 types saltLength as a string; node wants a number.
      const options = { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384', saltLength: 48 }
      const { privateKey } = generateKeyPairSync(
        'rsa-pss',
        options as unknown as RSAPSSKeyPairKeyObjectOptions,
      )
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      const key = nodeCrypto.importPrivateKey(pem)
      expect(key.schemes).to.deep.equal([0x080a])
      expect(nodeCrypto.sign(0x080a, key, enc('x')).length).to.equal(256)
      expect(codeOf(() => nodeCrypto.sign(0x0809, key, enc('x')))).to.equal('ERR_SC_USAGE')
    })

    it('noble reports RSA schemes as unsupported rather than false', async () => {
      const pki = await testPki('rsa')
      const content = enc('x')
      const sig = nodeCrypto.sign(0x0804, nodeCrypto.importPrivateKey(pki.user.keyPem), content)
      expect(codeOf(() => nobleCrypto.verify(0x0804, pki.user.certDer, content, sig))).to.equal(
        'ERR_SC_UNSUPPORTED',
      )
      expect(codeOf(() => nobleCrypto.importPrivateKey(pki.user.keyPem))).to.equal(
        'ERR_SC_UNSUPPORTED',
      )
    })
  })

  describe('sign refuses misuse', () => {
    for (const p of PROVIDERS) {
      it(`${p.name}: scheme/key mismatch, non-TLS 1.3 schemes, foreign keys -> ERR_SC_USAGE`, async () => {
        const p256 = p.importPrivateKey((await testPki('p256')).user.keyPem)
        const ed = p.importPrivateKey((await testPki('ed25519')).user.keyPem)
        const c = enc('x')
        expect(codeOf(() => p.sign(0x0503, p256, c))).to.equal('ERR_SC_USAGE')
        expect(codeOf(() => p.sign(0x0807, p256, c))).to.equal('ERR_SC_USAGE')
        expect(codeOf(() => p.sign(0x0403, ed, c))).to.equal('ERR_SC_USAGE')
        expect(codeOf(() => p.sign(0x0808, ed, c))).to.equal('ERR_SC_USAGE')
        expect(codeOf(() => p.sign(0x0401, p256, c))).to.equal('ERR_SC_USAGE')
        expect(codeOf(() => p.sign(0x0203, p256, c))).to.equal('ERR_SC_USAGE')
        const other = p === nodeCrypto ? nobleCrypto : nodeCrypto
        const foreign = other.importPrivateKey((await testPki('p256')).user.keyPem)
        expect(codeOf(() => p.sign(0x0403, foreign, c))).to.equal('ERR_SC_USAGE')
      })
    }

    it('node: an rsa key cannot sign rsa_pss_pss and an rsa-pss key cannot sign rsae', async () => {
      const rsa = nodeCrypto.importPrivateKey((await testPki('rsa')).user.keyPem)
      const pss = nodeCrypto.importPrivateKey((await testPki('rsa-pss')).user.keyPem)
      expect(codeOf(() => nodeCrypto.sign(0x0809, rsa, enc('x')))).to.equal('ERR_SC_USAGE')
      expect(codeOf(() => nodeCrypto.sign(0x0804, pss, enc('x')))).to.equal('ERR_SC_USAGE')
      expect(codeOf(() => nodeCrypto.sign(0x0401, rsa, enc('x')))).to.equal('ERR_SC_USAGE')
    })
  })

  describe('importPrivateKey', () => {
    for (const p of PROVIDERS) {
      for (const kt of ['p256', 'p521', 'ed25519', 'ed448'] as const) {
        it(`${p.name} reads ${kt} keys as PKCS#8 PEM, PKCS#8 DER${kt.startsWith('p') ? ' and SEC1 PEM' : ''}`, async () => {
          const pki = await testPki(kt)
          const node = createPrivateKey(pki.user.keyPem)
          const forms: (string | Uint8Array)[] = [
            pki.user.keyPem,
            new Uint8Array(node.export({ type: 'pkcs8', format: 'der' })),
          ]
          if (kt.startsWith('p')) forms.push(node.export({ type: 'sec1', format: 'pem' }).toString())
          const scheme = schemesForKey(KEY_INFO[kt].keyType, KEY_INFO[kt].curve)[0] as number
          for (const form of forms) {
            const key = p.importPrivateKey(form)
            expect(key.provider).to.equal(p.name)
            expect(key.keyType).to.equal(KEY_INFO[kt].keyType)
            expect(key.curve).to.equal(KEY_INFO[kt].curve)
            expect(key.schemes).to.deep.equal([scheme])
            const sig = p.sign(scheme, key, enc('y'))
            expect(nodeCrypto.verify(scheme, pki.user.certDer, enc('y'), sig)).to.equal(true)
          }
        })
      }

      it(`${p.name} rejects bytes that are not a private key with ERR_SC_DECODE`, () => {
        expect(codeOf(() => p.importPrivateKey(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])))).to.equal(
          'ERR_SC_DECODE',
        )
        expect(codeOf(() => p.importPrivateKey('not a key'))).to.equal('ERR_SC_DECODE')
      })
    }
  })

  describe('digest and hmac known answers', () => {
    const DIGESTS: [HashName, string][] = [
      ['sha256', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        'sha384',
        'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed' +
          '8086072ba1e7cc2358baeca134c825a7',
      ],
      [
        'sha512',
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
          '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      ],
    ]
    // RFC 4231 §4.2 (test case 1) and §4.3 (test case 2).
    const HMACS: [string, HashName, Uint8Array, Uint8Array, string][] = [
      [
        'RFC 4231 case 1',
        'sha256',
        new Uint8Array(20).fill(0x0b),
        enc('Hi There'),
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      ],
      [
        'RFC 4231 case 1',
        'sha384',
        new Uint8Array(20).fill(0x0b),
        enc('Hi There'),
        'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c' +
          'faea9ea9076ede7f4af152e8b2fa9cb6',
      ],
      [
        'RFC 4231 case 2',
        'sha256',
        enc('Jefe'),
        enc('what do ya want for nothing?'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [
        'RFC 4231 case 2',
        'sha384',
        enc('Jefe'),
        enc('what do ya want for nothing?'),
        'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e' +
          '8e2240ca5e69e2c78b3239ecfab21649',
      ],
    ]
    for (const p of PROVIDERS) {
      for (const [hash, want] of DIGESTS) {
        it(`${p.name} ${hash}("abc")`, () => {
          expect(toHex(p.digest(hash, enc('abc')))).to.equal(want)
        })
      }
      for (const [name, hash, key, data, want] of HMACS) {
        it(`${p.name} HMAC-${hash} ${name}`, () => {
          expect(toHex(p.hmac(hash, key, data))).to.equal(want)
        })
      }
    }
  })

  describe('digestParts', () => {
    for (const p of PROVIDERS) {
      it(`${p.name} hashes the parts as if concatenated`, () => {
        const parts = [enc('ab'), new Uint8Array(0), enc('c')]
        for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
          expect(toHex(p.digestParts(hash, parts))).to.equal(toHex(p.digest(hash, enc('abc'))))
        }
        expect(toHex(p.digestParts('sha256', []))).to.equal(toHex(p.digest('sha256', new Uint8Array(0))))
      })
    }
  })

  describe('equal and randomBytes', () => {
    for (const p of PROVIDERS) {
      it(`${p.name} compares bytes and lengths`, () => {
        expect(p.equal(fromHex('0102'), fromHex('0102'))).to.equal(true)
        expect(p.equal(fromHex('0102'), fromHex('0103'))).to.equal(false)
        expect(p.equal(fromHex('0102'), fromHex('010200'))).to.equal(false)
        expect(p.equal(new Uint8Array(0), new Uint8Array(0))).to.equal(true)
      })

      it(`${p.name} returns n fresh random bytes`, () => {
        const a = p.randomBytes(32)
        const b = p.randomBytes(32)
        expect(a.length).to.equal(32)
        expect(toHex(a)).to.not.equal(toHex(b))
      })
    }
  })

  describe('publicKeyInfo', () => {
    for (const p of PROVIDERS) {
      it(`${p.name}: bytes that are not a DER certificate -> ERR_SC_DECODE`, async () => {
        const pki = await testPki('p256')
        const garbage = [
          new Uint8Array(0),
          fromHex('00'),
          fromHex('3003020101'),
          Uint8Array.from(Buffer.from('garbage bytes, not a certificate')),
          pki.user.certDer.subarray(0, pki.user.certDer.length - 10),
          Uint8Array.from(Buffer.from(pki.user.certPem)),
        ]
        for (const g of garbage) {
          expect(codeOf(() => p.publicKeyInfo(g)), toHex(g.subarray(0, 8))).to.equal('ERR_SC_DECODE')
          expect(codeOf(() => p.verify(0x0403, g, enc('x'), new Uint8Array(64)))).to.equal(
            'ERR_SC_DECODE',
          )
        }
      })

      it(`${p.name}: a certificate whose EC point is not on the curve -> ERR_SC_DECODE`, async () => {
        const pki = await testPki('p256')
        const der = Buffer.from(pki.user.certDer)
        const point = createPublicKey(pki.user.keyPem)
          .export({ type: 'spki', format: 'der' })
          .subarray(-65)
        const at = der.indexOf(point)
        expect(at).to.be.greaterThan(0)
        const bad = Uint8Array.from(der)
        bad[at + 10] = (bad[at + 10] as number) ^ 0x01
        expect(codeOf(() => p.publicKeyInfo(bad))).to.equal('ERR_SC_DECODE')
      })

      it(`${p.name}: reads a SEC1 key preceded by an EC PARAMETERS block`, async () => {
        const pki = await testPki('p256')
        const sec1 = createPrivateKey(pki.user.keyPem).export({ type: 'sec1', format: 'pem' })
        const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n'
        const key = p.importPrivateKey(params + sec1.toString())
        const sig = p.sign(0x0403, key, enc('z'))
        expect(nodeCrypto.verify(0x0403, pki.user.certDer, enc('z'), sig)).to.equal(true)
      })

      it(`${p.name}: the same certificate in another buffer gives the same answer`, async () => {
        const pki = await testPki('p384')
        const copy = new Uint8Array(pki.server.certDer.length + 7)
        copy.set(pki.server.certDer, 7)
        expect(p.publicKeyInfo(copy.subarray(7))).to.deep.equal({ keyType: 'ec', curve: 'P-384' })
        expect(p.publicKeyInfo(pki.server.certDer)).to.deep.equal({ keyType: 'ec', curve: 'P-384' })
      })
    }
  })
})

/** The s value of a DER ECDSA-Sig-Value (RFC 3279 §2.2.3). */
function derS(sig: Uint8Array): bigint {
  let pos = 2 // SEQUENCE, short length (P-256 signatures are < 128 bytes)
  const rLen = sig[pos + 1] as number
  pos += 2 + rLen
  const sLen = sig[pos + 1] as number
  return BigInt('0x' + toHex(sig.subarray(pos + 2, pos + 2 + sLen)))
}
