import { expect } from 'chai'
import { nameConstraintViolation } from '../../lib/policy/name-constraints.js'
import type { GeneralName } from '../../lib/policy/der.js'
import { parseCertificate } from '../../lib/policy/parsed-cert.js'
import type { ParsedCert } from '../../lib/policy/parsed-cert.js'
import { leaf, root } from '../support/certs.js'

const permit = (...names: GeneralName[]): { permitted: { base: GeneralName }[]; excluded: [] } => ({
  permitted: names.map((base) => ({ base })),
  excluded: [],
})
const exclude = (...names: GeneralName[]): { permitted: []; excluded: { base: GeneralName }[] } => ({
  permitted: [],
  excluded: names.map((base) => ({ base })),
})

describe('policy/name-constraints', function () {
  this.timeout(20_000)
  let web: ParsedCert
  let mail: ParsedCert
  let caDer: Uint8Array

  before(async () => {
    const ca = await root('NC Unit Root')
    caDer = ca.certDer
    web = parseCertificate((await leaf('web', ca, { dnsNames: ['www.example.com'], ipAddresses: ['10.1.2.3'] })).certDer)
    mail = parseCertificate((await leaf('mail', ca, { emails: ['Alice@Mail.Example.com'] })).certDer)
  })

  it('treats a leading-dot DNS constraint as subdomains only', () => {
    expect(nameConstraintViolation(web, permit({ type: 'dns', value: '.example.com' }))).to.equal(undefined)
    expect(nameConstraintViolation(web, permit({ type: 'dns', value: '.www.example.com' }))).to.be.a('string')
  })

  it('compares DNS names case-insensitively', () => {
    expect(nameConstraintViolation(web, permit({ type: 'dns', value: 'EXAMPLE.com' }))).to.equal(undefined)
  })

  it('matches an email host constraint, a .domain constraint and an exact mailbox', () => {
    expect(nameConstraintViolation(mail, permit({ type: 'email', value: 'mail.example.com' }))).to.equal(undefined)
    expect(nameConstraintViolation(mail, permit({ type: 'email', value: '.example.com' }))).to.equal(undefined)
    expect(nameConstraintViolation(mail, permit({ type: 'email', value: 'Alice@mail.example.com' }))).to.equal(undefined)
    expect(nameConstraintViolation(mail, permit({ type: 'email', value: 'bob@mail.example.com' }))).to.be.a('string')
    expect(nameConstraintViolation(mail, permit({ type: 'email', value: 'example.com' }))).to.be.a('string')
  })

  it('matches IPv4 addresses under a mask and never across families', () => {
    const v4 = Uint8Array.from([10, 0, 0, 0, 255, 0, 0, 0])
    const v6 = new Uint8Array(32)
    expect(nameConstraintViolation(web, permit({ type: 'ip', bytes: v4 }))).to.equal(undefined)
    expect(nameConstraintViolation(web, permit({ type: 'ip', bytes: v6 }))).to.be.a('string')
    expect(nameConstraintViolation(web, exclude({ type: 'ip', bytes: v4 }))).to.be.a('string')
  })

  it('matches a directoryName constraint as an RDN prefix of the subject', () => {
    // Subjects are "CN=…, O=policy spec": the first RDN is CN.
    const ca = parseCertificate(caDer)
    expect(nameConstraintViolation(web, permit({ type: 'dn', der: web.subjectDer }))).to.equal(undefined)
    expect(nameConstraintViolation(web, permit({ type: 'dn', der: ca.subjectDer }))).to.be.a('string')
  })

  it('fails closed on a constraint form it cannot evaluate when the certificate has such a name', async () => {
    const ca = await root('SRV Root')
    const srv = parseCertificate((await leaf('srv', ca)).certDer)
    const withOther: ParsedCert = { ...srv, subjectAltNames: [{ type: 'other', tag: 0xa0, oid: '1.3.6.1.5.5.7.8.7' }] }
    const c = permit({ type: 'other', tag: 0xa0, oid: '1.3.6.1.5.5.7.8.7' })
    expect(nameConstraintViolation(withOther, c)).to.match(/cannot be checked/)
    expect(nameConstraintViolation(srv, c)).to.equal(undefined)
  })
})
