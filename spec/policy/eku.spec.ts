import { expect } from 'chai'
import { ErrorCode } from '../../lib/errors.js'
import {
  classifyEku,
  decisionRejectedError,
  evaluateIdentity,
  frankTable,
  identityKind,
} from '../../lib/policy/eku.js'
import type {
  Decision,
  DecisionFailure,
  EkuPolicyInput,
  IdentityPolicy,
  Purpose,
  Role,
} from '../../lib/policy/eku.js'
import { EKU, T0, intermediate, leaf, root } from '../support/certs.js'
import type { TestCredential } from '../support/certs.js'
import { testPki } from '../support/pki.js'

type Expected = { accept: true; roles: Role[] } | { accept: false; reason: DecisionFailure }
const ACCEPT = (...roles: Role[]): Expected => ({ accept: true, roles })
const REJECT = (reason: DecisionFailure): Expected => ({ accept: false, reason })

function check(d: Decision, want: Expected, row: number): void {
  if (want.accept) {
    if (!d.accept) expect.fail(`expected acceptance, got ${d.reason}: ${d.detail}`)
    expect([...d.roles].sort()).to.deep.equal([...want.roles].sort())
    expect(d.rows).to.include(row)
  } else {
    if (d.accept) expect.fail(`expected ${want.reason}, got acceptance as ${[...d.roles].join('+')}`)
    expect(d.reason).to.equal(want.reason)
    expect(d.row).to.equal(row)
  }
}

describe('policy/eku', function () {
  this.timeout(20_000)

  let ca: TestCredential
  const c: Record<string, TestCredential> = {}
  const base = (): Pick<IdentityPolicy, 'chain'> => ({ chain: { anchors: [ca.certDer], now: T0 } })
  const evalAs = (
    cred: TestCredential,
    purpose: Purpose,
    extra: Omit<IdentityPolicy, 'chain'>,
  ): Promise<Decision> => evaluateIdentity([cred.certDer], purpose, { ...base(), ...extra })

  before(async () => {
    ca = await root('EKU Root')
    const mk = (cn: string, more: Parameters<typeof leaf>[2]): Promise<TestCredential> => leaf(cn, ca, more)
    Object.assign(c, {
      clientPerson: await mk('alice', { emails: ['alice@example.test'], extKeyUsage: [EKU.clientAuth] }),
      clientDevice: await mk('legacy-device', { dnsNames: ['dev1.example.test'], extKeyUsage: [EKU.clientAuth] }),
      serverDevice: await mk('peer.example.test', { dnsNames: ['peer.example.test'], ipAddresses: ['192.0.2.7'], extKeyUsage: [EKU.serverAuth] }),
      bothDevice: await mk('both.example.test', { dnsNames: ['both.example.test'], extKeyUsage: [EKU.serverAuth, EKU.clientAuth] }),
      bothPerson: await mk('bob', { emails: ['bob@example.test'], extKeyUsage: [EKU.serverAuth, EKU.clientAuth] }),
      noEku: await mk('no-eku', { dnsNames: ['plain.example.test'] }),
      anyEku: await mk('any-eku', { emails: ['carol@example.test'], extKeyUsage: [EKU.anyExtendedKeyUsage] }),
      emailOnly: await mk('mailer', { emails: ['dave@example.test'], extKeyUsage: [EKU.emailProtection] }),
    })
  })

  describe('classifyEku', () => {
    it('classifies clientAuth as user, serverAuth as device, both, and neither', () => {
      expect([...classifyEku(c.clientPerson!.certDer).roles]).to.deep.equal(['user'])
      expect([...classifyEku(c.serverDevice!.certDer).roles]).to.deep.equal(['device'])
      expect(classifyEku(c.bothDevice!.certDer).class).to.equal('server+client')
      expect(classifyEku(c.bothDevice!.certDer).roles.size).to.equal(2)
      const other = classifyEku(c.emailOnly!.certDer)
      expect(other.class).to.equal('other')
      expect(other.roles.size).to.equal(0)
      expect(other.ekus).to.deep.equal([EKU.emailProtection])
    })

    it('tells a missing extension (absent) from anyExtendedKeyUsage (any)', () => {
      const none = classifyEku(c.noEku!.certDer)
      expect(none.class).to.equal('absent')
      expect(none.ekus).to.deep.equal([])
      expect(classifyEku(c.anyEku!.certDer).class).to.equal('any')
    })
  })

  describe('identityKind', () => {
    it('calls DNS and IP SAN holders devices and email or DN-only holders persons', async () => {
      expect(identityKind(c.serverDevice!.certDer)).to.equal('device')
      expect(identityKind(c.clientPerson!.certDer)).to.equal('person')
      const spiffe = await leaf('workload', ca, { uris: ['spiffe://corp.test/ns/a'] })
      expect(identityKind(spiffe.certDer)).to.equal('device')
      const dnOnly = await leaf('dn only', ca)
      expect(identityKind(dnOnly.certDer)).to.equal('person')
    })
  })

  // EKU digest §3: one `it` per row. Each checks the frank decision under a public and a
  // private PKI, and the classic (rfc5280 preset) behaviour of the same row.
  describe('decision table (initiator certificate)', () => {
    interface Row {
      row: number
      name: string
      cred: string
      expect: Exclude<Purpose, 'any'>
      frankPublic: Expected
      frankPrivate: Expected
      rfc5280: Expected
      allowList?: boolean
      /** Row the private-PKI variant falls under, when it differs. */
      privateRow?: number
    }
    const rows: Row[] = [
      { row: 1, name: '{client} person/org, expect user → accept as user', cred: 'clientPerson', expect: 'user', frankPublic: ACCEPT('user'), frankPrivate: ACCEPT('user'), rfc5280: ACCEPT('user') },
      { row: 2, name: '{client} device, expect device → reject unless private PKI allow-list', cred: 'clientDevice', expect: 'device', frankPublic: REJECT('eku-purpose'), frankPrivate: ACCEPT('device'), allowList: true, rfc5280: ACCEPT('device') },
      { row: 3, name: '{client}, expect server-peer (public PKI) → reject (private PKI: row 2)', cred: 'clientDevice', expect: 'server-peer', frankPublic: REJECT('eku-purpose'), frankPrivate: REJECT('eku-purpose'), privateRow: 2, rfc5280: ACCEPT('device') },
      { row: 4, name: '{server} device, expect server-peer → accept as server peer', cred: 'serverDevice', expect: 'server-peer', frankPublic: ACCEPT('device'), frankPrivate: ACCEPT('device'), rfc5280: REJECT('eku-purpose') },
      { row: 5, name: '{server} device, expect device → accept as device', cred: 'serverDevice', expect: 'device', frankPublic: ACCEPT('device'), frankPrivate: ACCEPT('device'), rfc5280: REJECT('eku-purpose') },
      { row: 6, name: '{server}, expect user → reject', cred: 'serverDevice', expect: 'user', frankPublic: REJECT('eku-purpose'), frankPrivate: REJECT('eku-purpose'), rfc5280: REJECT('eku-purpose') },
      { row: 7, name: '{server, client} device, expect server-peer → accept as server peer', cred: 'bothDevice', expect: 'server-peer', frankPublic: ACCEPT('device'), frankPrivate: ACCEPT('device'), rfc5280: ACCEPT('device') },
      { row: 8, name: '{server, client} person/org, expect user → accept only under a private PKI', cred: 'bothPerson', expect: 'user', frankPublic: REJECT('eku-private-pki-only'), frankPrivate: ACCEPT('user'), rfc5280: ACCEPT('user') },
      { row: 9, name: 'no EKU extension → accept only under a private PKI', cred: 'noEku', expect: 'device', frankPublic: REJECT('eku-private-pki-only'), frankPrivate: ACCEPT('device'), rfc5280: ACCEPT('device') },
      { row: 10, name: 'anyExtendedKeyUsage → as rows 7/8 under a private PKI, reject under public', cred: 'anyEku', expect: 'user', frankPublic: REJECT('eku-private-pki-only'), frankPrivate: ACCEPT('user'), rfc5280: ACCEPT('user') },
      { row: 11, name: 'only other purposes (emailProtection) → reject', cred: 'emailOnly', expect: 'user', frankPublic: REJECT('eku-purpose'), frankPrivate: REJECT('eku-purpose'), rfc5280: REJECT('eku-purpose') },
    ]
    for (const r of rows) {
      it(`row ${r.row}: ${r.name}`, async () => {
        const cred = c[r.cred]!
        check(await evalAs(cred, r.expect, { preset: 'frank', pki: 'public' }), r.frankPublic, r.row)
        check(
          await evalAs(cred, r.expect, { preset: 'frank', pki: 'private', ...(r.allowList ? { allowClientAuthDevices: true } : {}) }),
          r.frankPrivate,
          r.privateRow ?? r.row,
        )
        check(await evalAs(cred, r.expect, { preset: 'rfc5280' }), r.rfc5280, r.row)
      })
    }

    it('row 2: without the allow-list a private PKI still rejects a clientAuth device', async () => {
      check(await evalAs(c.clientDevice!, 'device', { preset: 'frank', pki: 'private' }), REJECT('eku-purpose'), 2)
    })

    it('row 2: the allow-list does not make a person-type clientAuth certificate a device', async () => {
      const d = await evalAs(c.clientPerson!, 'device', { preset: 'frank', pki: 'private', allowClientAuthDevices: true })
      check(d, REJECT('eku-purpose'), 2)
    })

    it('row 9 and 10: accepted under a private PKI for every purpose', async () => {
      for (const cred of [c.noEku!, c.anyEku!]) {
        for (const p of ['user', 'device'] as const) {
          const d = await evalAs(cred, p, { preset: 'frank', pki: 'private' })
          expect(d.accept, `${p}`).to.equal(true)
        }
      }
    })

    it('row 4: checks the expected peer name and address (digest §4.2 step 4)', async () => {
      const f = { preset: 'frank' as const }
      expect((await evalAs(c.serverDevice!, 'server-peer', { ...f, expectedPeer: { dnsName: 'peer.example.test' } })).accept).to.equal(true)
      expect((await evalAs(c.serverDevice!, 'server-peer', { ...f, expectedPeer: { ip: '192.0.2.7' } })).accept).to.equal(true)
      const wrong = await evalAs(c.serverDevice!, 'server-peer', { ...f, expectedPeer: { dnsName: 'evil.example.test' } })
      expect(!wrong.accept && wrong.reason).to.equal('peer-identity')
      const wrongIp = await evalAs(c.serverDevice!, 'server-peer', { ...f, expectedPeer: { ip: '192.0.2.8' } })
      expect(!wrongIp.accept && wrongIp.reason).to.equal('peer-identity')
    })

    it('row 4: a serverAuth certificate without any device-type name is not a server peer', async () => {
      const pki = await testPki('p256')
      const d = await evaluateIdentity(pki.device.chainDer, 'server-peer', {
        chain: { anchors: [pki.root.certDer] },
        preset: 'frank',
      })
      expect(!d.accept && d.reason).to.equal('peer-identity')
    })

    it('row 5: the test PKI device credential is a device under frank and not under rfc5280', async () => {
      const pki = await testPki('p256')
      const policy = { chain: { anchors: [pki.root.certDer] } }
      const frank = await evaluateIdentity(pki.device.chainDer, 'device', { ...policy, preset: 'frank' })
      expect(frank.accept && [...frank.roles]).to.deep.equal(['device'])
      const classic = await evaluateIdentity(pki.device.chainDer, 'device', { ...policy, preset: 'rfc5280' })
      expect(!classic.accept && classic.reason).to.equal('eku-purpose')
    })
  })

  describe('frankTable', () => {
    it('names the row and the OID that justifies each acceptance', () => {
      expect(frankTable('server', 'device', 'device')).to.include({ row: 5, accept: true, oid: EKU.serverAuth })
      expect(frankTable('client', 'user', 'person')).to.include({ row: 1, accept: true, oid: EKU.clientAuth })
      expect(frankTable('client', 'device', 'device', { pki: 'private', allowClientAuthDevices: true })).to.include({ row: 2, oid: EKU.clientAuth })
    })
  })

  describe('purpose any', () => {
    it('reports both roles for a serverAuth+clientAuth certificate under a private PKI', async () => {
      const d = await evalAs(c.bothPerson!, 'any', { preset: 'frank', pki: 'private' })
      expect(d.accept && [...d.roles].sort()).to.deep.equal(['device', 'user'])
    })

    it('reports the one acceptable role', async () => {
      const d = await evalAs(c.serverDevice!, 'any', { preset: 'frank' })
      expect(d.accept && [...d.roles]).to.deep.equal(['device'])
    })

    it('rejects when no role is acceptable, explaining both', async () => {
      const d = await evalAs(c.emailOnly!, 'any', { preset: 'frank' })
      expect(!d.accept && d.reason).to.equal('eku-purpose')
      expect(!d.accept && d.detail.split(';')).to.have.length(2)
    })
  })

  describe('custom preset', () => {
    it('asks the callback per purpose with the classification and path', async () => {
      const seen: EkuPolicyInput[] = []
      const d = await evalAs(c.clientDevice!, 'any', {
        preset: (input) => {
          seen.push(input)
          return input.purpose === 'device' ? { accept: true } : { accept: false, detail: 'no users here' }
        },
      })
      expect(seen.map((s) => s.purpose)).to.deep.equal(['user', 'device'])
      expect(seen[0]!.eku.class).to.equal('client')
      expect(seen[0]!.idKind).to.equal('device')
      expect(seen[0]!.path).to.have.length(2)
      expect(d.accept && [...d.roles]).to.deep.equal(['device'])
    })

    it('turns a refusal or a throw into custom-rejected', async () => {
      const no = await evalAs(c.clientPerson!, 'user', { preset: async () => ({ accept: false, detail: 'nope' }) })
      expect(!no.accept && no.reason).to.equal('custom-rejected')
      const thrown = await evalAs(c.clientPerson!, 'user', {
        preset: () => {
          throw new Error('boom')
        },
      })
      expect(!thrown.accept && thrown.reason).to.equal('custom-rejected')
    })
  })

  describe('with chain validation', () => {
    it('reports a chain failure as the decision reason, before any EKU rule', async () => {
      const stranger = await leaf('stranger', await root('Stranger Root'), { extKeyUsage: [EKU.clientAuth] })
      const d = await evalAs(stranger, 'user', { preset: 'frank' })
      expect(!d.accept && d.reason).to.equal('no-path')
      expect(!d.accept && d.index).to.equal(0)
    })

    it('rejects with eku-issuer when an issuing CA does not allow the accepted purpose', async () => {
      const userCa = await intermediate('User CA', ca, { extKeyUsage: [EKU.clientAuth] })
      const dev = await leaf('dev under user ca', userCa, { dnsNames: ['d.example.test'], extKeyUsage: [EKU.serverAuth] })
      const d = await evaluateIdentity([dev.certDer, userCa.certDer], 'device', { ...base(), preset: 'frank' })
      expect(!d.accept && d.reason).to.equal('eku-issuer')
    })

    it('turns a rejection into PolicyRejectedError carrying the reason', async () => {
      const d = await evalAs(c.serverDevice!, 'user', { preset: 'frank' })
      if (d.accept) expect.fail('expected a rejection')
      const e = decisionRejectedError(d)
      expect(e.code).to.equal(ErrorCode.POLICY_REJECTED)
      expect(e.reason).to.equal('eku-purpose')
    })

    it('returns the validated path leaf first, anchor last', async () => {
      const d = await evalAs(c.clientPerson!, 'user', { preset: 'frank' })
      expect(d.accept && d.path.length).to.equal(2)
      expect(d.accept && d.path[1]!.subject).to.contain('CN=EKU Root')
    })
  })
})
