import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { expect } from 'chai'
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeCrypto, opensslMlDsa } from '../../lib/crypto/node-provider.js'
import { verifyMlDsaCertificateSignature } from '../../lib/crypto/ml-dsa.js'
import { decodeCertFields } from '../../lib/policy/der.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import {
  EKU,
  PKI_KEY_TYPES,
  createTestPki,
  isMlDsaKeyType,
  issueCertificate,
  writeTestPki,
} from '../../lib/pki/test-pki.js'
import type { PkiKeyType, TestCredential } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'

const cert = (c: TestCredential): X509Certificate => new X509Certificate(c.certDer)
const spkiOf = (c: TestCredential): Uint8Array => decodeCertFields(c.certDer).spkiDer
const peculiar = (c: TestCredential): x509.X509Certificate =>
  new x509.X509Certificate(Uint8Array.from(c.certDer))

const EXPECTED: Record<PkiKeyType, { keyType: string; curve?: string; node: string }> = {
  p256: { keyType: 'ec', curve: 'P-256', node: 'ec' },
  p384: { keyType: 'ec', curve: 'P-384', node: 'ec' },
  p521: { keyType: 'ec', curve: 'P-521', node: 'ec' },
  ed25519: { keyType: 'ed25519', node: 'ed25519' },
  ed448: { keyType: 'ed448', node: 'ed448' },
  rsa: { keyType: 'rsa', node: 'rsa' },
  'rsa-pss': { keyType: 'rsa-pss', node: 'rsa-pss' },
  mldsa44: { keyType: 'ml-dsa-44', node: 'ml-dsa-44' },
  mldsa65: { keyType: 'ml-dsa-65', node: 'ml-dsa-65' },
  mldsa87: { keyType: 'ml-dsa-87', node: 'ml-dsa-87' },
}

describe('pki/test-pki', function () {
  this.timeout(20_000)

  describe('createTestPki (p256)', () => {
    it('gives each leaf the EKU, SAN and subject its role needs', async () => {
      const pki = await testPki('p256')
      const server = cert(pki.server)
      expect(server.keyUsage).to.deep.equal([EKU.serverAuth])
      expect(server.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1')
      expect(server.checkHost('localhost')).to.equal('localhost')
      expect(server.checkIP('127.0.0.1')).to.equal('127.0.0.1')
      const device = cert(pki.device)
      expect(device.keyUsage).to.deep.equal([EKU.serverAuth])
      expect(device.subject).to.match(/^CN=device-[0-9a-f]+$/m)
      const user = cert(pki.user)
      expect(user.keyUsage).to.deep.equal([EKU.clientAuth])
      expect(user.subjectAltName).to.equal('email:user@example.test')
      const origin2 = cert(pki.origin2)
      expect(origin2.keyUsage).to.deep.equal([EKU.serverAuth])
      expect(origin2.subjectAltName).to.equal('DNS:other.localhost')
      expect(origin2.checkHost('localhost')).to.equal(undefined)
    })

    it('builds root -> intermediate -> leaves with CA flags, pathLen 0 and key usages', async () => {
      const pki = await testPki('p256')
      const root = cert(pki.root)
      const inter = cert(pki.intermediate)
      expect(root.ca).to.equal(true)
      expect(root.subject).to.equal(root.issuer)
      expect(root.verify(root.publicKey)).to.equal(true)
      expect(inter.ca).to.equal(true)
      expect(inter.issuer).to.equal(root.subject)
      expect(inter.verify(root.publicKey)).to.equal(true)
      expect(inter.checkIssued(root)).to.equal(true)
      const bc = peculiar(pki.intermediate).getExtension(x509.BasicConstraintsExtension)
      expect(bc?.pathLength).to.equal(0)
      for (const ca of [pki.root, pki.intermediate]) {
        const ku = peculiar(ca).getExtension(x509.KeyUsagesExtension)
        expect(ku?.usages).to.equal(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)
      }
      for (const leaf of [pki.server, pki.device, pki.user, pki.origin2]) {
        const c = cert(leaf)
        expect(c.ca).to.equal(false)
        expect(c.issuer).to.equal(inter.subject)
        expect(c.verify(inter.publicKey)).to.equal(true)
        expect(c.verify(root.publicKey)).to.equal(false)
        const ku = peculiar(leaf).getExtension(x509.KeyUsagesExtension)
        expect(ku?.usages).to.equal(x509.KeyUsageFlags.digitalSignature)
      }
    })

    it('exposes chains leaf first, without the root, in PEM and DER', async () => {
      const pki = await testPki('p256')
      expect(pki.caPem).to.equal(pki.root.certPem)
      expect(pki.server.chainDer).to.have.length(2)
      expect(Buffer.from(pki.server.chainDer[0] as Uint8Array).equals(pki.server.certDer)).to.equal(true)
      expect(Buffer.from(pki.server.chainDer[1] as Uint8Array).equals(pki.intermediate.certDer)).to.equal(
        true,
      )
      expect(pki.server.chainPem).to.equal(pki.server.certPem + pki.intermediate.certPem)
      expect(pki.intermediate.chainDer).to.have.length(1)
      expect(pki.root.chainDer).to.have.length(1)
    })

    it('pairs each certificate with its private key (PKCS#8 PEM)', async () => {
      const pki = await testPki('p256')
      for (const c of [pki.root, pki.intermediate, pki.server, pki.device, pki.user, pki.origin2]) {
        expect(c.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----\n/)
        const fromKey = createPublicKey(createPrivateKey(c.keyPem)).export({ type: 'spki', format: 'der' })
        const fromCert = cert(c).publicKey.export({ type: 'spki', format: 'der' })
        expect(fromKey.equals(fromCert)).to.equal(true)
      }
    })

    it('dates certificates from the given now', async () => {
      const now = new Date('2030-06-01T12:00:00Z')
      const pki = await createTestPki({ keyType: 'ed25519', now })
      const leaf = cert(pki.server)
      expect(new Date(leaf.validFrom).getTime()).to.equal(now.getTime() - 3_600_000)
      expect(new Date(leaf.validTo).getTime()).to.be.greaterThan(now.getTime())
      expect(new Date(cert(pki.root).validTo).getTime()).to.be.greaterThan(
        new Date(leaf.validTo).getTime(),
      )
    })
  })

  describe('every key type', () => {
    for (const kt of PKI_KEY_TYPES) {
      it(`${kt}: leaves carry a ${EXPECTED[kt].keyType} key and chain to the root`, async () => {
        const pki = await testPki(kt)
        expect(pki.keyType).to.equal(kt)
        const leaf = cert(pki.user)
        expect(pki.user.keyType).to.equal(kt)
        if (isMlDsaKeyType(kt) && !opensslMlDsa()) {
          // OpenSSL 3.0 parses ML-DSA certificates but has no key type for them: check the
          // RFC 9881 signatures with noble instead (the OpenSSL ≥ 3.5 branch below does both).
          expect(verifyMlDsaCertificateSignature(pki.user.certDer, spkiOf(pki.intermediate))).to.equal(true)
          expect(verifyMlDsaCertificateSignature(pki.intermediate.certDer, spkiOf(pki.root))).to.equal(true)
        } else {
          expect(leaf.publicKey.asymmetricKeyType).to.equal(EXPECTED[kt].node)
          expect(leaf.verify(cert(pki.intermediate).publicKey)).to.equal(true)
          expect(cert(pki.intermediate).verify(cert(pki.root).publicKey)).to.equal(true)
        }
        const want = EXPECTED[kt].curve
          ? { keyType: EXPECTED[kt].keyType, curve: EXPECTED[kt].curve }
          : { keyType: EXPECTED[kt].keyType }
        // noble reports RSA key types too (it only cannot verify RSA signatures).
        if (!isMlDsaKeyType(kt) || opensslMlDsa()) {
          expect(nodeCrypto.publicKeyInfo(pki.user.certDer)).to.deep.equal(want)
        }
        expect(nobleCrypto.publicKeyInfo(pki.user.certDer)).to.deep.equal(want)
      })
    }

    it('rsa-pss: the CAs hold rsaEncryption keys', async () => {
      const pki = await testPki('rsa-pss')
      expect(pki.intermediate.keyType).to.equal('rsa')
      expect(cert(pki.root).publicKey.asymmetricKeyType).to.equal('rsa')
    })
  })

  describe('issueCertificate', () => {
    it('issues an expired certificate with arbitrary EKU OIDs', async () => {
      const pki = await testPki('p256')
      const c = await issueCertificate({
        subject: 'CN=expired',
        issuer: pki.intermediate,
        notBefore: new Date('2020-01-01T00:00:00Z'),
        notAfter: new Date('2020-02-01T00:00:00Z'),
        extKeyUsage: [EKU.codeSigning, '1.2.3.4.5'],
      })
      const n = cert(c)
      expect(n.keyUsage).to.deep.equal([EKU.codeSigning, '1.2.3.4.5'])
      expect(new Date(n.validTo).getTime()).to.equal(Date.parse('2020-02-01T00:00:00Z'))
      expect(n.verify(cert(pki.intermediate).publicKey)).to.equal(true)
      expect(c.chainDer).to.have.length(2)
    })

    it('leaves out EKU, keyUsage and basicConstraints unless asked', async () => {
      const c = await issueCertificate({ subject: 'CN=bare', keyType: 'ed25519' })
      const p = peculiar(c)
      expect(cert(c).keyUsage).to.equal(undefined)
      expect(p.getExtension(x509.KeyUsagesExtension)).to.equal(null)
      expect(p.getExtension(x509.BasicConstraintsExtension)).to.equal(null)
      expect(p.getExtension(x509.ExtendedKeyUsageExtension)).to.equal(null)
      // Self-signed: its own issuer, chain of one.
      expect(cert(c).verify(cert(c).publicKey)).to.equal(true)
      expect(c.chainDer).to.have.length(1)
    })

    it('issues a CA without keyCertSign and a sub-CA below a pathLen 0 CA', async () => {
      const pki = await testPki('p256')
      const noSign = await issueCertificate({
        subject: 'CN=CA without keyCertSign',
        issuer: pki.root,
        basicConstraints: { ca: true },
        keyUsage: ['digitalSignature'],
      })
      const ku = peculiar(noSign).getExtension(x509.KeyUsagesExtension)
      expect(ku?.usages).to.equal(x509.KeyUsageFlags.digitalSignature)
      const sub = await issueCertificate({
        subject: 'CN=sub CA',
        issuer: pki.intermediate,
        basicConstraints: { ca: true, pathLen: 3 },
        keyUsage: ['keyCertSign'],
      })
      const leaf = await issueCertificate({ subject: 'CN=deep leaf', issuer: sub })
      expect(leaf.chainDer).to.have.length(3)
      expect(cert(leaf).verify(cert(sub).publicKey)).to.equal(true)
      expect(peculiar(sub).getExtension(x509.BasicConstraintsExtension)?.pathLength).to.equal(3)
    })

    it('writes dNSName name constraints', async () => {
      const pki = await testPki('p256')
      const ca = await issueCertificate({
        subject: 'CN=constrained CA',
        issuer: pki.root,
        basicConstraints: { ca: true },
        keyUsage: ['keyCertSign'],
        nameConstraints: { permittedDns: ['example.test'], excludedDns: ['bad.example.test'] },
      })
      const ext = peculiar(ca).extensions.find((e) => e.type === '2.5.29.30')
      expect(ext?.critical).to.equal(true)
      const enc = (s: string): string => Buffer.from(s).toString('hex')
      // SEQUENCE { [0] { SEQUENCE { [2] "example.test" } }, [1] { SEQUENCE { [2] "bad..." } } }
      const permitted = `a010300e820c${enc('example.test')}`
      const excluded = `a11430128210${enc('bad.example.test')}`
      const want = `3028${permitted}${excluded}`
      expect(Buffer.from(ext?.value ?? new ArrayBuffer(0)).toString('hex')).to.equal(want)
    })

    it('certifies a given key and keeps SAN entries of every kind', async () => {
      const pki = await testPki('p384')
      const c = await issueCertificate({
        subject: 'CN=reuse',
        issuer: pki.intermediate,
        keyPem: pki.device.keyPem,
        dnsNames: ['a.test'],
        ipAddresses: ['::1'],
        emails: ['x@a.test'],
        uris: ['https://a.test/id'],
      })
      expect(c.keyType).to.equal('p384')
      expect(c.keyPem).to.equal(pki.device.keyPem)
      expect(cert(c).publicKey.equals(cert(pki.device).publicKey)).to.equal(true)
      expect(cert(c).subjectAltName).to.equal(
        'DNS:a.test, IP Address:0:0:0:0:0:0:0:1, email:x@a.test, URI:https://a.test/id',
      )
    })

    it('refuses an unreadable keyPem with ERR_SC_DECODE', async () => {
      let code: unknown
      try {
        await issueCertificate({ subject: 'CN=x', keyPem: 'nope' })
      } catch (e) {
        code = (e as { code?: unknown }).code
      }
      expect(code).to.equal('ERR_SC_DECODE')
    })
  })

  describe('options', () => {
    const code = async (p: Promise<unknown>): Promise<unknown> => {
      try {
        await p
      } catch (e) {
        return (e as { code?: unknown }).code
      }
      return 'settled without error'
    }

    it('rejects an unknown keyType with ERR_SC_USAGE at once', async () => {
      const t0 = Date.now()
      const bad = { keyType: 'foo' } as unknown as Parameters<typeof createTestPki>[0]
      expect(await code(createTestPki(bad))).to.equal('ERR_SC_USAGE')
      expect(await code(issueCertificate({ subject: 'CN=x', keyType: 'foo' as PkiKeyType }))).to.equal('ERR_SC_USAGE')
      expect(Date.now() - t0).to.be.lessThan(1000)
    })

    it('rejects a name that would not fit a DN, an invalid now and inverted leaf validity', async () => {
      expect(await code(createTestPki({ name: 'a, CN=b' }))).to.equal('ERR_SC_USAGE')
      expect(await code(createTestPki({ name: '' }))).to.equal('ERR_SC_USAGE')
      expect(await code(createTestPki({ now: new Date('nope') }))).to.equal('ERR_SC_USAGE')
      const notBefore = new Date('2030-01-02T00:00:00Z')
      const notAfter = new Date('2030-01-01T00:00:00Z')
      expect(await code(createTestPki({ leafValidity: { notBefore, notAfter } }))).to.equal('ERR_SC_USAGE')
      expect(await code(createTestPki({ leafValidity: { notAfter: new Date(NaN) } }))).to.equal('ERR_SC_USAGE')
    })

    it('gives each PKI its own CA names unless a name is passed', async () => {
      const [a, b, c, d] = await Promise.all([
        createTestPki(),
        createTestPki(),
        createTestPki({ name: 'fixed-1' }),
        createTestPki({ name: 'fixed-1' }),
      ])
      expect(a.root.subject).to.not.equal(b.root.subject)
      expect(a.intermediate.subject).to.not.equal(b.intermediate.subject)
      expect(a.root.subject).to.contain(a.name)
      // TestCredential.subject is the RFC 4514 string (issue 10 item 4).
      expect(c.root.subject).to.equal('CN=h2sc Test Root CA (p256) fixed-1,O=h2sc test')
      expect(d.root.subject).to.equal(c.root.subject)
      expect(d.intermediate.subject).to.equal('CN=h2sc Test Intermediate CA (p256) fixed-1,O=h2sc test')
      // A leaf of one PKI does not name the other's intermediate as its issuer.
      expect(cert(a.user).issuer).to.not.equal(cert(b.intermediate).subject)
    })

    it('applies leafValidity to device, user and origin2 but not to the TLS server certificate', async () => {
      const notBefore = new Date('2020-01-01T00:00:00Z')
      const notAfter = new Date('2020-02-01T00:00:00Z')
      const pki = await createTestPki({ leafValidity: { notBefore, notAfter } })
      for (const leaf of [pki.device, pki.user, pki.origin2]) {
        const c = cert(leaf)
        expect(new Date(c.validFrom).getTime()).to.equal(notBefore.getTime())
        expect(new Date(c.validTo).getTime()).to.equal(notAfter.getTime())
      }
      expect(new Date(cert(pki.server).validTo).getTime()).to.be.greaterThan(Date.now())
    })
  })

  describe('writeTestPki', () => {
    let dir = ''
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    it('writes the CA, the intermediate and each leaf with its key', async () => {
      const pki = await testPki('p256')
      dir = await mkdtemp(join(tmpdir(), 'h2sc-pki-'))
      const out = join(dir, 'nested')
      const written = await writeTestPki(pki, out)
      const names = [
        'ca.pem',
        'ca-key.pem',
        'intermediate.pem',
        'intermediate-key.pem',
        'server.pem',
        'server-key.pem',
        'device.pem',
        'device-key.pem',
        'user.pem',
        'user-key.pem',
        'origin2.pem',
        'origin2-key.pem',
      ]
      expect(written.map((p) => p.slice(out.length + 1)).sort()).to.deep.equal([...names].sort())
      expect((await readdir(out)).sort()).to.deep.equal([...names].sort())
      expect(await readFile(join(out, 'ca.pem'), 'utf8')).to.equal(pki.caPem)
      expect(await readFile(join(out, 'device.pem'), 'utf8')).to.equal(pki.device.chainPem)
      expect(await readFile(join(out, 'user-key.pem'), 'utf8')).to.equal(pki.user.keyPem)
      expect((await stat(join(out, 'user-key.pem'))).mode & 0o077).to.equal(0)
      expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).to.equal(pki.root.keyPem)
      expect(await readFile(join(out, 'intermediate-key.pem'), 'utf8')).to.equal(pki.intermediate.keyPem)
      for (const k of ['ca-key.pem', 'intermediate-key.pem']) {
        expect((await stat(join(out, k))).mode & 0o077).to.equal(0)
      }
    })
  })
})
