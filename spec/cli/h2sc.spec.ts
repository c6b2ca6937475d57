import { expect } from 'chai'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type http2 from 'node:http2'
import { connect, clientCerts } from '../../lib/client.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { encodeFrameHeader } from '../../lib/wire/h2/frame-header.js'
import { encodeExtensionFrame } from '../../lib/wire/h2/certificate-frame.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { COMMANDS } from '../../lib/cli/h2sc.js'
import { testPki } from '../support/pki.js'
import { createTestPki, writeTestPki } from '../../lib/pki/test-pki.js'
import { ekuOidFilter } from '../../lib/policy/certificate-policy.js'
import { get } from '../../interop/support/h2.js'
import { h2scProcesses } from '../support/h2sc.js'
import type { Run } from '../support/h2sc.js'

const procs = h2scProcesses()
const h2sc = (args: readonly string[], timeoutMs = 30000, stdin?: string | Uint8Array): Promise<Run> => procs.run(args, { timeoutMs, ...(stdin !== undefined ? { stdin } : {}) })
const startServe = (args: readonly string[]): Promise<number> => procs.serve(args)

interface IdentityJson {
  label: string
  role: string
  roles: string[]
  rows: number[]
}

interface Report {
  status: number
  body: string
  answered: { label: string | null }[]
}

/** SETTINGS + SERVER_CERTIFICATE + SETTINGS ACK, as one decrypted TLS record would carry them. */
async function tlsRecordHex(): Promise<string> {
  const pki = await testPki('p256')
  const ea = new ExportedAuthenticators({ role: 'server', exporter: (_l, _c, n) => new Uint8Array(n).fill(3), hash: 'sha256' })
  const auth = ea.authenticate({ credential: { chain: pki.origin2.chainDer, key: nodeCrypto.importPrivateKey(pki.origin2.keyPem) } })
  const settings = Buffer.from('000300000064f5a100000001', 'hex') // MAX_CONCURRENT_STREAMS=100, 0xf5a1=1
  return Buffer.concat([
    encodeFrameHeader({ length: settings.length, type: 0x4, flags: 0, streamId: 0 }),
    settings,
    encodeExtensionFrame(0xf8, auth),
    encodeFrameHeader({ length: 0, type: 0x4, flags: 0x1, streamId: 0 }),
  ]).toString('hex')
}

/** Runs needing no PKI: [name, argv (given the spec's directory), stdin (given the record hex)]. */
const STANDALONE: [string, (dir: string) => string[], ((recordHex: string) => string | Uint8Array)?][] = [
  ['top help', () => ['--help']],
  ['serve help', () => ['serve', '-h']],
  ['key-type foo', (d) => ['pki', '--out', join(d, 'never'), '--key-type', 'foo']],
  ['inspect 0x multi-line', () => ['inspect', '0x00 00 00\n04 01 00\n00 00 00\n']],
  ['inspect deadbeef', () => ['inspect', 'deadbeef']],
  ['inspect binary file', (d) => ['inspect', join(d, 'record.bin')]],
  ['inspect stdin', () => ['inspect', '-'], (hex) => hex.match(/.{1,40}/g)!.join('\n')],
]

const BAD: [string, string[], RegExp][] = [
  ['an unknown --policy', ['serve', '--cert', 'a', '--key', 'b', '--ca', 'c', '--policy', 'lenient'], /--policy must be rfc5280 or frank/],
  ['an unknown --require label', ['serve', '--cert', 'a', '--key', 'b', '--ca', 'c', '--require', 'device,robot'], /--require takes device and\/or user/],
  ['an unreadable certificate file', ['serve', '--cert', '/nonexistent/cert.pem', '--key', 'b', '--ca', 'c'], /cannot read certificate file \/nonexistent\/cert\.pem: ENOENT/],
  ['an unreadable CA file for request', ['request', 'https://127.0.0.1:1/', '--ca', '/nonexistent/ca.pem'], /cannot read CA file/],
  ['an unknown option', ['serve', '--bogus'], /bogus/],
  ['a bad --cred', ['request', 'https://127.0.0.1:1/', '--ca', 'x', '--cred', 'nolabel'], /--cred wants LABEL:CERT:KEY/],
]

describe('cli/h2sc', function () {
  this.timeout(60000)
  let dir: string
  let work = ''
  const f = (name: string): string => join(dir, name)
  const sessions: http2.ClientHttp2Session[] = []
  let frankPort: number
  let strictPort: number
  const runs = new Map<string, Run>()

  const ocred = (label: string): string[] => ['--cred', `${label}:${join(work, 'other', `${label}.pem`)}:${join(work, 'other', `${label}-key.pem`)}`]
  const e = (n: string): string => join(work, 'expired', n)
  const ecred = (label: string): string[] => ['--cred', `${label}:${e(`${label}.pem`)}:${e(`${label}-key.pem`)}`]
  const serverFiles = (): string[] => ['--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', f('ca.pem')]
  const cred = (label: string, name: string): string[] => ['--cred', `${label}:${f(`${name}.pem`)}:${f(`${name}-key.pem`)}`]

  function inspectHex(): string {
    const request = encodeCertificateRequest({ context: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), signatureAlgorithms: [0x0403, 0x0807], oidFilters: [ekuOidFilter('user')] })
    const payload = encodeAuthenticatorRequests([request])
    const header = encodeFrameHeader({ length: payload.length, type: 0xf9, flags: 0, streamId: 0 })
    return Buffer.concat([header, payload]).toString('hex')
  }

  // Every process is started here, as many at once as can be (each is a Node + tsx start-up);
  // the tests below only look at the results.
  before(async function () {
    // About 25 Node + tsx start-ups, four at a time, on a machine others share.
    this.timeout(180_000)
    dir = mkdtempSync(join(tmpdir(), 'h2sc-spec-'))
    work = mkdtempSync(join(tmpdir(), 'h2sc-spec-work-'))
    const record = await tlsRecordHex()
    writeFileSync(join(work, 'record.bin'), Buffer.from(record, 'hex'))
    // The other and the expired PKI are written by `h2sc pki` in spec/cli/args.spec.ts; here they
    // only feed the real server and client.
    const now = Date.now()
    const [otherPki, expiredPki] = await Promise.all([
      createTestPki(),
      createTestPki({ leafValidity: { notBefore: new Date(now - 31 * 86_400_000), notAfter: new Date(now - 86_400_000) } }),
    ])
    await Promise.all([writeTestPki(otherPki, join(work, 'other')), writeTestPki(expiredPki, join(work, 'expired'))])
    const standalone = Promise.all([
      ...BAD.map(async ([name, args]) => runs.set(name, await h2sc(args))),
      h2sc(['inspect', inspectHex()]).then((r) => runs.set('inspect', r)),
      ...STANDALONE.map(async ([name, args, input]) => runs.set(name, await h2sc(args(work), 30000, input?.(record)))),
    ])
    const served = (async () => {
      runs.set('pki', await h2sc(['pki', '--out', dir]))
      ;[frankPort, strictPort] = await Promise.all([
        startServe([...serverFiles(), '--policy', 'frank', '--require', 'device,user', '--timeout-ms', '3000']),
        startServe([...serverFiles(), '--policy', 'rfc5280', '--require', 'user', '--timeout-ms', '3000']),
      ])
      await Promise.all([
        h2sc(['request', `https://127.0.0.1:${frankPort}/whoami`, '--ca', f('ca.pem'), ...cred('device', 'device'), ...cred('user', 'user'), '--json']).then((r) => runs.set('accepted', r)),
        h2sc(['request', `https://127.0.0.1:${frankPort}/protected`, '--ca', f('ca.pem'), ...cred('user', 'user'), '--decline']).then((r) => runs.set('declined', r)),
        h2sc(['request', `https://127.0.0.1:${strictPort}/whoami`, '--ca', f('ca.pem'), ...cred('user', 'device'), '--ignore-filters', '--json']).then((r) => runs.set('rejected', r)),
        // Bad files, each refused before anything listens.
        h2sc(['serve', '--port', '0', '--cert', f('server.pem'), '--key', f('device-key.pem'), '--ca', f('ca.pem')]).then((r) => runs.set('serve key mismatch', r)),
        h2sc(['serve', '--port', '0', ...serverFiles(), '--server-cert', f('origin2.pem'), '--server-key', f('user-key.pem')]).then((r) => runs.set('serve server-key mismatch', r)),
        // Another PKI's certificates do not match this one's CA names, and fail as untrusted
        // (not bad-signature) when presented anyway.
        ...['', '--ignore-filters'].map((extra) =>
          h2sc(['request', `https://127.0.0.1:${frankPort}/protected`, '--ca', f('ca.pem'), ...ocred('device'), ...ocred('user'), '--json', ...(extra ? [extra] : [])]).then((r) => runs.set(`other pki${extra}`, r)),
        ),
        // A PKI whose device and user certificates expired: the policy answers 'expired'.
        (async () => {
          const port = await startServe(['--cert', e('server.pem'), '--key', e('server-key.pem'), '--ca', e('ca.pem'), '--require', 'device,user', '--timeout-ms', '3000'])
          runs.set('expired', await h2sc(['request', `https://127.0.0.1:${port}/protected`, '--ca', e('ca.pem'), ...ecred('device'), ...ecred('user'), '--ignore-filters', '--json']))
        })(),
      ])
    })()
    await Promise.all([standalone, served])
  })

  after(() => {
    procs.close()
    for (const s of sessions) if (!s.destroyed) s.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('pki writes the files serve and request use', () => {
    expect(runs.get('pki')!.code).to.equal(0)
    expect(readFileSync(f('ca.pem'), 'utf8')).to.match(/BEGIN CERTIFICATE/)
  })

  describe('serve --require with request', () => {
    it('accepts device + user under --policy frank and reports each role with its table row', () => {
      const r = runs.get('accepted')!
      expect(r.code).to.equal(0)
      const report = JSON.parse(r.stdout) as Report
      expect(report.status).to.equal(200)
      expect(report.answered.map((a) => a.label)).to.deep.equal(['device', 'user'])
      const body = JSON.parse(report.body) as { policy: string; identities: IdentityJson[] }
      expect(body.policy).to.equal('frank')
      expect(body.identities.map((i) => [i.label, i.role, i.rows])).to.deep.equal([
        ['device', 'device', [5]],
        ['user', 'user', [1]],
      ])
    })

    it('answers 403 with the declined needs for --decline, exit code 1', () => {
      const r = runs.get('declined')!
      expect(r.code).to.equal(1)
      expect(r.stdout).to.match(/^status: 403$/m)
      const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { missing: { label: string; reason: string }[] }
      expect(body.missing.map((m) => [m.label, m.reason])).to.deep.equal([
        ['device', 'declined'],
        ['user', 'declined'],
      ])
    })

    it('rejects a serverAuth-only "user" under --policy rfc5280 with the reason', () => {
      const r = runs.get('rejected')!
      expect(r.code).to.equal(1)
      const report = JSON.parse(r.stdout) as Report
      expect(report.status).to.equal(403)
      const body = JSON.parse(report.body) as { policy: string; missing: { label: string; reason: string; row?: number; detail: string }[] }
      expect(body.policy).to.equal('rfc5280')
      expect(body.missing[0]).to.include({ label: 'user', reason: 'eku-purpose' })
      // Internal decision-table rows stay out of problem bodies (issue 10 item 4).
      expect(body.missing[0]).to.not.have.property('row')
      expect(body.missing[0]!.detail).to.match(/serverAuth/)
    })

    it('keeps the connection usable after a policy rejection', async () => {
      const s = connect(`https://127.0.0.1:${strictPort}`, {
        ca: readFileSync(f('ca.pem'), 'utf8'),
        servername: 'localhost',
        secondaryCerts: {
          credentials: [{ label: 'user', cert: readFileSync(f('device.pem'), 'utf8'), key: readFileSync(f('device-key.pem'), 'utf8') }],
          select: (_info, creds) => creds[0] ?? null,
        },
      })
      sessions.push(s)
      let goaway = false
      s.on('goaway', () => (goaway = true))
      const denied = await get(s, '/protected')
      expect(denied.status).to.equal(403)
      expect(denied.headers['content-type']).to.equal('application/problem+json')
      const root = await get(s, '/')
      expect(root.status).to.equal(200)
      expect(root.body).to.match(/hello from h2sc/)
      expect(goaway).to.equal(false)
      expect(clientCerts(s)!.answers).to.have.length(1)
    })
  })

  describe('errors', () => {
    for (const [name, , message] of BAD) {
      it(`reports ${name} in one line with a non-zero exit and no stack`, () => {
        const r = runs.get(name)!
        expect(r.code).to.not.equal(0)
        const lines = r.stderr.trimEnd().split('\n')
        expect(lines).to.have.length(1)
        expect(lines[0]).to.match(/^h2sc: /)
        expect(lines[0]).to.match(message)
        expect(r.stderr).to.not.match(/^\s+at /m)
      })
    }
  })

  /** The one stderr line of a failed run, checked for the shape every user error has. */
  const oneErrorLine = (r: Run, code = 2): string => {
    expect(r.code, r.stderr).to.equal(code)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines, r.stderr).to.have.length(1)
    expect(lines[0]).to.match(/^h2sc: /)
    expect(r.stderr).to.not.match(/^\s+at /m)
    return lines[0]!
  }

  describe('help', () => {
    it('--help lists every subcommand and flag, exit 0', () => {
      const r = runs.get('top help')!
      expect(r.code).to.equal(0)
      for (const c of COMMANDS) {
        expect(r.stdout).to.match(new RegExp(`^  ${c.name} `, 'm'))
        for (const fl of c.flags) expect(r.stdout, `${c.name} --${fl.name}`).to.contain(`--${fl.name}`)
      }
      expect(r.stdout).to.contain('--key-type TYPE')
      expect(r.stdout).to.match(/^  conformance /m)
    })

    for (const name of ['serve']) {
      it(`${name} --help prints its flags, exit 0`, () => {
        const r = runs.get(`${name} help`)!
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stderr).to.equal('')
        expect(r.stdout).to.match(new RegExp(`^usage: h2sc ${name}`))
        for (const fl of COMMANDS.find((c) => c.name === name)!.flags) expect(r.stdout).to.contain(`--${fl.name}`)
      })
    }
  })

  describe('bad arguments and files (real process)', () => {
    it('pki --key-type foo fails at once and writes nothing', () => {
      expect(oneErrorLine(runs.get('key-type foo')!)).to.match(/--key-type must be one of p256, .*, got 'foo'/)
      expect(existsSync(join(work, 'never'))).to.equal(false)
    })

    it('serve refuses a TLS key that does not match --cert before listening', () => {
      const r = runs.get('serve key mismatch')!
      expect(oneErrorLine(r)).to.match(/--key \S+device-key\.pem does not match --cert \S+server\.pem \(CN=localhost,O=h2sc test\)/)
      expect(r.stdout).to.not.match(/listening/)
    })

    it('serve refuses a secondary server certificate with the wrong key before listening', () => {
      const r = runs.get('serve server-key mismatch')!
      expect(oneErrorLine(r)).to.match(/--server-key \S+user-key\.pem does not match --server-cert \S+origin2\.pem/)
      expect(r.stdout).to.not.match(/listening/)
    })
  })

  describe('pki', () => {
    it('writes the CA keys with the certificates', () => {
      const r = runs.get('pki')!
      expect(r.stdout).to.match(/^wrote 12 files to /)
      for (const k of ['ca-key.pem', 'intermediate-key.pem']) expect(readFileSync(f(k), 'utf8')).to.match(/BEGIN PRIVATE KEY/)
    })

    it("gives each run its own CA names: another run's certificates are not presented", () => {
      const r = runs.get('other pki')!
      expect(r.code).to.equal(1)
      const report = JSON.parse(r.stdout) as Report
      expect(report.status).to.equal(403)
      expect(report.answered.map((a) => a.label)).to.deep.equal([null, null])
    })

    it("reports another run's certificates, when presented anyway, as untrusted (not bad-signature)", () => {
      const report = JSON.parse(runs.get('other pki--ignore-filters')!.stdout) as Report
      expect(report.status).to.equal(403)
      const body = JSON.parse(report.body) as { missing: { label: string; reason: string }[] }
      expect(body.missing.map((m) => m.reason)).to.deep.equal(['no-path', 'no-path'])
    })

    it('the policy rejects expired device and user certificates as expired', () => {
      const report = JSON.parse(runs.get('expired')!.stdout) as Report
      expect(report.status).to.equal(403)
      const body = JSON.parse(report.body) as { missing: { label: string; reason: string }[] }
      expect(body.missing.map((m) => [m.label, m.reason])).to.deep.equal([
        ['device', 'expired'],
        ['user', 'expired'],
      ])
    })
  })

  describe('inspect', () => {
    const recordLines = (r: Run): void => {
      expect(r.code, r.stderr + r.stdout).to.equal(0)
      expect(r.stdout).to.match(/^frame SETTINGS, length 12, flags 0x0, stream 0\n  SETTINGS_MAX_CONCURRENT_STREAMS \(0x3\) = 100\n  SETTINGS_HTTP_SERVER_CERT_AUTH \(0xf5a1\) = 1$/m)
      expect(r.stdout).to.match(/^frame SERVER_CERTIFICATE, length \d+, flags 0x0, stream 0$/m)
      expect(r.stdout).to.match(/certificate\[0\]: CN=other\.localhost,O=h2sc test/)
      expect(r.stdout).to.match(/^frame SETTINGS, length 0, flags 0x1, stream 0\n  ACK$/m)
      expect(r.stdout).to.match(/^3 frames: 3 decoded, 0 failed$/m)
    }

    it('decodes a record of several frames from a binary file and from hex on stdin', () => {
      for (const name of ['inspect binary file', 'inspect stdin']) recordLines(runs.get(name)!)
    })

    it('takes 0x and newlines in hex', () => {
      const r = runs.get('inspect 0x multi-line')!
      expect(r.code).to.equal(0)
      expect(r.stdout).to.equal('frame SETTINGS, length 0, flags 0x1, stream 0\n  ACK\n')
    })

    it('exits 1 with the reason when nothing decodes', () => {
      const r = runs.get('inspect deadbeef')!
      expect(r.code).to.equal(1)
      expect(r.stdout).to.match(/too short for a 9-byte frame header/)
    })

    it('decodes an AUTHENTICATOR_REQUESTS frame given as hex', () => {
      const r = runs.get('inspect')!
      expect(r.code).to.equal(0)
      expect(r.stdout).to.match(/^frame AUTHENTICATOR_REQUESTS, length \d+, flags 0x0, stream 0$/m)
      expect(r.stdout).to.match(/CertificateRequest \(13\)/)
      expect(r.stdout).to.match(/signature_algorithms: ecdsa_secp256r1_sha256, ed25519/)
      expect(r.stdout).to.match(/oid_filters: 551d25=/)
    })
  })
})
