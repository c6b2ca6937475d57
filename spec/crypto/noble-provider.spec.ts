import { expect } from 'chai'
import { createPrivateKey } from 'node:crypto'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { testPki } from '../support/pki.js'

function codeOf(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return (e as { code?: unknown }).code
  }
  return 'did not throw'
}

describe('crypto/noble-provider', function () {
  this.timeout(20_000)

  for (const kt of ['p384', 'ed448'] as const) {
    it(`${kt}: every truncated prefix of a PKCS#8 key -> ERR_SC_DECODE`, async () => {
      const pki = await testPki(kt)
      const der = new Uint8Array(createPrivateKey(pki.user.keyPem).export({ type: 'pkcs8', format: 'der' }))
      expect(nobleCrypto.importPrivateKey(der).keyType).to.equal(kt === 'ed448' ? 'ed448' : 'ec')
      for (let n = 0; n < der.length; n++) {
        expect(codeOf(() => nobleCrypto.importPrivateKey(der.subarray(0, n))), `prefix ${n}`).to.equal(
          'ERR_SC_DECODE',
        )
      }
      const trailing = new Uint8Array(der.length + 1)
      trailing.set(der)
      expect(codeOf(() => nobleCrypto.importPrivateKey(trailing))).to.equal('ERR_SC_DECODE')
    })
  }

  it('every truncated prefix of a certificate -> ERR_SC_DECODE in both providers', async () => {
    const pki = await testPki('p256')
    const der = pki.user.certDer
    for (let n = 0; n < der.length; n += 7) {
      for (const p of [nobleCrypto, nodeCrypto]) {
        expect(codeOf(() => p.publicKeyInfo(der.subarray(0, n))), `${p.name} prefix ${n}`).to.equal(
          'ERR_SC_DECODE',
        )
      }
    }
  })

  it('signs ECDSA with fresh randomness (two signatures of one message differ)', async () => {
    const pki = await testPki('p256')
    const key = nobleCrypto.importPrivateKey(pki.user.keyPem)
    const m = new Uint8Array([1, 2, 3])
    const a = nobleCrypto.sign(0x0403, key, m)
    const b = nobleCrypto.sign(0x0403, key, m)
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(false)
    expect(nodeCrypto.verify(0x0403, pki.user.certDer, m, a)).to.equal(true)
  })
})
