/**
 * `h2sc demo --key-type` (issue 14, Deliver 3): the end-to-end device + user demo on loopback,
 * run as a real process, with the credentials in the authenticators of the chosen key type. For
 * ML-DSA the TLS handshake stays P-256 (Node 20 cannot sign TLS with ML-DSA) and the ML-DSA-87
 * authenticators, over 16 KB, cross under the raised SETTINGS_MAX_FRAME_SIZE.
 */
import { expect } from 'chai'
import { PKI_KEY_TYPES } from '../../lib/pki/test-pki.js'
import type { DemoReport } from '../../lib/cli/h2sc.js'
import { h2scProcesses } from '../support/h2sc.js'
import type { Run } from '../support/h2sc.js'

/** RFC 9113 §6.5.2 initial value. */
const DEFAULT_MAX_FRAME_SIZE = 16_384

/** Key types run with --json: every ML-DSA set and a classical type of each family. */
const JSON_RUNS = ['mldsa44', 'mldsa65', 'mldsa87', 'p256', 'ed25519', 'rsa-pss'] as const

const EXPECTED_SCHEME: Record<(typeof JSON_RUNS)[number], string> = {
  mldsa44: 'mldsa44',
  mldsa65: 'mldsa65',
  mldsa87: 'mldsa87',
  p256: 'ecdsa_secp256r1_sha256',
  ed25519: 'ed25519',
  'rsa-pss': 'rsa_pss_pss_sha256',
}

describe('cli/h2sc demo --key-type', function () {
  this.timeout(60000)
  // Two at a time: an ML-DSA-87 demo is a second of CPU on a 2-core machine others share.
  const procs = h2scProcesses(2)
  const runs = new Map<string, Run>()
  const report = (keyType: string): DemoReport => {
    const r = runs.get(keyType)!
    expect(r.code, r.stderr).to.equal(0)
    return JSON.parse(r.stdout) as DemoReport
  }

  before(async function () {
    this.timeout(240_000)
    await Promise.all([
      procs.run(['demo', '--key-type', 'mldsa87']).then((r) => runs.set('text mldsa87', r)),
      procs.run(['demo', '--key-type', 'mldsa65']).then((r) => runs.set('text mldsa65', r)),
      procs.run(['demo']).then((r) => runs.set('text default', r)),
      ...JSON_RUNS.map((t) => procs.run(['demo', '--key-type', t, '--json'], { timeoutMs: 60000 }).then((r) => runs.set(t, r))),
      procs.run(['demo', '--key-type', 'mldsa99']).then((r) => runs.set('bad', r)),
      procs.run(['demo', '--key-type']).then((r) => runs.set('missing value', r)),
    ])
  })

  after(() => procs.close())

  for (const keyType of JSON_RUNS) {
    it(`authenticates device + user with ${keyType} credentials`, () => {
      const d = report(keyType)
      expect(d.ok, d.problems.join('; ')).to.equal(true)
      expect([d.keyType, d.status, d.declined]).to.deep.equal([keyType, 200, 0])
      expect(d.identities.map((i) => [i.label, i.role, i.scheme])).to.deep.equal([
        ['device', 'device', EXPECTED_SCHEME[keyType]],
        ['user', 'user', EXPECTED_SCHEME[keyType]],
      ])
      // origin2 as a secondary server certificate, device and user as client authenticators.
      expect(d.authenticators.map((a) => [a.frame, a.who, a.scheme])).to.deep.equal([
        ['SERVER_CERTIFICATE', 'other.localhost', EXPECTED_SCHEME[keyType]],
        ['CLIENT_CERTIFICATE', 'device', EXPECTED_SCHEME[keyType]],
        ['CLIENT_CERTIFICATE', 'user', EXPECTED_SCHEME[keyType]],
      ])
      expect(d.serverCertificates.map((s) => s.accepted)).to.deep.equal([true])
    })
  }

  it('keeps the TLS handshake classical for ML-DSA (P-256 server certificate) and native otherwise', () => {
    expect(JSON_RUNS.map((t) => [t, report(t).tlsKeyType])).to.deep.equal([
      ['mldsa44', 'p256'],
      ['mldsa65', 'p256'],
      ['mldsa87', 'p256'],
      ['p256', 'p256'],
      ['ed25519', 'ed25519'],
      ['rsa-pss', 'rsa-pss'],
    ])
  })

  it('sends ML-DSA-87 authenticators over 16 KB within both sides\' raised SETTINGS_MAX_FRAME_SIZE', () => {
    const d = report('mldsa87')
    expect(d.maxFrameSize.server).to.be.greaterThan(DEFAULT_MAX_FRAME_SIZE)
    expect(d.maxFrameSize.client).to.be.greaterThan(DEFAULT_MAX_FRAME_SIZE)
    for (const a of d.authenticators) {
      expect(a.bytes).to.be.greaterThan(DEFAULT_MAX_FRAME_SIZE)
      expect(a.bytes).to.be.at.most(a.dir === 'client -> server' ? d.maxFrameSize.server! : d.maxFrameSize.client!)
    }
    // The frame log holds the same sizes the authenticators report.
    expect(d.frames.filter((f) => f.type.endsWith('_CERTIFICATE')).map((f) => f.bytes)).to.deep.equal(d.authenticators.map((a) => a.bytes))
  })

  it('orders the authenticator sizes ML-DSA-44 < 65 < 87, each far above P-256', () => {
    const largest = (t: string): number => Math.max(...report(t).authenticators.map((a) => a.bytes))
    const sizes = ['p256', 'mldsa44', 'mldsa65', 'mldsa87'].map(largest)
    expect([...sizes].sort((a, b) => a - b)).to.deep.equal(sizes)
    expect(sizes[1]! / sizes[0]!).to.be.greaterThan(5)
  })

  it('prints the PKI, the TLS key, the frame-size limits and each authenticator with its size and scheme', () => {
    const r = runs.get('text mldsa87')!
    expect(r.code, r.stderr).to.equal(0)
    const out = r.stdout
    expect(out).to.match(/^h2sc demo: .*\(fresh ML-DSA-87 PKI; TLS handshake with a P-256 server certificate\)$/m)
    expect(out).to.match(/^ {2}SETTINGS_MAX_FRAME_SIZE: server (\d+), client (\d+) \(HTTP\/2 default 16384\)$/m)
    const auths = [...out.matchAll(/^ {4}(server -> client|client -> server) {2}(\w+) +(\d+) bytes {2}authenticator: (.+), (\w+)$/gm)]
    expect(auths.map((m) => [m[1], m[2], m[4], m[5]])).to.deep.equal([
      ['server -> client', 'SERVER_CERTIFICATE', 'other.localhost', 'mldsa87'],
      ['client -> server', 'CLIENT_CERTIFICATE', 'device', 'mldsa87'],
      ['client -> server', 'CLIENT_CERTIFICATE', 'user', 'mldsa87'],
    ])
    for (const m of auths) expect(Number(m[3])).to.be.greaterThan(DEFAULT_MAX_FRAME_SIZE)
    expect(out).to.match(/^ {2}largest authenticator: \d+ bytes \(mldsa87, .+\), over the 16384-byte default: sent under the raised limit$/m)
    expect(out).to.match(/^ {4}identity 'device': .* scheme mldsa87 /m)
    expect(out.trimEnd().split('\n').at(-1)).to.equal('ok: both identities presented and validated')
  })

  it('prints ML-DSA-65 authenticators (under 16 KB) without the over-the-default note', () => {
    const r = runs.get('text mldsa65')!
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^ {2}largest authenticator: \d+ bytes \(mldsa65, .+\)$/m)
    expect(r.stdout).to.match(/^ {4}identity 'user': .* scheme mldsa65 /m)
  })

  it('defaults to P-256 with a single-key-type header', () => {
    const r = runs.get('text default')!
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.split('\n')[0]).to.equal('h2sc demo: HTTP/2 secondary certificates on loopback (fresh P-256 PKI)')
    expect(r.stdout).to.match(/authenticator: device, ecdsa_secp256r1_sha256$/m)
  })

  it('refuses an unknown --key-type with exit 2, one line listing the types, and no demo', () => {
    const r = runs.get('bad')!
    expect(r.code).to.equal(2)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.equal(`h2sc: --key-type must be one of ${PKI_KEY_TYPES.join(', ')}, got 'mldsa99'\n`)
  })

  it('refuses --key-type without a value with exit 2', () => {
    const r = runs.get('missing value')!
    expect(r.code).to.equal(2)
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1)
    expect(r.stderr).to.match(/^h2sc: .*--key-type/)
  })
})
