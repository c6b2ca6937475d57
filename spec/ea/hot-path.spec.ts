/**
 * Differential test of the RFC 9261 hot path (issue 14 item 4): `authenticate` writes the
 * transcript into one shared buffer, hashes its prefixes in one shot, computes the Finished HMAC
 * from cached pads and caches encoded certificate lists. The message-by-message encoders it
 * replaced (encodeCertificate, signedContent, encodeCertificateVerify, finishedMac,
 * encodeFinished) are kept and must give identical bytes for random inputs:
 * - Ed25519 signs deterministically (RFC 8032), so whole authenticators are compared byte for byte;
 * - ECDSA and RSA-PSS are randomized, so the Certificate and Finished are compared and the
 *   signature is verified over the reference signed content.
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import type { Credential } from '../../lib/ea/authenticators.js'
import { deriveKeys, finishedMac, finishedMacInto, signedContent, sliceView } from '../../lib/ea/transcript.js'
import type { AuthenticatorKeys } from '../../lib/ea/transcript.js'
import type { AuthenticatorHash } from '../../lib/ea/exporter.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import type { CryptoProvider } from '../../lib/crypto/provider.js'
import { encodeCertificate } from '../../lib/wire/tls/certificate.js'
import type { CertificateEntry } from '../../lib/wire/tls/certificate.js'
import { encodeCertificateVerify } from '../../lib/wire/tls/certificate-verify.js'
import { encodeFinished } from '../../lib/wire/tls/finished.js'
import { decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import { decodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import type { Extension } from '../../lib/wire/tls/extensions.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'
import { testPki } from '../support/pki.js'

const RUNS = 150
const EMPTY: Uint8Array = new Uint8Array(0)

const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength })
const u16 = fc.integer({ min: 0, max: 0xffff })

/** The authenticator as the pre-hot-path code built it, from the reference encoders. */
function referenceAuthenticator(
  provider: CryptoProvider,
  keys: AuthenticatorKeys,
  request: Uint8Array,
  context: Uint8Array,
  entries: readonly CertificateEntry[],
  scheme: number,
): { certificate: Uint8Array; content: Uint8Array; finishedOf: (cv: Uint8Array) => Uint8Array; whole: (sig: Uint8Array) => Uint8Array } {
  const certificate = encodeCertificate({ context, entries })
  const content = signedContent(provider, keys, request, certificate)
  const finishedOf = (cv: Uint8Array): Uint8Array => encodeFinished({ verifyData: finishedMac(provider, keys, request, certificate, cv) })
  const whole = (signature: Uint8Array): Uint8Array => {
    const cv = encodeCertificateVerify({ algorithm: scheme, signature })
    return Buffer.concat([certificate, cv, finishedOf(cv)])
  }
  return { certificate, content, finishedOf, whole }
}

/** Entry extensions a credential carries, and which of their types a request asks for. */
const entryExtensions = fc.array(
  fc.uniqueArray(fc.record({ type: fc.constantFrom(5, 18, 0x4242, 0x9999), data: bytes(0, 30) }), { maxLength: 3, selector: (e) => e.type }),
  { maxLength: 4 },
)

describe('ea/hot-path (differential: old encoders vs authenticate)', function () {
  this.timeout(120000)

  for (const hash of ['sha384', 'sha256'] as AuthenticatorHash[]) {
    for (const provider of [nodeCrypto, nobleCrypto]) {
      it(`Ed25519, ${hash}, ${provider.name}: authenticate output is byte-identical to the reference encoders`, async () => {
        const pki = await testPki('ed25519')
        const key = provider.importPrivateKey(pki.user.keyPem)
        await fc.assert(
          fc.asyncProperty(
            bytes(0, 255),
            fc.array(bytes(1, 3000), { minLength: 0, maxLength: 3 }),
            entryExtensions,
            fc.record({ statusRequest: fc.boolean(), signedCertificateTimestamp: fc.boolean(), unknown: fc.boolean() }),
            fc.boolean(),
            async (context, extra, exts, want, spontaneous) => {
              const exporter = fakeExporter()
              const server = new ExportedAuthenticators({ role: 'server', exporter, hash, provider })
              const client = new ExportedAuthenticators({ role: 'client', exporter, hash, provider })
              const chain = [pki.user.certDer, ...extra]
              const cred: Credential = { chain, key, entryExtensions: exts.slice(0, chain.length) as Extension[][] }
              const creator = spontaneous ? server : client
              const keys = deriveKeys(exporter, hash, spontaneous ? 'server' : 'client')
              let request: Uint8Array = EMPTY
              let allowed: ReadonlySet<number>
              if (spontaneous) {
                allowed = new Set()
              } else {
                request = server.request({
                  context,
                  statusRequest: want.statusRequest,
                  signedCertificateTimestamp: want.signedCertificateTimestamp,
                  ...(want.unknown ? { extraExtensions: [{ type: 0x4242, data: new Uint8Array([1]) }] } : {}),
                })
                allowed = new Set(decodeCertificateRequest(request).extensions.map((e) => e.type))
              }
              const got = spontaneous
                ? creator.authenticate({ credential: cred, context })
                : creator.authenticate({ request, credential: cred })
              const entries = chain.map((certData, i) => ({ certData, extensions: (cred.entryExtensions?.[i] ?? []).filter((e) => allowed.has(e.type)) }))
              const ref = referenceAuthenticator(provider, keys, request, context, entries, 0x0807)
              expect(Buffer.from(got).equals(Buffer.from(ref.whole(provider.sign(0x0807, key, ref.content))))).to.equal(true)
              // And a second authenticate with the same (cached) credential on a fresh pair.
              if (!spontaneous) {
                const s2 = new ExportedAuthenticators({ role: 'server', exporter, hash, provider })
                const c2 = new ExportedAuthenticators({ role: 'client', exporter, hash, provider })
                const r2 = s2.request({ statusRequest: want.statusRequest })
                const a2 = c2.authenticate({ request: r2, credential: cred })
                const allowed2 = new Set(decodeCertificateRequest(r2).extensions.map((e) => e.type))
                const e2 = chain.map((certData, i) => ({ certData, extensions: (cred.entryExtensions?.[i] ?? []).filter((e) => allowed2.has(e.type)) }))
                const ref2 = referenceAuthenticator(provider, keys, r2, decodeCertificateRequest(r2).context, e2, 0x0807)
                expect(Buffer.from(a2).equals(Buffer.from(ref2.whole(provider.sign(0x0807, key, ref2.content))))).to.equal(true)
                expect(s2.validate(a2, { request: r2 }).kind).to.equal('identity')
              }
            },
          ),
          { numRuns: provider === nodeCrypto ? RUNS : 40 },
        )
      })
    }
  }

  for (const [keyType, scheme] of [['p256', 0x0403], ['rsa', 0x0804], ['p384', 0x0503]] as const) {
    it(`${keyType}: Certificate and Finished equal the reference encoders; the signature verifies over the reference content`, async () => {
      const pki = await testPki(keyType)
      const key = nodeCrypto.importPrivateKey(pki.user.keyPem)
      await fc.assert(
        fc.asyncProperty(bytes(0, 64), async (context) => {
          const exporter = fakeExporter()
          const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider: nodeCrypto })
          const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider: nodeCrypto })
          const request = server.request({ context, signatureAlgorithms: [scheme] })
          const got = client.authenticate({ request, credential: { chain: pki.user.chainDer, key } })
          const a = decodeAuthenticator(got)
          if (a.kind !== 'full') throw new Error('expected a full authenticator')
          const keys = deriveKeys(exporter, 'sha384', 'client')
          const entries = pki.user.chainDer.map((certData) => ({ certData, extensions: [] }))
          const ref = referenceAuthenticator(nodeCrypto, keys, request, context, entries, scheme)
          expect(Buffer.from(a.rawCertificate).equals(Buffer.from(ref.certificate))).to.equal(true)
          expect(a.certificateVerify.algorithm).to.equal(scheme)
          expect(nodeCrypto.verify(scheme, pki.user.certDer, ref.content, a.certificateVerify.signature)).to.equal(true)
          expect(Buffer.from(a.rawFinished).equals(Buffer.from(ref.finishedOf(a.rawCertificateVerify)))).to.equal(true)
          expect(server.validate(got, { request }).kind).to.equal('identity')
        }),
        { numRuns: keyType === 'rsa' ? 8 : 30 },
      )
    })
  }

  it('the empty authenticator equals the reference encoding (Certificate with no entries, no CertificateVerify)', () => {
    fc.assert(
      fc.property(bytes(0, 255), fc.constantFrom<AuthenticatorHash>('sha256', 'sha384'), (context, hash) => {
        const exporter = fakeExporter()
        const server = new ExportedAuthenticators({ role: 'server', exporter, hash, provider: nodeCrypto })
        const client = new ExportedAuthenticators({ role: 'client', exporter, hash, provider: nodeCrypto })
        const request = server.request({ context })
        const got = client.authenticate({ request })
        const keys = deriveKeys(exporter, hash, 'client')
        const cert = encodeCertificate({ context, entries: [] })
        const ref = encodeFinished({ verifyData: finishedMac(nodeCrypto, keys, request, cert, EMPTY) })
        expect(Buffer.from(got).equals(Buffer.from(ref))).to.equal(true)
        expect(server.validate(got, { request }).kind).to.equal('declined')
      }),
      { numRuns: RUNS },
    )
  })

  it('finishedMacInto (HMAC from cached pads) equals provider.hmac over the transcript hash (random keys, both providers, both hashes)', () => {
    fc.assert(
      fc.property(fc.constantFrom<AuthenticatorHash>('sha256', 'sha384'), bytes(48, 48), bytes(0, 3000), (hash, fk, transcript) => {
        const L = hash === 'sha384' ? 48 : 32
        const keys: AuthenticatorKeys = { hash, length: L, hc: new Uint8Array(L), fk: fk.subarray(0, L) }
        for (const p of [nodeCrypto, nobleCrypto]) {
          const want = Buffer.from(p.hmac(hash, keys.fk, p.digest(hash, transcript)))
          const out = new Uint8Array(L + 7)
          finishedMacInto(p, keys, transcript, out, 7)
          expect(Buffer.from(out.subarray(7)).equals(want)).to.equal(true)
          // Twice: the cached pads must not keep state from the previous call.
          finishedMacInto(p, keys, transcript, out, 7)
          expect(Buffer.from(out.subarray(7)).equals(want)).to.equal(true)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('a credential whose chain is swapped after first use is re-encoded, not served from the cache', async () => {
    const a = await testPki('ed25519')
    const exporter = fakeExporter()
    const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider: nodeCrypto })
    const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider: nodeCrypto })
    const chain = [...a.user.chainDer]
    const cred: Credential = { chain, key: nodeCrypto.importPrivateKey(a.user.keyPem) }
    const r1 = server.request()
    const first = decodeAuthenticator(client.authenticate({ request: r1, credential: cred }))
    chain[1] = new Uint8Array([0x30, 1, 2, 3])
    const r2 = server.request()
    const second = decodeAuthenticator(client.authenticate({ request: r2, credential: cred }))
    if (first.kind !== 'full' || second.kind !== 'full') throw new Error('expected full authenticators')
    expect(first.certificate.entries[1]!.certData).to.have.length(a.user.chainDer[1]!.length)
    expect(Array.from(second.certificate.entries[1]!.certData)).to.deep.equal([0x30, 1, 2, 3])
  })

  it('u16 codepoints outside the key are refused as before (no signature scheme of the key was offered)', async () => {
    const pki = await testPki('ed25519')
    const key = nodeCrypto.importPrivateKey(pki.user.keyPem)
    fc.assert(
      fc.property(u16.filter((s) => s !== 0x0807), (s) => {
        const exporter = fakeExporter()
        const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider: nodeCrypto })
        const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider: nodeCrypto })
        const request = server.request({ signatureAlgorithms: [s] })
        expect(() => client.authenticate({ request, credential: { chain: pki.user.chainDer, key } })).to.throw(/no signature scheme of the key/)
      }),
      { numRuns: 50 },
    )
  })
  it('sliceView returns views of the right bytes for any (start, end), past its 32-view cache and across buffers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 512 }), fc.integer({ min: 0, max: 512 })), { minLength: 1, maxLength: 80 }),
        (pairs) => {
          const a = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff)
          const b = Uint8Array.from({ length: 512 }, (_, i) => 255 - (i & 0xff))
          for (const [i, [x, y]] of pairs.entries()) {
            const start = Math.min(x, y)
            const end = Math.max(x, y)
            // Alternate buffers now and then: a view of the other buffer is never handed out.
            const t = i % 7 === 6 ? b : a
            const v = sliceView(t, start, end)
            expect(v.buffer).to.equal(t.buffer)
            expect(v.byteOffset).to.equal(t.byteOffset + start)
            expect(v.length).to.equal(end - start)
            // Asked again, the same pair gives equal bytes.
            expect(Buffer.from(sliceView(t, start, end)).equals(Buffer.from(t.subarray(start, end)))).to.equal(true)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('a validate that stops between the two transcript hashes (bad signature, RSA chain: running hash) leaves nothing for the next one', async () => {
    const pki = await testPki('rsa')
    const key = nodeCrypto.importPrivateKey(pki.user.keyPem)
    const exporter = fakeExporter()
    const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider: nodeCrypto })
    const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider: nodeCrypto })
    const credential = { chain: pki.user.chainDer, key }
    for (let i = 0; i < 3; i++) {
      const r1 = server.request({ signatureAlgorithms: [0x0804] })
      const bad = Uint8Array.from(client.authenticate({ request: r1, credential }))
      const a = decodeAuthenticator(bad)
      if (a.kind !== 'full') throw new Error('expected a full authenticator')
      // Flip a signature byte: the signed-content hash ran, the Finished hash did not.
      bad[a.rawCertificate.length + 8 + 10]! ^= 1
      const v1 = server.validate(bad, { request: r1 })
      expect(v1.kind === 'invalid' && v1.reason).to.equal('bad-signature')
      const r2 = server.request({ signatureAlgorithms: [0x0804] })
      const good = client.authenticate({ request: r2, credential })
      const v2 = server.validate(good, { request: r2 })
      expect(v2.kind).to.equal('identity')
      // The declined path reuses the same transcript buffer.
      const r3 = server.request({ signatureAlgorithms: [0x0804] })
      expect(server.validate(client.authenticate({ request: r3 }), { request: r3 }).kind).to.equal('declined')
    }
  })
})
