import { expect } from 'chai'
import { ErrorCode } from '../../lib/errors.js'
import { issueCertificate } from '../../lib/pki/test-pki.js'
import {
  CHAIN_FAILURES,
  assertChainValid,
  chainRejectedError,
  prepareAnchors,
  stapledOcspResponse,
  validateChain,
} from '../../lib/policy/chain.js'
import type { ChainFailure, ChainOptions, ChainResult, RevocationContext } from '../../lib/policy/chain.js'
import type { ParsedCert } from '../../lib/policy/parsed-cert.js'
import {
  EKU,
  NOT_AFTER,
  NOT_BEFORE,
  T0,
  corruptSignature,
  intermediate,
  leaf,
  nameConstraintsExtension,
  root,
  unknownExtension,
} from '../support/certs.js'
import type { TestCredential } from '../support/certs.js'

const DAY = 86_400_000

function expectFailure(r: ChainResult, reason: ChainFailure, index?: number): void {
  if (r.ok) expect.fail(`expected ${reason}, chain was accepted`)
  expect(r.reason).to.equal(reason)
  expect(r.detail).to.be.a('string').and.not.equal('')
  if (index !== undefined) expect(r.index).to.equal(index)
}

function expectOk(r: ChainResult): readonly ParsedCert[] {
  if (!r.ok) expect.fail(`expected acceptance, got ${r.reason}: ${r.detail}`)
  return r.path
}

describe('policy/chain', function () {
  this.timeout(20_000)

  let ca: TestCredential
  let int: TestCredential
  let server: TestCredential
  let other: TestCredential
  let opts: ChainOptions

  before(async () => {
    ca = await root('Chain Root')
    int = await intermediate('Chain Intermediate', ca)
    server = await leaf('server.example', int, {
      dnsNames: ['server.example'],
      extKeyUsage: [EKU.serverAuth],
    })
    const otherRoot = await root('Unrelated Root')
    other = await leaf('unrelated', otherRoot)
    opts = { anchors: [ca.certDer], now: T0 }
  })

  describe('path building', () => {
    it('accepts leaf + intermediate and returns the path leaf..anchor', async () => {
      const path = expectOk(await validateChain([server.certDer, int.certDer], opts))
      expect(path.map((c) => c.subject.split('\n').find((l) => l.startsWith('CN=')))).to.deep.equal([
        'CN=server.example',
        'CN=Chain Intermediate',
        'CN=Chain Root',
      ])
    })

    it('accepts a chain whose certificates after the leaf are out of order', async () => {
      const path = expectOk(await validateChain([server.certDer, ca.certDer, int.certDer], opts))
      expect(path).to.have.length(3)
    })

    it('ignores extra, unrelated certificates in the chain', async () => {
      const path = expectOk(
        await validateChain([server.certDer, other.certDer, int.certDer, other.certDer], opts),
      )
      expect(path).to.have.length(3)
    })

    it('accepts a chain that already includes the anchor, without repeating it', async () => {
      const path = expectOk(await validateChain([server.certDer, int.certDer, ca.certDer], opts))
      expect(path).to.have.length(3)
      expect(Buffer.from(path[2]!.der).equals(Buffer.from(ca.certDer))).to.equal(true)
    })

    it('takes anchors as PEM text and as prepared anchors', async () => {
      expectOk(await validateChain([server.certDer, int.certDer], { anchors: [ca.certPem], now: T0 }))
      const prepared = prepareAnchors([other.certPem + ca.certPem])
      expect(prepared.certs).to.have.length(2)
      expectOk(await validateChain([server.certDer, int.certDer], { anchors: prepared, now: T0 }))
    })

    it('accepts a leaf that is itself a configured anchor (pinned self-signed)', async () => {
      const pinned = await issueCertificate({
        subject: 'CN=pinned',
        keyUsage: ['digitalSignature'],
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      })
      const path = expectOk(await validateChain([pinned.certDer], { anchors: [pinned.certDer], now: T0 }))
      expect(path).to.have.length(1)
    })

    it('checks the validity period of a pinned leaf that is its own anchor', async () => {
      const pinned = await issueCertificate({
        subject: 'CN=pinned short',
        notBefore: NOT_BEFORE,
        notAfter: new Date(T0.getTime() + DAY),
      })
      const o = { anchors: [pinned.certDer], now: new Date(T0.getTime() + 2 * DAY) }
      expectFailure(await validateChain([pinned.certDer], o), 'expired', 0)
    })

    it('tries the next issuer candidate when one with the same name does not verify', async () => {
      // Same subject name as `int`, different key: a decoy the builder must step over.
      const decoy = await intermediate('Chain Intermediate', ca)
      const path = expectOk(await validateChain([server.certDer, decoy.certDer, int.certDer], opts))
      expect(Buffer.from(path[1]!.der).equals(Buffer.from(int.certDer))).to.equal(true)
    })

    it('terminates on cross-signed CAs that issue each other (loop protection)', async () => {
      const a = await root('Loop A')
      const b = await root('Loop B')
      const aByB = await issueCertificate({
        subject: 'CN=Loop A, O=policy spec',
        keyPem: a.keyPem,
        issuer: b,
        basicConstraints: { ca: true },
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      })
      const bByA = await issueCertificate({
        subject: 'CN=Loop B, O=policy spec',
        keyPem: b.keyPem,
        issuer: a,
        basicConstraints: { ca: true },
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      })
      const l = await leaf('looped', a)
      expectFailure(await validateChain([l.certDer, aByB.certDer, bByA.certDer], opts), 'no-path')
    })

    it('stops after maxSignatureChecks signature verifications', async () => {
      const decoys = await Promise.all([1, 2, 3].map(() => intermediate('Chain Intermediate', ca)))
      const r = await validateChain([server.certDer, ...decoys.map((d) => d.certDer), int.certDer], {
        ...opts,
        maxSignatureChecks: 2,
      })
      expectFailure(r, 'no-path')
    })

    it('validates an RSA chain', async () => {
      const r = await root('RSA Root', 'rsa')
      const l = await leaf('rsa leaf', r, { extKeyUsage: [EKU.clientAuth] })
      expectOk(await validateChain([l.certDer], { anchors: [r.certDer], now: T0, requiredEku: [EKU.clientAuth] }))
    })

    it('validates an Ed25519 chain', async () => {
      const r = await root('Ed Root', 'ed25519')
      const i = await intermediate('Ed Int', r)
      const l = await leaf('ed leaf', i)
      expectOk(await validateChain([l.certDer, i.certDer], { anchors: [r.certDer], now: T0 }))
    })

    it('validates a P-256 leaf under an Ed25519 root (mixed key types)', async () => {
      const r = await root('Mixed Root', 'ed25519')
      const l = await issueCertificate({
        subject: 'CN=mixed',
        issuer: r,
        keyType: 'p256',
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      })
      expectOk(await validateChain([l.certDer], { anchors: [r.certDer], now: T0 }))
    })
  })

  describe('failure reasons', () => {
    it('names every failure reason once', () => {
      expect(new Set(CHAIN_FAILURES).size).to.equal(CHAIN_FAILURES.length)
    })

    it('empty-chain: no certificates', async () => {
      expectFailure(await validateChain([], opts), 'empty-chain')
    })

    it('malformed-certificate: garbage after the leaf, with its index', async () => {
      expectFailure(
        await validateChain([server.certDer, Uint8Array.from([0x30, 0x03, 1, 2, 3])], opts),
        'malformed-certificate',
        1,
      )
    })

    it('malformed-certificate: a leaf with trailing bytes', async () => {
      const bad = Uint8Array.from([...server.certDer, 0])
      expectFailure(await validateChain([bad, int.certDer], opts), 'malformed-certificate', 0)
    })

    it('no-path: the intermediate is missing', async () => {
      expectFailure(await validateChain([server.certDer], opts), 'no-path', 0)
    })

    it('no-path: chains to a root that is not an anchor', async () => {
      expectFailure(await validateChain([server.certDer, int.certDer, ca.certDer], { anchors: [other.certDer], now: T0 }), 'no-path')
    })

    it('path-too-long: the only path exceeds maxPathLength', async () => {
      expectFailure(await validateChain([server.certDer, int.certDer], { ...opts, maxPathLength: 2 }), 'path-too-long')
    })

    it('bad-signature: the leaf signature was altered', async () => {
      expectFailure(
        await validateChain([corruptSignature(server.certDer), int.certDer], opts),
        'bad-signature',
        0,
      )
    })

    it('expired: validation time after notAfter', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, now: new Date(NOT_AFTER.getTime() + DAY) })
      expectFailure(r, 'expired', 0)
    })

    it('not-yet-valid: validation time before notBefore', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, now: new Date(NOT_BEFORE.getTime() - DAY) })
      expectFailure(r, 'not-yet-valid', 0)
    })

    it('not-a-ca: the issuer has basicConstraints cA=FALSE', async () => {
      const notCa = await intermediate('Not A CA', ca, { basicConstraints: { ca: false } })
      const l = await leaf('under non-ca', notCa)
      expectFailure(await validateChain([l.certDer, notCa.certDer], opts), 'not-a-ca', 1)
    })

    it('not-a-ca: the issuer has no basicConstraints at all', async () => {
      const noBc = await issueCertificate({
        subject: 'CN=No BC',
        issuer: ca,
        keyUsage: ['keyCertSign'],
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      })
      const l = await leaf('under no-bc', noBc)
      expectFailure(await validateChain([l.certDer, noBc.certDer], opts), 'not-a-ca', 1)
    })

    it('path-length-exceeded: an intermediate under a pathLen 0 root', async () => {
      const r0 = await root('PathLen0 Root', 'p256', { basicConstraints: { ca: true, pathLen: 0 } })
      const i = await intermediate('Under PathLen0', r0)
      const l = await leaf('deep', i)
      const r = await validateChain([l.certDer, i.certDer], { anchors: [r0.certDer], now: T0 })
      expectFailure(r, 'path-length-exceeded')
      if (!r.ok) expect(r.index).to.equal(undefined) // the anchor is at fault, not in the chain
    })

    it('issuer-key-usage: the issuer keyUsage lacks keyCertSign', async () => {
      const i = await intermediate('No KeyCertSign', ca, { keyUsage: ['digitalSignature', 'cRLSign'] })
      const l = await leaf('under no-kcs', i)
      expectFailure(await validateChain([l.certDer, i.certDer], opts), 'issuer-key-usage', 1)
    })

    it('leaf-key-usage: the leaf keyUsage lacks digitalSignature', async () => {
      const l = await leaf('kenc', int, { keyUsage: ['keyEncipherment'] })
      expectFailure(await validateChain([l.certDer, int.certDer], opts), 'leaf-key-usage', 0)
    })

    it('eku-missing: the leaf lists none of requiredEku', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, requiredEku: [EKU.clientAuth] })
      expectFailure(r, 'eku-missing', 0)
    })

    it('name-constraints: a DNS name outside the permitted subtree', async () => {
      const i = await intermediate('NC Int', ca, { nameConstraints: { permittedDns: ['example.com'] } })
      const l = await leaf('outside', i, { dnsNames: ['host.example.org'] })
      expectFailure(await validateChain([l.certDer, i.certDer], opts), 'name-constraints', 0)
    })

    it('unknown-critical-extension: a critical extension nobody processes', async () => {
      const l = await leaf('crit', int, { extensions: [unknownExtension(true)] })
      expectFailure(await validateChain([l.certDer, int.certDer], opts), 'unknown-critical-extension', 0)
    })

    it('revoked: the revocation callback says revoked', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, checkRevocation: () => 'revoked' })
      expectFailure(r, 'revoked', 0)
    })

    it('revocation-unknown: unknown status while a check is required', async () => {
      const r = await validateChain([server.certDer, int.certDer], {
        ...opts,
        checkRevocation: () => 'unknown',
        requireRevocationCheck: true,
      })
      expectFailure(r, 'revocation-unknown', 0)
    })
  })

  describe('clock', () => {
    it('uses the injected time: valid at T0, expired two years later', async () => {
      expectOk(await validateChain([server.certDer, int.certDer], opts))
      const later = new Date(T0.getTime() + 730 * DAY)
      expectFailure(await validateChain([server.certDer, int.certDer], { ...opts, now: later }), 'expired')
    })

    it('treats notAfter itself as still valid (inclusive bound)', async () => {
      expectOk(await validateChain([server.certDer, int.certDer], { ...opts, now: NOT_AFTER }))
    })

    it('allows clockToleranceMs of skew around the validity period', async () => {
      const early = new Date(NOT_BEFORE.getTime() - 60_000)
      expectFailure(await validateChain([server.certDer, int.certDer], { ...opts, now: early }), 'not-yet-valid')
      expectOk(await validateChain([server.certDer, int.certDer], { ...opts, now: early, clockToleranceMs: 120_000 }))
    })

    it('does not check the validity of the anchor (RFC 5280 §6.1: anchors are inputs)', async () => {
      const shortRoot = await root('Short Root', 'p256', { notAfter: new Date(T0.getTime() + DAY) })
      const l = await leaf('outlives root', shortRoot)
      expectOk(await validateChain([l.certDer], { anchors: [shortRoot.certDer], now: new Date(T0.getTime() + 10 * DAY) }))
    })

    it('checks the validity of an intermediate', async () => {
      const shortInt = await intermediate('Short Int', ca, { notAfter: new Date(T0.getTime() + DAY) })
      const l = await leaf('outlives int', shortInt)
      const r = await validateChain([l.certDer, shortInt.certDer], { ...opts, now: new Date(T0.getTime() + 10 * DAY) })
      expectFailure(r, 'expired', 1)
    })
  })

  describe('revocation hook', () => {
    it('reports good when the callback says good', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, checkRevocation: () => Promise.resolve('good') })
      expect(r.ok && r.revocation).to.equal('good')
    })

    it('accepts an unknown status when no check is required, and says so', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, checkRevocation: () => 'unknown' })
      expect(r.ok && r.revocation).to.equal('unknown')
    })

    it('counts a throwing callback as unknown', async () => {
      const base = { ...opts, checkRevocation: (): never => { throw new Error('responder down') } }
      const r = await validateChain([server.certDer, int.certDer], base)
      expect(r.ok && r.revocation).to.equal('unknown')
      expectFailure(await validateChain([server.certDer, int.certDer], { ...base, requireRevocationCheck: true }), 'revocation-unknown')
    })

    it('fails a required check when no callback is configured', async () => {
      const r = await validateChain([server.certDer, int.certDer], { ...opts, requireRevocationCheck: true })
      expectFailure(r, 'revocation-unknown')
    })

    it('reports not-checked without a callback', async () => {
      const r = await validateChain([server.certDer, int.certDer], opts)
      expect(r.ok && r.revocation).to.equal('not-checked')
    })

    it('passes the leaf, its issuer and the stapled OCSP response to the callback', async () => {
      const seen: { subject: string; issuer: string; ctx: RevocationContext }[] = []
      const ocsp = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x00])
      await validateChain([server.certDer, int.certDer], {
        ...opts,
        ocspResponses: [ocsp],
        checkRevocation: (c, i, ctx) => {
          seen.push({ subject: c.subject, issuer: i.subject, ctx })
          return 'good'
        },
      })
      expect(seen).to.have.length(1)
      expect(seen[0]!.subject).to.contain('CN=server.example')
      expect(seen[0]!.issuer).to.contain('CN=Chain Intermediate')
      expect(Buffer.from(seen[0]!.ctx.ocspResponse!).equals(Buffer.from(ocsp))).to.equal(true)
      expect(seen[0]!.ctx.index).to.equal(0)
      expect(seen[0]!.ctx.now).to.equal(T0)
    })

    it('asks about every non-anchor certificate with revocationScope chain', async () => {
      const asked: number[] = []
      const r = await validateChain([server.certDer, int.certDer], {
        ...opts,
        revocationScope: 'chain',
        checkRevocation: (_c, _i, ctx) => {
          asked.push(ctx.index)
          return ctx.index === 1 ? 'revoked' : 'good'
        },
      })
      expect(asked).to.deep.equal([0, 1])
      expectFailure(r, 'revoked', 1)
    })

    it('does not call the hook for a path that failed another check', async () => {
      let calls = 0
      const r = await validateChain([server.certDer], { ...opts, checkRevocation: () => (calls++, 'good') })
      expectFailure(r, 'no-path')
      expect(calls).to.equal(0)
    })

    it('extracts the OCSPResponse from status_request entry data (RFC 8446 §4.4.2.1)', () => {
      const ocsp = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x00])
      const data = Uint8Array.from([1, 0, 0, ocsp.length, ...ocsp])
      expect(Buffer.from(stapledOcspResponse(data)!).equals(Buffer.from(ocsp))).to.equal(true)
      expect(stapledOcspResponse(Uint8Array.from([2, 0, 0, 1, 0]))).to.equal(undefined)
      expect(stapledOcspResponse(Uint8Array.from([1, 0, 0, 9, 0]))).to.equal(undefined)
    })
  })

  describe('pathLenConstraint', () => {
    it('allows one intermediate under pathLen 1 and rejects two', async () => {
      const r1 = await root('PL1 Root', 'p256', { basicConstraints: { ca: true, pathLen: 1 } })
      const i1 = await intermediate('PL1 Int 1', r1)
      const i2 = await intermediate('PL1 Int 2', i1)
      const l1 = await leaf('one below', i1)
      const l2 = await leaf('two below', i2)
      const o = { anchors: [r1.certDer], now: T0 }
      expectOk(await validateChain([l1.certDer, i1.certDer], o))
      expectFailure(await validateChain([l2.certDer, i2.certDer, i1.certDer], o), 'path-length-exceeded')
    })

    it('does not count a self-issued (key rollover) certificate against pathLen', async () => {
      const r0 = await root('Rollover Root', 'p256', { basicConstraints: { ca: true, pathLen: 0 } })
      const rolled = await intermediate('Rollover Root', r0) // same name, new key: self-issued
      const l = await leaf('after rollover', rolled)
      const path = expectOk(await validateChain([l.certDer, rolled.certDer], { anchors: [r0.certDer], now: T0 }))
      expect(path).to.have.length(3)
      expect(path[1]!.isSelfIssued).to.equal(true)
    })

    it('enforces an intermediate pathLen 0 against a further intermediate', async () => {
      const i0 = await intermediate('PL0 Int', ca, { basicConstraints: { ca: true, pathLen: 0 } })
      const i1 = await intermediate('Below PL0', i0)
      const l = await leaf('too deep', i1)
      expectFailure(await validateChain([l.certDer, i1.certDer, i0.certDer], opts), 'path-length-exceeded', 2)
      const ok = await leaf('fine', i0)
      expectOk(await validateChain([ok.certDer, i0.certDer], opts))
    })
  })

  describe('name constraints', () => {
    let dnsInt: TestCredential
    let ipInt: TestCredential
    before(async () => {
      dnsInt = await intermediate('DNS NC', ca, {
        nameConstraints: { permittedDns: ['example.com'], excludedDns: ['secret.example.com'] },
      })
      ipInt = await intermediate('IP NC', ca, {
        extensions: [nameConstraintsExtension([{ ip: '10.0.0.0/8' }, { ip: 'fd00::/8' }], [{ ip: '10.9.0.0/16' }])],
      })
    })
    const check = async (i: TestCredential, l: TestCredential): Promise<ChainResult> =>
      validateChain([l.certDer, i.certDer], opts)

    it('accepts a DNS name inside the permitted subtree (subdomain and the name itself)', async () => {
      expectOk(await check(dnsInt, await leaf('in', dnsInt, { dnsNames: ['a.example.com', 'example.com'] })))
    })

    it('rejects a DNS name in the excluded subtree', async () => {
      expectFailure(await check(dnsInt, await leaf('ex', dnsInt, { dnsNames: ['x.secret.example.com'] })), 'name-constraints')
    })

    it('does not treat a suffix that is not a label boundary as inside (badexample.com)', async () => {
      expectFailure(await check(dnsInt, await leaf('bad', dnsInt, { dnsNames: ['badexample.com'] })), 'name-constraints')
    })

    it('accepts IPv4 and IPv6 addresses inside the permitted ranges', async () => {
      expectOk(await check(ipInt, await leaf('ip in', ipInt, { ipAddresses: ['10.1.2.3', 'fd12::1'] })))
    })

    it('rejects an IP address outside the permitted ranges', async () => {
      expectFailure(await check(ipInt, await leaf('ip out', ipInt, { ipAddresses: ['192.168.1.1'] })), 'name-constraints')
    })

    it('rejects an IP address in the excluded range', async () => {
      expectFailure(await check(ipInt, await leaf('ip ex', ipInt, { ipAddresses: ['10.9.1.1'] })), 'name-constraints')
    })

    it('leaves names of another form unconstrained (DNS under an IP-only constraint)', async () => {
      expectOk(await check(ipInt, await leaf('dns only', ipInt, { dnsNames: ['anything.test'] })))
    })

    it('applies email and URI constraints', async () => {
      const i = await intermediate('Mail NC', ca, {
        extensions: [nameConstraintsExtension([{ email: 'example.com' }, { uri: '.example.com' }])],
      })
      expectOk(await check(i, await leaf('mail ok', i, { emails: ['a@example.com'], uris: ['https://h.example.com/x'] })))
      expectFailure(await check(i, await leaf('mail bad', i, { emails: ['a@example.org'] })), 'name-constraints')
      expectFailure(await check(i, await leaf('uri bad', i, { uris: ['https://example.org/'] })), 'name-constraints')
    })

    it('applies constraints carried by the anchor itself', async () => {
      const r = await root('Constrained Root', 'p256', { nameConstraints: { permittedDns: ['corp.test'] } })
      const good = await leaf('good', r, { dnsNames: ['a.corp.test'] })
      const bad = await leaf('bad', r, { dnsNames: ['a.other.test'] })
      expectOk(await validateChain([good.certDer], { anchors: [r.certDer], now: T0 }))
      expectFailure(await validateChain([bad.certDer], { anchors: [r.certDer], now: T0 }), 'name-constraints', 0)
    })
  })

  describe('extended key usage', () => {
    let anyLeaf: TestCredential
    let noEkuLeaf: TestCredential
    before(async () => {
      anyLeaf = await leaf('any', int, { extKeyUsage: [EKU.anyExtendedKeyUsage] })
      noEkuLeaf = await leaf('no eku', int)
    })

    it('accepts when the leaf lists any one of requiredEku', async () => {
      expectOk(await validateChain([server.certDer, int.certDer], { ...opts, requiredEku: [EKU.clientAuth, EKU.serverAuth] }))
    })

    it('rejects anyExtendedKeyUsage by default and accepts it with acceptAnyEku', async () => {
      const o = { ...opts, requiredEku: [EKU.clientAuth] }
      expectFailure(await validateChain([anyLeaf.certDer, int.certDer], o), 'eku-missing')
      expectOk(await validateChain([anyLeaf.certDer, int.certDer], { ...o, acceptAnyEku: true }))
    })

    it('accepts a leaf without extKeyUsage by default and rejects it with acceptMissingEku false', async () => {
      const o = { ...opts, requiredEku: [EKU.clientAuth] }
      expectOk(await validateChain([noEkuLeaf.certDer, int.certDer], o))
      expectFailure(await validateChain([noEkuLeaf.certDer, int.certDer], { ...o, acceptMissingEku: false }), 'eku-missing')
    })

    it('rejects a purpose that an issuing CA does not list (EKU nesting)', async () => {
      const serverOnlyCa = await intermediate('ServerAuth CA', ca, { extKeyUsage: [EKU.serverAuth] })
      const l = await leaf('client under server ca', serverOnlyCa, { extKeyUsage: [EKU.clientAuth] })
      const r = await validateChain([l.certDer, serverOnlyCa.certDer], { ...opts, requiredEku: [EKU.clientAuth] })
      expectFailure(r, 'eku-missing', 1)
    })
  })

  describe('errors', () => {
    it('assertChainValid throws PolicyRejectedError with the failure as reason', async () => {
      try {
        await assertChainValid([server.certDer], opts)
        expect.fail('should have thrown')
      } catch (e) {
        expect((e as { code?: string }).code).to.equal(ErrorCode.POLICY_REJECTED)
        expect((e as { reason?: string }).reason).to.equal('no-path')
      }
    })

    it('assertChainValid returns the path on success', async () => {
      const path = await assertChainValid([server.certDer, int.certDer], opts)
      expect(path).to.have.length(3)
    })

    it('chainRejectedError maps a result to ERR_SC_POLICY_REJECTED', () => {
      const e = chainRejectedError({ ok: false, reason: 'expired', detail: 'x' })
      expect(e.code).to.equal(ErrorCode.POLICY_REJECTED)
      expect(e.reason).to.equal('expired')
    })

    it('throws UsageError for an anchor that is not a certificate', async () => {
      try {
        await validateChain([server.certDer], { anchors: [Uint8Array.from([1, 2, 3])], now: T0 })
        expect.fail('should have thrown')
      } catch (e) {
        expect((e as { code?: string }).code).to.equal(ErrorCode.USAGE)
      }
    })

    it('throws UsageError when no anchors are configured', () => {
      expect(() => prepareAnchors([])).to.throw().with.property('code', ErrorCode.USAGE)
    })
  })
})
