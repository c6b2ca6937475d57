import { expect } from 'chai'
import { ErrorCode } from '../../lib/errors.js'
import { issueCertificate } from '../../lib/pki/test-pki.js'
import { decodeOid, encodeOid, nameKey, readTlv } from '../../lib/policy/der.js'
import { parseCertificate, pemCertificates } from '../../lib/policy/parsed-cert.js'
import { EKU, NOT_BEFORE, T0, leaf, root } from '../support/certs.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const codeOf = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return (e as { code?: unknown }).code
  }
  return 'no error'
}

describe('policy/der', function () {
  this.timeout(20_000)

  describe('OIDs', () => {
    it('encodes the EKU digest identifiers byte for byte (§1)', () => {
      expect(hex(encodeOid('1.3.6.1.5.5.7.3.1'))).to.equal('2b06010505070301')
      expect(hex(encodeOid('1.3.6.1.5.5.7.3.2'))).to.equal('2b06010505070302')
      expect(hex(encodeOid('2.5.29.37.0'))).to.equal('551d2500')
      expect(hex(encodeOid('2.5.29.37'))).to.equal('551d25')
    })

    it('round-trips arcs beyond 2^53 (UUID OIDs)', () => {
      const oid = '2.25.329800735698586629295641978511506172918'
      expect(decodeOid(encodeOid(oid))).to.equal(oid)
    })

    it('rejects malformed OID text and bytes with ERR_SC_DECODE', () => {
      expect(codeOf(() => encodeOid('3.1'))).to.equal(ErrorCode.DECODE)
      expect(codeOf(() => encodeOid('1.40'))).to.equal(ErrorCode.DECODE)
      expect(codeOf(() => decodeOid(Uint8Array.from([0x2b, 0x86])))).to.equal(ErrorCode.DECODE)
      expect(codeOf(() => decodeOid(Uint8Array.from([0x80, 0x01])))).to.equal(ErrorCode.DECODE)
    })
  })

  describe('TLV', () => {
    it('rejects non-minimal and overlong lengths', () => {
      expect(codeOf(() => readTlv(Uint8Array.from([0x30, 0x81, 0x05, 0, 0, 0, 0, 0]), 0))).to.equal(ErrorCode.DECODE)
      expect(codeOf(() => readTlv(Uint8Array.from([0x30, 0x05, 0]), 0))).to.equal(ErrorCode.DECODE)
    })
  })

  describe('names', () => {
    it('compares names case-insensitively with whitespace collapsed (RFC 5280 §7.1, simplified)', async () => {
      const a = await issueCertificate({ subject: 'CN=Example  CA, O=Org' })
      const b = await issueCertificate({ subject: 'CN=example ca, O=ORG' })
      const c = await issueCertificate({ subject: 'CN=example ca2, O=ORG' })
      const key = (d: Uint8Array): string => nameKey(parseCertificate(d).subjectDer)
      expect(key(a.certDer)).to.equal(key(b.certDer))
      expect(key(a.certDer)).to.not.equal(key(c.certDer))
    })
  })

  describe('parseCertificate', () => {
    it('decodes validity, basicConstraints, keyUsage, EKU and SANs', async () => {
      const ca = await root('Parse Root', 'p256', { basicConstraints: { ca: true, pathLen: 3 } })
      const l = await leaf('parsed', ca, { dnsNames: ['a.test'], ipAddresses: ['::1'], extKeyUsage: [EKU.serverAuth] })
      const p = parseCertificate(l.certDer)
      expect(p.notBefore.getTime()).to.equal(NOT_BEFORE.getTime())
      expect(p.eku).to.deep.equal([EKU.serverAuth])
      expect([...p.keyUsage!]).to.deep.equal(['digitalSignature'])
      expect(p.basicConstraints).to.deep.equal({ ca: false })
      expect(parseCertificate(ca.certDer).basicConstraints).to.deep.equal({ ca: true, pathLen: 3 })
      expect(p.subjectAltNames.map((n) => n.type)).to.deep.equal(['dns', 'ip'])
      expect(p.isSelfIssued).to.equal(false)
      expect(parseCertificate(ca.certDer).isSelfIssued).to.equal(true)
    })

    it('reads GeneralizedTime validity after 2049 (RFC 5280 §4.1.2.5)', async () => {
      const far = new Date('2070-06-01T00:00:00Z')
      const c = await issueCertificate({ subject: 'CN=far', notBefore: T0, notAfter: far })
      expect(parseCertificate(c.certDer).notAfter.getTime()).to.equal(far.getTime())
    })

    it('rejects a duplicated extension', async () => {
      const c = await issueCertificate({
        subject: 'CN=dup',
        extKeyUsage: [EKU.serverAuth],
        extensions: [{ oid: '2.5.29.37', critical: false, value: Uint8Array.from([0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 2]) }],
      })
      expect(codeOf(() => parseCertificate(c.certDer))).to.equal(ErrorCode.DECODE)
    })

    it('throws ERR_SC_DECODE for every truncated prefix of a certificate', async () => {
      const c = await issueCertificate({ subject: 'CN=trunc' })
      for (let n = 0; n < c.certDer.length; n += 7) {
        expect(codeOf(() => parseCertificate(c.certDer.subarray(0, n))), `prefix ${n}`).to.equal(ErrorCode.DECODE)
      }
    })

    it('splits PEM text into certificates and rejects text without one', async () => {
      const c = await issueCertificate({ subject: 'CN=pem' })
      expect(pemCertificates(c.certPem + c.certPem)).to.have.length(2)
      expect(codeOf(() => pemCertificates('nothing here'))).to.equal(ErrorCode.DECODE)
    })
  })
})
