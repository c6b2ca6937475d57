import { createHash, createHmac, createPublicKey, createPrivateKey, sign as nodeSign, verify as nodeVerify, X509Certificate } from 'node:crypto'
import { expect } from 'chai'
import { deriveKeys, finishedMac, signedContent } from '../../lib/ea/transcript.js'
import type { AuthenticatorKeys, Role } from '../../lib/ea/transcript.js'
import type { AuthenticatorHash } from '../../lib/ea/exporter.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import { decodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { encodeCertificate } from '../../lib/wire/tls/certificate.js'
import { encodeFinished } from '../../lib/wire/tls/finished.js'
import { ascii, cat, handshake, hex, toHex } from '../support/hex.js'
import { loadVectors } from '../support/vectors.js'

interface FizzVectors {
  readonly p256CertificateDer: string
  readonly p256PrivateKeyPem: string
  readonly authenticatorTest: {
    readonly hc: string
    readonly fk: string
    readonly request: string
    readonly mockedCertificate: string
    readonly mockedCertificateVerify: string
    readonly expectedAuthenticator: string
    readonly expectedFinished: string
    readonly impliedEmptyCertificate: string
    readonly expectedEmptyAuthenticator: string
  }
  readonly getContext: {
    readonly authenticator: string
    readonly expectedContext: string
    readonly hc: string
    readonly fk: string
    readonly request: string
    readonly signedWithContextString: string
  }
  readonly validateTest: { readonly hc: string; readonly fk: string; readonly request: string }
}

const fizz = loadVectors<FizzVectors>('fizz-exported-authenticator.json')

/** fizz's two hc/fk conventions (see spec/vectors/README.md): never mix them. */
const ASCII_KEYS: AuthenticatorKeys = {
  hash: 'sha256',
  length: 32,
  hc: hex(fizz.authenticatorTest.hc), // 32 ASCII bytes "1234...9012"
  fk: hex(fizz.authenticatorTest.fk),
}
const HEX16_KEYS: AuthenticatorKeys = {
  hash: 'sha256',
  length: 32,
  hc: hex(fizz.validateTest.hc), // 16 bytes 0x12 0x34 ... 0x12
  fk: hex(fizz.validateTest.fk),
}

const SPACES64 = new Uint8Array(64).fill(0x20)
const EA_LABEL = ascii('Exported Authenticator')

/** The RFC 9261 §5.2.2 layout computed independently, with an arbitrary context string. */
function expectedSignedContent(hash: AuthenticatorHash, label: Uint8Array, parts: Uint8Array[]): Uint8Array {
  const h = createHash(hash)
  for (const p of parts) h.update(p)
  return cat(SPACES64, label, new Uint8Array([0]), h.digest())
}

function expectedFinished(hash: AuthenticatorHash, fk: Uint8Array, parts: Uint8Array[]): Uint8Array {
  const h = createHash(hash)
  for (const p of parts) h.update(p)
  return new Uint8Array(createHmac(hash, fk).update(h.digest()).digest())
}

function randomKeys(hash: AuthenticatorHash, seed: number): AuthenticatorKeys {
  const length = hash === 'sha384' ? 48 : 32
  const fill = (n: number) => new Uint8Array(length).map((_, i) => (i * 31 + seed * 7 + n) & 0xff)
  return { hash, length, hc: fill(1), fk: fill(2) }
}

describe('ea/transcript', () => {
  describe('deriveKeys (RFC 9261 §5.1)', () => {
    for (const creator of ['client', 'server'] as const satisfies readonly Role[]) {
      for (const hash of ['sha256', 'sha384'] as const) {
        it(`exports HC and FK with the ${creator} labels, an empty context and L for ${hash}`, () => {
          const calls: [string, number, number][] = []
          const exporter = (label: string, context: Uint8Array, length: number): Uint8Array => {
            calls.push([label, context.length, length])
            return new Uint8Array(length).fill(label.includes('finished') ? 0xf1 : 0xc1)
          }
          const keys = deriveKeys(exporter, hash, creator)
          const L = hash === 'sha384' ? 48 : 32
          expect(calls).to.have.deep.members([
            [`EXPORTER-${creator} authenticator handshake context`, 0, L],
            [`EXPORTER-${creator} authenticator finished key`, 0, L],
          ])
          expect(calls).to.have.length(2)
          expect(keys.hash).to.equal(hash)
          expect(keys.length).to.equal(L)
          expect([...new Set(keys.hc)]).to.deep.equal([0xc1])
          expect([...new Set(keys.fk)]).to.deep.equal([0xf1])
          expect(keys.hc.length).to.equal(L)
        })
      }
    }

    it('copies the exporter output (later changes to it do not leak into the keys)', () => {
      const shared = new Uint8Array(32).fill(9)
      const keys = deriveKeys(() => shared, 'sha256', 'server')
      shared.fill(0)
      expect(keys.hc[0]).to.equal(9)
      expect(keys.fk[0]).to.equal(9)
    })
  })

  describe('signedContent (RFC 9261 §5.2.2)', () => {
    const request = hex('0d00001d10 00112233445566778899aabbccddeeff 000a000d0006000404030804')
    const certificate = encodeCertificate({
      context: hex('00112233445566778899aabbccddeeff'),
      entries: [{ certData: hex(fizz.p256CertificateDer), extensions: [] }],
    })

    for (const [hash, total] of [
      ['sha256', 119],
      ['sha384', 135],
    ] as const) {
      it(`is 64×0x20 || "Exported Authenticator" || 0x00 || H(HC || request || Certificate): ${total} bytes with ${hash}`, () => {
        const keys = randomKeys(hash, 1)
        const out = signedContent(nodeCrypto, keys, request, certificate)
        expect(out.length).to.equal(total)
        expect([...out.subarray(0, 64)].every((b) => b === 0x20)).to.equal(true)
        expect(toHex(out.subarray(64, 86))).to.equal('4578706f727465642041757468656e74696361746f72')
        expect(out[86]).to.equal(0)
        expect(toHex(out)).to.equal(toHex(expectedSignedContent(hash, EA_LABEL, [keys.hc, request, certificate])))
      })
    }

    it('omits the request term for a spontaneous authenticator (empty request)', () => {
      const keys = randomKeys('sha384', 2)
      const out = signedContent(nodeCrypto, keys, new Uint8Array(0), certificate)
      expect(toHex(out)).to.equal(toHex(expectedSignedContent('sha384', EA_LABEL, [keys.hc, certificate])))
    })

    it('depends on every byte of HC, the request and the Certificate', () => {
      const keys = randomKeys('sha256', 3)
      const base = toHex(signedContent(nodeCrypto, keys, request, certificate))
      const flip = (b: Uint8Array, i: number) => {
        const c = b.slice()
        c[i]! ^= 1
        return c
      }
      for (const i of [0, 31]) expect(toHex(signedContent(nodeCrypto, { ...keys, hc: flip(keys.hc, i) }, request, certificate))).to.not.equal(base)
      for (const i of [0, 4, 32]) expect(toHex(signedContent(nodeCrypto, keys, flip(request, i), certificate))).to.not.equal(base)
      expect(toHex(signedContent(nodeCrypto, keys, request, flip(certificate, certificate.length - 1)))).to.not.equal(base)
      // FK plays no part in the signed content
      expect(toHex(signedContent(nodeCrypto, { ...keys, fk: new Uint8Array(32) }, request, certificate))).to.equal(base)
    })

    it('gives the same bytes with the node and noble providers', () => {
      for (const hash of ['sha256', 'sha384'] as const) {
        const keys = randomKeys(hash, 4)
        expect(toHex(signedContent(nobleCrypto, keys, request, certificate))).to.equal(
          toHex(signedContent(nodeCrypto, keys, request, certificate)),
        )
      }
    })

    it('produces content that a P-256 signature over it verifies with node:crypto (round trip)', () => {
      const keys = randomKeys('sha384', 5)
      const content = signedContent(nodeCrypto, keys, request, certificate)
      const priv = createPrivateKey(fizz.p256PrivateKeyPem)
      const sig = nodeSign('sha256', content, priv)
      const pub = new X509Certificate(Buffer.from(fizz.p256CertificateDer, 'hex')).publicKey
      expect(nodeVerify('sha256', content, pub, sig)).to.equal(true)
      expect(nodeCrypto.verify(0x0403, hex(fizz.p256CertificateDer), content, sig)).to.equal(true)
      const other = signedContent(nodeCrypto, randomKeys('sha384', 6), request, certificate)
      expect(nodeVerify('sha256', other, pub, sig)).to.equal(false)
    })
  })

  describe('finishedMac (RFC 9261 §5.2.3)', () => {
    for (const hash of ['sha256', 'sha384'] as const) {
      it(`is HMAC(FK, H(HC || request || Certificate || CertificateVerify)) with ${hash}`, () => {
        const keys = randomKeys(hash, 7)
        const parts = [hex('0d000004 00 0000'), hex('0b00000400000000'), hex('0f000004 0807 0000')]
        const out = finishedMac(nodeCrypto, keys, parts[0]!, parts[1]!, parts[2]!)
        expect(out.length).to.equal(keys.length)
        expect(toHex(out)).to.equal(toHex(expectedFinished(hash, keys.fk, [keys.hc, ...parts])))
        expect(toHex(finishedMac(nobleCrypto, keys, parts[0]!, parts[1]!, parts[2]!))).to.equal(toHex(out))
      })
    }

    it('changes when HC and FK are swapped (they play different parts)', () => {
      const keys = randomKeys('sha256', 8)
      const a = finishedMac(nodeCrypto, keys, new Uint8Array(0), hex('0b00000400000000'), new Uint8Array(0))
      const b = finishedMac(nodeCrypto, { ...keys, hc: keys.fk, fk: keys.hc }, new Uint8Array(0), hex('0b00000400000000'), new Uint8Array(0))
      expect(toHex(a)).to.not.equal(toHex(b))
    })
  })

  describe('fizz known answers (SHA-256, headerless requests, see spec/vectors/README.md)', () => {
    const t = fizz.authenticatorTest

    it('reproduces the Finished of AuthenticatorTest.TestValidAuthenticator (32-byte ASCII hc/fk)', () => {
      expect(ASCII_KEYS.hc.length).to.equal(32)
      const mac = finishedMac(nodeCrypto, ASCII_KEYS, hex(t.request), hex(t.mockedCertificate), hex(t.mockedCertificateVerify))
      const fin = encodeFinished({ verifyData: mac })
      expect(toHex(fin)).to.equal(t.expectedFinished)
      expect(t.mockedCertificate + t.mockedCertificateVerify + toHex(fin)).to.equal(t.expectedAuthenticator)
    })

    it('reproduces the empty authenticator of AuthenticatorTest.TestEmptyAuthenticator', () => {
      // Certificate' carries the request's context and no entries (RFC 9261 §6 / digest §6).
      const context = decodeCertificateRequest(handshake(13, hex(t.request))).context
      const implied = encodeCertificate({ context, entries: [] })
      expect(toHex(implied)).to.equal(t.impliedEmptyCertificate)
      const mac = finishedMac(nodeCrypto, ASCII_KEYS, hex(t.request), implied, new Uint8Array(0))
      expect(toHex(encodeFinished({ verifyData: mac }))).to.equal(t.expectedEmptyAuthenticator)
      const decoded = decodeAuthenticator(hex(t.expectedEmptyAuthenticator))
      expect(decoded.kind).to.equal('empty')
      expect(nodeCrypto.equal(decoded.finished.verifyData, mac)).to.equal(true)
    })

    it('does not reproduce the empty authenticator with the mocked (context-less) Certificate', () => {
      const mac = finishedMac(nodeCrypto, ASCII_KEYS, hex(t.request), hex(t.mockedCertificate), new Uint8Array(0))
      expect(toHex(encodeFinished({ verifyData: mac }))).to.not.equal(t.expectedEmptyAuthenticator)
    })

    it('does not reproduce the Finished with a header-carrying (RFC 9261) request', () => {
      const mac = finishedMac(nodeCrypto, ASCII_KEYS, handshake(13, hex(t.request)), hex(t.mockedCertificate), hex(t.mockedCertificateVerify))
      expect(toHex(encodeFinished({ verifyData: mac }))).to.not.equal(t.expectedFinished)
    })

    it('keeps the two hc/fk conventions apart: the 16-byte keys do not give the 32-byte answers', () => {
      expect(HEX16_KEYS.hc.length).to.equal(16)
      expect(toHex(HEX16_KEYS.hc)).to.equal('12345678901234567890123456789012')
      const mac = finishedMac(nodeCrypto, HEX16_KEYS, hex(fizz.validateTest.request), hex(t.mockedCertificate), hex(t.mockedCertificateVerify))
      expect(toHex(encodeFinished({ verifyData: mac }))).to.not.equal(t.expectedFinished)
      // finishedMac takes keys as given: a 16-byte FK still yields a 32-byte SHA-256 MAC
      expect(mac.length).to.equal(32)
      expect(toHex(mac)).to.equal(
        toHex(expectedFinished('sha256', HEX16_KEYS.fk, [HEX16_KEYS.hc, hex(fizz.validateTest.request), hex(t.mockedCertificate), hex(t.mockedCertificateVerify)])),
      )
    })

    it('the mocked authenticator decodes but carries an empty certificate_list (to be rejected by validation)', () => {
      const a = decodeAuthenticator(hex(t.expectedAuthenticator))
      if (a.kind !== 'full') throw new Error('expected a full authenticator')
      expect(a.certificate.entries).to.have.length(0)
      expect(a.certificate.context.length).to.equal(0)
      expect(toHex(a.certificateVerify.signature)).to.equal(toHex(ascii('signature')))
    })
  })

  describe('fizz TestGetContext authenticator (645 bytes, pre-RFC signature)', () => {
    const g = fizz.getContext
    const auth = decodeAuthenticator(hex(g.authenticator))
    if (auth.kind !== 'full') throw new Error('expected a full authenticator')
    const keys: AuthenticatorKeys = { hash: 'sha256', length: 32, hc: hex(g.hc), fk: hex(g.fk) }
    const certDer = hex(fizz.p256CertificateDer)
    const pub = createPublicKey(new X509Certificate(Buffer.from(certDer)).publicKey.export({ format: 'pem', type: 'spki' }))

    it('carries the fizz P-256 certificate and the expected context', () => {
      expect(toHex(auth.certificate.context)).to.equal(g.expectedContext)
      expect(toHex(auth.certificate.entries[0]!.certData)).to.equal(fizz.p256CertificateDer)
      expect(auth.certificateVerify.algorithm).to.equal(0x0403)
    })

    it('has a Finished that is valid for the 32-byte ASCII hc/fk and the headerless request', () => {
      const mac = finishedMac(nodeCrypto, keys, hex(g.request), auth.rawCertificate, auth.rawCertificateVerify)
      expect(nodeCrypto.equal(mac, auth.finished.verifyData)).to.equal(true)
      const wrong = finishedMac(nodeCrypto, HEX16_KEYS, hex(g.request), auth.rawCertificate, auth.rawCertificateVerify)
      expect(nodeCrypto.equal(wrong, auth.finished.verifyData)).to.equal(false)
    })

    it('has a signature that does NOT verify over the "Exported Authenticator" content', () => {
      const content = signedContent(nodeCrypto, keys, hex(g.request), auth.rawCertificate)
      expect(nodeVerify('sha256', content, pub, auth.certificateVerify.signature)).to.equal(false)
      expect(nodeCrypto.verify(0x0403, certDer, content, auth.certificateVerify.signature)).to.equal(false)
      expect(nobleCrypto.verify(0x0403, certDer, content, auth.certificateVerify.signature)).to.equal(false)
    })

    it('has a signature that verifies only with the pre-RFC TLS 1.3 server context string', () => {
      const old = expectedSignedContent('sha256', ascii(g.signedWithContextString), [keys.hc, hex(g.request), auth.rawCertificate])
      expect(nodeVerify('sha256', old, pub, auth.certificateVerify.signature)).to.equal(true)
      // the same hash under our label differs only in the context string
      const ours = signedContent(nodeCrypto, keys, hex(g.request), auth.rawCertificate)
      expect(toHex(ours.subarray(87))).to.equal(toHex(old.subarray(64 + g.signedWithContextString.length + 1)))
    })
  })
})
