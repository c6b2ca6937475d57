import { expect } from 'chai'
import { ErrorCode } from '../../lib/errors.js'
import {
  certificateAuthoritiesFromAnchors,
  createCertificatePolicy,
  ekuOidFilter,
  matchesCertificateAuthorities,
  matchesOidFilters,
} from '../../lib/policy/certificate-policy.js'
import type { CertificatePolicyFn } from '../../lib/policy/certificate-policy.js'
import type { RevocationContext } from '../../lib/policy/chain.js'
import { nameKey } from '../../lib/policy/der.js'
import { parseCertificate } from '../../lib/policy/parsed-cert.js'
import {
  ExtensionType,
  decodeCertificateAuthorities,
  decodeOidFilters,
  encodeCertificateAuthorities,
  encodeOidFilters,
} from '../../lib/wire/tls/extensions.js'
import type { OidFilter } from '../../lib/wire/tls/extensions.js'
import { EKU, NOT_AFTER, T0, intermediate, leaf, root } from '../support/certs.js'
import type { TestCredential } from '../support/certs.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const DAY = 86_400_000

describe('policy/certificate-policy', function () {
  this.timeout(20_000)

  let deviceCa: TestCredential
  let userCa: TestCredential
  let userInt: TestCredential
  let device: TestCredential
  let user: TestCredential
  let both: TestCredential
  let noEku: TestCredential
  let kuOnly: TestCredential

  before(async () => {
    deviceCa = await root('Device CA')
    userCa = await root('User CA')
    userInt = await intermediate('User Issuing CA', userCa)
    device = await leaf('device-1', deviceCa, { dnsNames: ['device-1.example.test'], extKeyUsage: [EKU.serverAuth] })
    user = await leaf('alice', userInt, { emails: ['alice@example.test'], extKeyUsage: [EKU.clientAuth] })
    both = await leaf('both', deviceCa, { dnsNames: ['both.example.test'], extKeyUsage: [EKU.serverAuth, EKU.clientAuth] })
    noEku = await leaf('no eku', deviceCa)
    kuOnly = await leaf('ku', deviceCa, { keyUsage: ['digitalSignature', 'keyAgreement'], extKeyUsage: [EKU.serverAuth] })
  })

  describe('createCertificatePolicy', () => {
    let policy: CertificatePolicyFn
    before(() => {
      policy = createCertificatePolicy({
        anchors: [deviceCa.certPem, userCa.certPem],
        anchorsByPurpose: { user: [userCa.certDer], device: [deviceCa.certDer] },
        preset: 'frank',
        now: () => T0,
      })
    })

    it('accepts a serverAuth device from the device CA as a device', async () => {
      const d = await policy({ chain: device.chainDer }, 'device')
      expect(d.accept && [...d.roles]).to.deep.equal(['device'])
    })

    it('accepts a clientAuth user from the user CA (leaf + intermediate) as a user', async () => {
      const d = await policy({ chain: user.chainDer }, 'user')
      expect(d.accept && [...d.roles]).to.deep.equal(['user'])
    })

    it('keeps anchors per purpose apart: a device certificate is not checked against the user CA', async () => {
      const d = await policy({ chain: both.chainDer }, 'user')
      expect(!d.accept && d.reason).to.equal('no-path')
    })

    it('rejects a serverAuth certificate asked as a user by EKU, not by chain', async () => {
      const p = createCertificatePolicy({ anchors: [deviceCa.certDer], preset: 'frank', now: () => T0 })
      const d = await p({ chain: device.chainDer }, 'user')
      expect(!d.accept && d.reason).to.equal('eku-purpose')
      expect(!d.accept && d.row).to.equal(6)
    })

    it('checks each role of purpose any against its own anchors', async () => {
      const d = await policy({ chain: device.chainDer }, 'any')
      expect(d.accept && [...d.roles]).to.deep.equal(['device'])
      expect(d.purpose).to.equal('any')
      const u = await policy({ chain: user.chainDer }, 'any')
      expect(u.accept && [...u.roles]).to.deep.equal(['user'])
    })

    it('uses the injected clock', async () => {
      const later = createCertificatePolicy({
        anchors: [deviceCa.certDer],
        preset: 'frank',
        now: () => new Date(NOT_AFTER.getTime() + DAY),
      })
      const d = await later({ chain: device.chainDer }, 'device')
      expect(!d.accept && d.reason).to.equal('expired')
    })

    it('applies the rfc5280 preset when configured', async () => {
      const classic = createCertificatePolicy({ anchors: [deviceCa.certDer], preset: 'rfc5280', now: () => T0 })
      const d = await classic({ chain: device.chainDer }, 'device')
      expect(!d.accept && d.reason).to.equal('eku-purpose')
    })

    it('throws UsageError at creation for an anchor that is not a certificate', () => {
      expect(() => createCertificatePolicy({ anchors: ['not pem'], preset: 'frank' }))
        .to.throw()
        .with.property('code', ErrorCode.USAGE)
    })

    describe('stapled OCSP and revocation', () => {
      const ocsp = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x00])
      const statusRequest = { type: ExtensionType.status_request, data: Uint8Array.from([1, 0, 0, ocsp.length, ...ocsp]) }

      it('hands the status_request OCSP response of the leaf entry to the callback', async () => {
        const seen: RevocationContext[] = []
        const p = createCertificatePolicy({
          anchors: [deviceCa.certDer],
          preset: 'frank',
          now: () => T0,
          checkRevocation: (_c, _i, ctx) => {
            seen.push(ctx)
            return 'good'
          },
        })
        const d = await p({ chain: device.chainDer, entries: [{ extensions: [statusRequest] }] }, 'device')
        expect(d.accept && d.revocation).to.equal('good')
        expect(hex(seen[0]!.ocspResponse!)).to.equal(hex(ocsp))
      })

      it('takes entryExtensions as an alternative to entries', async () => {
        let got: Uint8Array | undefined
        const p = createCertificatePolicy({
          anchors: [deviceCa.certDer],
          preset: 'frank',
          now: () => T0,
          checkRevocation: (_c, _i, ctx) => ((got = ctx.ocspResponse), 'good'),
        })
        await p({ chain: device.chainDer, entryExtensions: [[statusRequest]] }, 'device')
        expect(got && hex(got)).to.equal(hex(ocsp))
      })

      it('rejects a revoked certificate and an unknown status when a check is required', async () => {
        const mk = (status: 'revoked' | 'unknown'): CertificatePolicyFn =>
          createCertificatePolicy({
            anchors: [deviceCa.certDer],
            preset: 'frank',
            now: () => T0,
            checkRevocation: () => status,
            requireRevocationCheck: true,
          })
        const r = await mk('revoked')({ chain: device.chainDer }, 'device')
        expect(!r.accept && r.reason).to.equal('revoked')
        const u = await mk('unknown')({ chain: device.chainDer }, 'device')
        expect(!u.accept && u.reason).to.equal('revocation-unknown')
      })
    })
  })

  describe('certificateAuthoritiesFromAnchors', () => {
    it('returns the DER subject Names of the anchors, then of intermediates, without duplicates', () => {
      const names = certificateAuthoritiesFromAnchors([deviceCa.certPem, userCa.certDer, deviceCa.certDer], [userInt.certDer])
      expect(names.map(hex)).to.deep.equal(
        [deviceCa, userCa, userInt].map((c) => hex(parseCertificate(c.certDer).subjectDer)),
      )
      expect(names[0]![0]).to.equal(0x30)
      expect(nameKey(names[2]!)).to.equal(parseCertificate(userInt.certDer).subjectKey)
    })

    it('round-trips through the certificate_authorities codec', () => {
      const names = certificateAuthoritiesFromAnchors([deviceCa.certDer, userCa.certDer])
      const decoded = decodeCertificateAuthorities(encodeCertificateAuthorities(names), 0, 'test')
      expect(decoded.map(hex)).to.deep.equal(names.map(hex))
    })
  })

  describe('ekuOidFilter', () => {
    it('encodes the user filter: extKeyUsage OID body and a SEQUENCE with clientAuth', () => {
      const f = ekuOidFilter('user')
      expect(hex(f.oid)).to.equal('551d25')
      expect(hex(f.values)).to.equal('300a06082b06010505070302')
    })

    it('encodes the device and server-peer filter with serverAuth', () => {
      expect(hex(ekuOidFilter('device').values)).to.equal('300a06082b06010505070301')
      expect(hex(ekuOidFilter('server-peer').values)).to.equal('300a06082b06010505070301')
    })

    it('round-trips through the oid_filters codec', () => {
      const filters = [ekuOidFilter('user')]
      const decoded = decodeOidFilters(encodeOidFilters(filters), 0, 'test')
      expect(decoded.map((f) => [hex(f.oid), hex(f.values)])).to.deep.equal([['551d25', '300a06082b06010505070302']])
    })
  })

  describe('matchesOidFilters (RFC 8446 §4.2.5)', () => {
    it('matches a certificate that lists the requested purpose', () => {
      expect(matchesOidFilters(user.certDer, [ekuOidFilter('user')])).to.equal(true)
      expect(matchesOidFilters(device.certDer, [ekuOidFilter('device')])).to.equal(true)
    })

    it('does not match a certificate that lacks the requested purpose', () => {
      expect(matchesOidFilters(user.certDer, [ekuOidFilter('device')])).to.equal(false)
      expect(matchesOidFilters(device.certDer, [ekuOidFilter('user')])).to.equal(false)
    })

    it('does not match a certificate without extKeyUsage', () => {
      expect(matchesOidFilters(noEku.certDer, [ekuOidFilter('user')])).to.equal(false)
    })

    it('requires every listed purpose (the certificate may have more)', () => {
      const bothFilter: OidFilter = {
        oid: ekuOidFilter('user').oid,
        values: Uint8Array.from([0x30, 0x14, ...ekuOidFilter('user').values.subarray(2), ...ekuOidFilter('device').values.subarray(2)]),
      }
      expect(matchesOidFilters(both.certDer, [bothFilter])).to.equal(true)
      expect(matchesOidFilters(device.certDer, [bothFilter])).to.equal(false)
    })

    it('accepts an OID sent with its tag and length', () => {
      const f = { oid: Uint8Array.from([0x06, 0x03, 0x55, 0x1d, 0x25]), values: ekuOidFilter('user').values }
      expect(matchesOidFilters(user.certDer, [f])).to.equal(true)
      expect(matchesOidFilters(device.certDer, [f])).to.equal(false)
    })

    it('matches keyUsage filters bit by bit', () => {
      const ku = (bits: number): OidFilter => ({ oid: Uint8Array.from([0x55, 0x1d, 0x0f]), values: Uint8Array.from([0x03, 0x02, 0x00, bits]) })
      expect(matchesOidFilters(kuOnly.certDer, [ku(0x88)])).to.equal(true) // digitalSignature + keyAgreement
      expect(matchesOidFilters(kuOnly.certDer, [ku(0x20)])).to.equal(false) // keyEncipherment
    })

    it('skips filters on extensions it does not recognise, and matches an empty list', () => {
      const unknown = { oid: Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02]), values: Uint8Array.from([0x05, 0x00]) }
      expect(matchesOidFilters(user.certDer, [unknown])).to.equal(true)
      expect(matchesOidFilters(user.certDer, [])).to.equal(true)
      expect(matchesOidFilters(user.certDer, [unknown, ekuOidFilter('device')])).to.equal(false)
    })

    it('does not match an unparseable certificate', () => {
      expect(matchesOidFilters(Uint8Array.from([1, 2, 3]), [])).to.equal(false)
    })
  })

  describe('matchesCertificateAuthorities (RFC 8446 §4.2.4)', () => {
    it('matches when a certificate of the chain is issued by a named CA', () => {
      const rootName = certificateAuthoritiesFromAnchors([userCa.certDer])
      expect(matchesCertificateAuthorities(user.chainDer, rootName)).to.equal(true)
      const intName = certificateAuthoritiesFromAnchors([userInt.certDer])
      expect(matchesCertificateAuthorities(user.chainDer, intName)).to.equal(true)
    })

    it('does not match a chain from another CA, nor an empty list', () => {
      expect(matchesCertificateAuthorities(device.chainDer, certificateAuthoritiesFromAnchors([userCa.certDer]))).to.equal(false)
      expect(matchesCertificateAuthorities(device.chainDer, [])).to.equal(false)
    })

    it('ignores a malformed name', () => {
      const names = [Uint8Array.from([0x30, 0x05]), ...certificateAuthoritiesFromAnchors([deviceCa.certDer])]
      expect(matchesCertificateAuthorities(device.chainDer, names)).to.equal(true)
    })
  })

  describe('request shaping end to end', () => {
    it('lets a client holding four credentials pick the device for a device request and the user for a user request', async () => {
      const server = await leaf('localhost', deviceCa, { dnsNames: ['localhost'], extKeyUsage: [EKU.serverAuth] })
      const otherUser = await leaf('mallory', await root('Other User CA'), { extKeyUsage: [EKU.clientAuth] })
      const wallet = { device, user, server, otherUser }
      const pick = (names: Uint8Array[], filters: OidFilter[]): string[] =>
        Object.entries(wallet)
          .filter(([, c]) => matchesCertificateAuthorities(c.chainDer, names) && matchesOidFilters(c.certDer, filters))
          .map(([k]) => k)
      // Through the wire codecs, as a CertificateRequest carries them.
      const wire = (names: Uint8Array[], filters: OidFilter[]): [Uint8Array[], OidFilter[]] => [
        decodeCertificateAuthorities(encodeCertificateAuthorities(names), 0, 'ca'),
        decodeOidFilters(encodeOidFilters(filters), 0, 'oid'),
      ]
      const deviceReq = wire(certificateAuthoritiesFromAnchors([deviceCa.certDer]), [ekuOidFilter('device')])
      const userReq = wire(certificateAuthoritiesFromAnchors([userCa.certDer], [userInt.certDer]), [ekuOidFilter('user')])
      expect(pick(...deviceReq)).to.deep.equal(['device', 'server'])
      expect(pick(...userReq)).to.deep.equal(['user'])
    })
  })
})
