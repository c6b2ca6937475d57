/**
 * `h2sc pki --key-type mldsa65|mldsa87` + `h2sc serve` + `h2sc request` as real processes on
 * loopback (issue 14, Deliver 3): device and user authenticate with ML-DSA credentials, the
 * server sends an ML-DSA secondary server certificate, and the ML-DSA-87 authenticators (over
 * 16 KB) cross under the raised SETTINGS_MAX_FRAME_SIZE. The TLS handshake stays P-256.
 */
import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RequestReport } from '../../lib/cli/h2sc.js'
import { h2scProcesses } from '../support/h2sc.js'
import type { Run } from '../support/h2sc.js'

const SETS = ['mldsa65', 'mldsa87'] as const
type Set = (typeof SETS)[number]

/** DER of RFC 9881 id-ML-DSA-65 / -87 (2.16.840.1.101.3.4.3.18 / .19), as the SPKI algorithm carries it. */
const OID_DER: Record<Set, Buffer> = {
  mldsa65: Buffer.from('0609608648016503040312', 'hex'),
  mldsa87: Buffer.from('0609608648016503040313', 'hex'),
}

interface WhoamiBody {
  policy: string
  identities: { label: string; role: string; scheme: string; subject: string }[]
  declined: number
}

describe('cli/h2sc pki + serve + request with ML-DSA credentials', function () {
  this.timeout(60000)
  const procs = h2scProcesses(3)
  let work = ''
  const runs = new Map<string, Run>()
  const dir = (set: string): string => join(work, set)
  const file = (set: string, name: string): string => join(dir(set), name)
  const cred = (set: string, label: string): string[] => ['--cred', `${label}:${file(set, `${label}.pem`)}:${file(set, `${label}-key.pem`)}`]
  const report = (name: string): RequestReport => {
    const r = runs.get(name)!
    expect(r.code, r.stderr).to.equal(0)
    return JSON.parse(r.stdout) as RequestReport
  }

  before(async function () {
    this.timeout(240_000)
    work = mkdtempSync(join(tmpdir(), 'h2sc-ml-dsa-'))
    await Promise.all(
      [...SETS, 'mldsa65-other' as const].map(async (name) => {
        const set = name === 'mldsa65-other' ? 'mldsa65' : name
        runs.set(`pki ${name}`, await procs.run(['pki', '--out', dir(name), '--key-type', set]))
      }),
    )
    await Promise.all(
      SETS.map(async (set) => {
        const port = await procs.serve([
          '--cert', file(set, 'server.pem'),
          '--key', file(set, 'server-key.pem'),
          '--ca', file(set, 'ca.pem'),
          '--server-cert', file(set, 'origin2.pem'),
          '--server-key', file(set, 'origin2-key.pem'),
          '--require', 'device,user',
          '--timeout-ms', '20000',
        ])
        const url = `https://127.0.0.1:${port}/protected`
        const ca = ['--ca', file(set, 'ca.pem')]
        await Promise.all([
          procs.run(['request', url, ...ca, ...cred(set, 'device'), ...cred(set, 'user'), '--json']).then((r) => runs.set(`request ${set}`, r)),
          procs.run(['request', url, ...ca, ...cred(set, 'device'), ...cred(set, 'user')]).then((r) => runs.set(`text ${set}`, r)),
        ])
        if (set === 'mldsa65') {
          // Another ML-DSA-65 PKI: its certificates match no CA name, and presented anyway
          // (--ignore-filters) their signatures check but the chain does not reach the anchor.
          const other = (label: string): string[] => cred('mldsa65-other', label)
          runs.set('other pki', await procs.run(['request', url, ...ca, ...other('device'), ...other('user'), '--ignore-filters', '--json']))
        }
      }),
    )
  })

  after(() => {
    procs.close()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  for (const set of SETS) {
    describe(set, () => {
      it('pki writes ML-DSA device, user and origin2 certificates and a P-256 TLS server certificate', () => {
        const r = runs.get(`pki ${set}`)!
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stdout).to.match(new RegExp(`^ {2}${set} keys, CA CN=h2sc Test Root CA \\(${set}\\) `, 'm'))
        const leaf = (name: string): X509Certificate => new X509Certificate(readFileSync(file(set, `${name}.pem`)))
        // node:crypto on Node 20 parses an ML-DSA certificate but cannot read its key: look for
        // the RFC 9881 OID in the DER instead.
        const oidDer = OID_DER[set]
        for (const name of ['device', 'user', 'origin2']) expect(leaf(name).raw.includes(oidDer)).to.equal(true)
        expect(leaf('server').raw.includes(oidDer)).to.equal(false)
        expect(leaf('server').publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1')
      })

      it('serve --require device,user accepts both ML-DSA identities, each signed with its scheme', () => {
        const rep = report(`request ${set}`)
        expect([rep.ok, rep.status]).to.deep.equal([true, 200])
        expect(rep.answered.map((a) => a.label)).to.deep.equal(['device', 'user'])
        const body = JSON.parse(rep.body) as WhoamiBody
        expect(body.identities.map((i) => [i.label, i.role, i.scheme])).to.deep.equal([
          ['device', 'device', set],
          ['user', 'user', set],
        ])
      })

      it('request offers the ML-DSA schemes and accepts the ML-DSA secondary server certificate', () => {
        const rep = report(`request ${set}`)
        for (const a of rep.asked) expect(a.schemes).to.include.members(['mldsa44', 'mldsa65', 'mldsa87'])
        expect(rep.serverCertificates.map((s) => [s.accepted, s.scheme, s.origins])).to.deep.equal([[true, set, ['other.localhost']]])
      })

      it('text output says both requests were answered and the body names the roles', () => {
        const r = runs.get(`text ${set}`)!
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stdout).to.match(/^status: 200$/m)
        expect(r.stdout).to.match(/^answered #\d+: device$/m)
        expect(r.stdout).to.match(/^answered #\d+: user$/m)
        expect(r.stdout).to.match(new RegExp(`^secondary server certificate accepted: CN=other\\.localhost.* for other\\.localhost, scheme ${set}$`, 'm'))
      })
    })
  }

  it('sends the ML-DSA-87 authenticators in single frames over 16 KB, within the raised limits', () => {
    const rep = report('request mldsa87')
    const certs = rep.frames.filter((f) => f.type === 'CLIENT_CERTIFICATE' || f.type === 'SERVER_CERTIFICATE')
    expect(certs.map((f) => [f.dir, f.type])).to.deep.equal([
      ['in', 'SERVER_CERTIFICATE'],
      ['out', 'CLIENT_CERTIFICATE'],
      ['out', 'CLIENT_CERTIFICATE'],
    ])
    for (const f of certs) {
      expect(f.bytes).to.be.greaterThan(16_384)
      expect(f.bytes).to.be.at.most(f.dir === 'out' ? rep.maxFrameSize.server! : rep.maxFrameSize.client!)
    }
    const small = report('request mldsa65').frames.filter((f) => f.type === 'CLIENT_CERTIFICATE')
    for (const f of small) expect(f.bytes).to.be.within(12_000, 16_384)
  })

  it("reports another ML-DSA PKI's certificates, presented anyway, as untrusted with a 403", () => {
    const r = runs.get('other pki')!
    expect(r.code).to.equal(1)
    const rep = JSON.parse(r.stdout) as RequestReport
    expect(rep.status).to.equal(403)
    const body = JSON.parse(rep.body) as { missing: { label: string; reason: string }[] }
    expect(body.missing.map((m) => m.label).sort()).to.deep.equal(['device', 'user'])
    // The signatures check; only the path to the anchor is missing (not 'bad-signature').
    expect(body.missing.map((m) => m.reason)).to.deep.equal(['no-path', 'no-path'])
  })
})
