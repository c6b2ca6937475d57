import { expect } from 'chai'
import { createPrivateKey } from 'node:crypto'
import { loadCredential, pemToDerChain } from '../../lib/binding/credentials.js'
import { createSecureServer } from '../../lib/binding/attach-server.js'
import { connect } from '../../lib/binding/attach-client.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { defaultCrypto } from '../../lib/crypto/default-provider.js'
import type { CryptoProvider } from '../../lib/crypto/provider.js'
import { PKI_KEY_TYPES, isMlDsaKeyType, issueCertificate } from '../../lib/pki/test-pki.js'
import type { PkiKeyType } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'

/** Runs `f` and returns the thrown error's code and message (fails when nothing is thrown). */
function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f()
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: (e as Error).message }
  }
  expect.fail('expected a throw')
}

/** The key type whose key is used as the "wrong key" for `t` (same family when possible). */
const OTHER: Record<PkiKeyType, PkiKeyType> = {
  p256: 'p384',
  p384: 'p256',
  p521: 'p256',
  ed25519: 'ed448',
  ed448: 'ed25519',
  rsa: 'rsa-pss',
  'rsa-pss': 'rsa',
  mldsa44: 'mldsa65',
  mldsa65: 'mldsa87',
  mldsa87: 'mldsa44',
}

/** node:crypto signs every classical type; ML-DSA needs the default provider on Node 20. */
const providerFor = (t: PkiKeyType): CryptoProvider => (isMlDsaKeyType(t) ? defaultCrypto : nodeCrypto)

describe('binding/credentials', function () {
  this.timeout(30_000)

  describe('loadCredential key/certificate match', () => {
    for (const t of PKI_KEY_TYPES) {
      it(`accepts a matching ${t} key and certificate`, async () => {
        const pki = await testPki(t)
        const c = loadCredential({ cert: pki.user.chainPem, key: pki.user.keyPem }, providerFor(t), 'user')
        expect(c.label).to.equal('user')
        expect(c.chain).to.have.length(2)
      })

      it(`rejects a ${t} certificate with another ${t} key, naming the label`, async () => {
        const pki = await testPki(t)
        const e = thrown(() => loadCredential({ cert: pki.user.chainPem, key: pki.device.keyPem }, providerFor(t), 'user'))
        expect(e.code).to.equal('ERR_SC_USAGE')
        expect(e.message).to.match(/credential 'user'/)
        expect(e.message).to.match(/does not match/)
      })

      it(`rejects a ${t} certificate with a ${OTHER[t]} key`, async () => {
        const [pki, other] = await Promise.all([testPki(t), testPki(OTHER[t])])
        const e = thrown(() => loadCredential({ cert: pki.user.chainPem, key: other.user.keyPem }, providerFor(t), 'u'))
        expect(e.code).to.equal('ERR_SC_USAGE')
      })
    }

    it('accepts a PKCS#8 DER key and DER chain', async () => {
      const pki = await testPki('p256')
      const der = createPrivateKey(pki.user.keyPem).export({ type: 'pkcs8', format: 'der' })
      const c = loadCredential({ cert: pki.user.chainDer, key: new Uint8Array(der) }, nodeCrypto, 'user')
      expect(c.leaf.subject).to.match(/CN=user/)
      const e = thrown(() => loadCredential({ cert: pki.device.chainDer, key: new Uint8Array(der) }, nodeCrypto, 'device'))
      expect(e.code).to.equal('ERR_SC_USAGE')
    })

    it('says which key type was given for which certificate type', async () => {
      const [rsa, pss] = await Promise.all([testPki('rsa'), testPki('rsa-pss')])
      const e = thrown(() => loadCredential({ cert: pss.user.chainPem, key: rsa.user.keyPem }, nodeCrypto, 'user'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/a rsa key for a rsa-pss certificate/)
    })

    it('checks with the noble provider too', async () => {
      const pki = await testPki('p256')
      loadCredential({ cert: pki.user.chainPem, key: pki.user.keyPem }, nobleCrypto, 'user')
      const e = thrown(() => loadCredential({ cert: pki.user.chainPem, key: pki.origin2.keyPem }, nobleCrypto, 'user'))
      expect(e.code).to.equal('ERR_SC_USAGE')
    })

    it('checks a key only the provider can read by signing and verifying against the certificate', async () => {
      // A provider whose key format node:crypto cannot parse (as ML-DSA keys on Node 20).
      const wrapped: CryptoProvider = {
        ...nodeCrypto,
        importPrivateKey: (k) => nodeCrypto.importPrivateKey(Buffer.from(String(k).slice('WRAPPED:'.length), 'base64').toString()),
      }
      const wrap = (pem: string): string => `WRAPPED:${Buffer.from(pem).toString('base64')}`
      const pki = await testPki('p256')
      loadCredential({ cert: pki.user.chainPem, key: wrap(pki.user.keyPem) }, wrapped, 'user')
      const e = thrown(() => loadCredential({ cert: pki.user.chainPem, key: wrap(pki.device.keyPem) }, wrapped, 'user'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'user': the private key does not match/)
    })

    it('rejects an unreadable key with ERR_SC_USAGE naming the label', async () => {
      const pki = await testPki('p256')
      const e = thrown(() => loadCredential({ cert: pki.user.chainPem, key: 'not a key' }, nodeCrypto, 'user'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'user' key/)
    })

    it('rejects a certificate without PEM blocks naming the label', async () => {
      const pki = await testPki('p256')
      const e = thrown(() => loadCredential({ cert: 'hello', key: pki.user.keyPem }, nodeCrypto, 'device'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'device' certificate: no PEM certificate found/)
    })

    it('rejects DER bytes that are not a certificate naming the label', async () => {
      const pki = await testPki('p256')
      const e = thrown(() => loadCredential({ cert: [new Uint8Array([0x30, 0x03, 1, 2, 3])], key: pki.user.keyPem }, nodeCrypto, 'x'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'x' certificate/)
    })

    it('accepts a certificate issued for an existing key (keyPem)', async () => {
      const pki = await testPki('ed25519')
      const again = await issueCertificate({ subject: 'CN=again', keyPem: pki.user.keyPem, issuer: pki.intermediate })
      loadCredential({ cert: again.chainPem, key: pki.user.keyPem }, nodeCrypto, 'again')
    })

    it('pemToDerChain names what it was reading', () => {
      const e = thrown(() => pemToDerChain('', 'CA file ca.pem'))
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.equal('CA file ca.pem: no PEM certificate found')
    })
  })

  describe('at server and client start', () => {
    it('createSecureServer refuses a secondary server certificate with the wrong key', async () => {
      const pki = await testPki('p256')
      const e = thrown(() =>
        createSecureServer({
          cert: pki.server.chainPem,
          key: pki.server.keyPem,
          secondaryCerts: { serverCertificates: [{ cert: pki.origin2.chainPem, key: pki.device.keyPem }] },
        }),
      )
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'server-1'/)
    })

    it('connect refuses a client credential with the wrong key before dialling', async () => {
      const pki = await testPki('p256')
      const e = thrown(() =>
        connect('https://127.0.0.1:1', {
          ca: pki.caPem,
          secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.device.keyPem }] },
        }),
      )
      expect(e.code).to.equal('ERR_SC_USAGE')
      expect(e.message).to.match(/credential 'user'/)
    })
  })
})
