import { expect } from 'chai'
import { X509Certificate, verify as bareVerify } from 'node:crypto'
import { createNodeProvider } from '../../lib/crypto/node-provider.js'
import { testPki } from '../support/pki.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('crypto/node-provider', function () {
  this.timeout(30_000)

  for (const cacheSize of [0, 2]) {
    it(`verifies correctly with a cache of ${cacheSize} across more certificates than it holds`, async () => {
      const pki = await testPki('p256')
      const p = createNodeProvider({ cacheSize })
      const creds = [pki.server, pki.device, pki.user, pki.origin2]
      for (let round = 0; round < 3; round++) {
        for (const c of creds) {
          const sig = p.sign(0x0403, p.importPrivateKey(c.keyPem), enc(c.subject))
          expect(p.publicKeyInfo(c.certDer)).to.deep.equal({ keyType: 'ec', curve: 'P-256' })
          expect(p.verify(0x0403, c.certDer, enc(c.subject), sig)).to.equal(true)
          // Another certificate's key must never be served from the cache.
          const other = creds[(creds.indexOf(c) + 1) % creds.length]!
          expect(p.verify(0x0403, other.certDer, enc(c.subject), sig)).to.equal(false)
        }
      }
    })
  }

  // Issue 2: the verify path (publicKeyInfo + verify, as ea/validate calls them) within 1.15× of
  // crypto.verify with a cached KeyObject. Timing-dependent, so @slow (not in the default run).
  for (const [kt, scheme, hash] of [
    ['p256', 0x0403, 'sha256'],
    ['ed25519', 0x0807, null],
  ] as const) {
    it(`@slow ${kt}: cached verify costs at most 1.15x bare crypto.verify`, async () => {
      const pki = await testPki(kt)
      const p = createNodeProvider()
      const content = enc('x'.repeat(130))
      const sig = p.sign(scheme, p.importPrivateKey(pki.user.keyPem), content)
      const key = new X509Certificate(pki.user.certDer).publicKey
      const bareKey = hash ? { key, dsaEncoding: 'der' as const } : key
      const N = 2000
      const time = (f: () => void): number => {
        const t = process.hrtime.bigint()
        for (let i = 0; i < N; i++) f()
        return Number(process.hrtime.bigint() - t)
      }
      const ratios: number[] = []
      for (let round = 0; round < 7; round++) {
        const bare = time(() => bareVerify(hash, content, bareKey, sig))
        const ours = time(() => {
          p.publicKeyInfo(pki.user.certDer)
          p.verify(scheme, pki.user.certDer, content, sig)
        })
        ratios.push(ours / bare)
      }
      ratios.sort((a, b) => a - b)
      expect(ratios[3]).to.be.below(1.15)
    })
  }
})
