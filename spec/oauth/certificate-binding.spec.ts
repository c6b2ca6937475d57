import { expect } from 'chai'
import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { checkCertificateBinding, decodeX5tS256, x5tS256 } from '../../lib/oauth/certificate-binding.js'
import { makeCert, type MadeCert } from './support.js'

const APPENDIX_A = JSON.parse(readFileSync(new URL('./rfc8705-appendix-a.json', import.meta.url), 'utf8')) as {
  pem: string
  x5tS256: string
}

describe('oauth/certificate-binding', () => {
  let handshake: MadeCert
  let device: MadeCert
  let user: MadeCert
  let stranger: MadeCert
  before(async () => {
    ;[handshake, device, user, stranger] = await Promise.all([makeCert(), makeCert(), makeCert(), makeCert()])
  })
  const cnf = (c: MadeCert): { cnf: { 'x5t#S256': string } } => ({ cnf: { 'x5t#S256': x5tS256(c.der) } })

  describe('x5tS256', () => {
    it('reproduces the RFC 8705 Appendix A thumbprint', () => {
      const der = new X509Certificate(APPENDIX_A.pem).raw
      expect(x5tS256(new Uint8Array(der))).to.equal(APPENDIX_A.x5tS256)
    })

    it('is unpadded base64url of SHA-256 over the DER', async () => {
      const t = x5tS256(handshake.der)
      expect(t).to.match(/^[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(t, 'base64url').equals(createHash('sha256').update(handshake.der).digest())).to.equal(true)
    })
  })

  describe('decodeX5tS256', () => {
    it('decodes a canonical value to 32 bytes', () => {
      expect(decodeX5tS256(APPENDIX_A.x5tS256)?.length).to.equal(32)
    })
    it('rejects padding, standard-base64 characters, wrong lengths, non-canonical last characters and non-strings', () => {
      const v = APPENDIX_A.x5tS256
      expect(decodeX5tS256(v + '=')).to.equal(undefined)
      expect(decodeX5tS256(v.slice(0, 42))).to.equal(undefined)
      expect(decodeX5tS256('+' + v.slice(1))).to.equal(undefined)
      expect(decodeX5tS256(v.slice(0, 42) + '1')).to.equal(undefined) // low bits set
      expect(decodeX5tS256(` ${v}`)).to.equal(undefined)
      expect(decodeX5tS256(42)).to.equal(undefined)
    })
  })

  describe('checkCertificateBinding', () => {
    it('accepts a token bound to the handshake certificate', () => {
      for (const accept of ['handshake', 'any'] as const) {
        const r = checkCertificateBinding(cnf(handshake), { handshake: handshake.der, secondary: [device.der] }, { accept })
        expect(r.ok && r.matched, accept).to.equal('handshake')
      }
    })

    it('accepts a token bound to a secondary certificate with accept secondary or any, naming its index', () => {
      for (const accept of ['secondary', 'any'] as const) {
        const r = checkCertificateBinding(cnf(user), { handshake: handshake.der, secondary: [device.der, user.der] }, { accept })
        expect(r.ok, accept).to.equal(true)
        if (r.ok && r.matched === 'secondary') {
          expect(r.index).to.equal(1)
          expect(r.certificate).to.equal(user.der)
          expect(r.thumbprint).to.equal(x5tS256(user.der))
        } else expect.fail('expected a secondary match')
      }
    })

    it('rejects with mismatch under accept handshake when only a secondary certificate matches', () => {
      const r = checkCertificateBinding(cnf(user), { handshake: handshake.der, secondary: [user.der] }, { accept: 'handshake' })
      expect(r).to.deep.equal({ ok: false, reason: 'mismatch' })
    })

    it('rejects with mismatch under accept secondary when only the handshake certificate matches', () => {
      const r = checkCertificateBinding(cnf(handshake), { handshake: handshake.der, secondary: [user.der] }, { accept: 'secondary' })
      expect(r).to.deep.equal({ ok: false, reason: 'mismatch' })
    })

    it('rejects a token bound to a certificate not on the connection', () => {
      const r = checkCertificateBinding(cnf(stranger), { handshake: handshake.der, secondary: [device.der, user.der] }, { accept: 'any' })
      expect(r).to.deep.equal({ ok: false, reason: 'mismatch' })
    })

    it('reports no-certificate when no certificate of an accepted kind exists', () => {
      expect(checkCertificateBinding(cnf(user), { secondary: [user.der] }, { accept: 'handshake' })).to.deep.equal({
        ok: false,
        reason: 'no-certificate',
      })
      expect(checkCertificateBinding(cnf(user), { handshake: undefined, secondary: [] }, { accept: 'any' })).to.deep.equal({
        ok: false,
        reason: 'no-certificate',
      })
    })

    it('reports no-cnf for a token without cnf or without x5t#S256', () => {
      const certs = { handshake: handshake.der, secondary: [] }
      expect(checkCertificateBinding({}, certs, { accept: 'any' })).to.deep.equal({ ok: false, reason: 'no-cnf' })
      expect(checkCertificateBinding({ cnf: { jkt: 'x' } }, certs, { accept: 'any' })).to.deep.equal({ ok: false, reason: 'no-cnf' })
    })

    it('reports malformed-cnf for a cnf that is not an object or a thumbprint in the wrong form', () => {
      const certs = { handshake: handshake.der, secondary: [] }
      const padded = { cnf: { 'x5t#S256': x5tS256(handshake.der) + '=' } }
      const hex = { cnf: { 'x5t#S256': createHash('sha256').update(handshake.der).digest('hex') } }
      for (const claims of [{ cnf: 'x' }, { cnf: [] }, padded, hex, { cnf: { 'x5t#S256': 7 } }]) {
        expect(checkCertificateBinding(claims, certs, { accept: 'any' })).to.deep.equal({ ok: false, reason: 'malformed-cnf' })
      }
    })
  })
})
