import { expect } from 'chai'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type http2 from 'node:http2'
import { connect, clientCerts } from '../../lib/client.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { encodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { encodeFrameHeader } from '../../lib/wire/h2/frame-header.js'
import { ekuOidFilter } from '../../lib/policy/certificate-policy.js'
import { get } from '../../interop/support/h2.js'

const BIN = fileURLToPath(new URL('../../bin/h2sc.js', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `node bin/h2sc.js ...args` to completion. */
function h2sc(args: readonly string[], timeoutMs = 20000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`h2sc ${args.join(' ')} did not finish`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Starts `h2sc serve ...` and resolves with its port once it prints the listening line. */
function startServe(args: readonly string[], children: ChildProcess[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20000)
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}: ${err}`))
    })
  })
}

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
  const children: ChildProcess[] = []
  const f = (name: string): string => join(dir, name)
  const sessions: http2.ClientHttp2Session[] = []
  let frankPort: number
  let strictPort: number
  const runs = new Map<string, Run>()

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
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'h2sc-spec-'))
    const standalone = Promise.all([
      ...BAD.map(async ([name, args]) => runs.set(name, await h2sc(args))),
      h2sc(['inspect', inspectHex()]).then((r) => runs.set('inspect', r)),
    ])
    const served = (async () => {
      runs.set('pki', await h2sc(['pki', '--out', dir]))
      ;[frankPort, strictPort] = await Promise.all([
        startServe([...serverFiles(), '--policy', 'frank', '--require', 'device,user', '--timeout-ms', '3000'], children),
        startServe([...serverFiles(), '--policy', 'rfc5280', '--require', 'user', '--timeout-ms', '3000'], children),
      ])
      await Promise.all([
        h2sc(['request', `https://127.0.0.1:${frankPort}/whoami`, '--ca', f('ca.pem'), ...cred('device', 'device'), ...cred('user', 'user'), '--json']).then((r) => runs.set('accepted', r)),
        h2sc(['request', `https://127.0.0.1:${frankPort}/protected`, '--ca', f('ca.pem'), ...cred('user', 'user'), '--decline']).then((r) => runs.set('declined', r)),
        h2sc(['request', `https://127.0.0.1:${strictPort}/whoami`, '--ca', f('ca.pem'), ...cred('user', 'device'), '--ignore-filters', '--json']).then((r) => runs.set('rejected', r)),
      ])
    })()
    await Promise.all([standalone, served])
  })

  after(() => {
    for (const s of sessions) if (!s.destroyed) s.destroy()
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    if (dir) rmSync(dir, { recursive: true, force: true })
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

  describe('inspect', () => {
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
