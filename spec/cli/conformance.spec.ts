/**
 * `h2sc conformance list|server|client` (lib/cli/conformance.ts): the listing, the output lines
 * and exit codes other tools script, and --junit checked by xmllint against the JUnit shape.
 */
import { expect } from 'chai'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import { conformanceCommand } from '../../lib/cli/conformance.js'
import { testPki } from '../support/pki.js'
import { closeServer, listen, trackSessions } from '../../interop/support/h2.js'

const XSD = fileURLToPath(new URL('../fixtures/junit.xsd', import.meta.url))
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await conformanceCommand(args, (s) => (out += s), (s) => (err += s))
  return { code, out, err }
}

function validJUnit(file: string): void {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' })
  expect(r.status, r.stderr).to.equal(0)
}

describe('cli/conformance', function () {
  this.timeout(20000)
  let dir: string
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let url: string
  let caFile: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'h2sc-conf-'))
    const pki = await testPki('p256')
    caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, pki.caPem)
    server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { requestTimeoutMs: 2000 } }, (req, res) => {
      const ctl = sessionCerts(req)
      if (req.url === '/whoami' && ctl) {
        ctl.requestIdentities([{ label: 'device' }, { label: 'user' }]).then(
          (o) => res.end(o.map((x) => x.kind).join(',')),
          () => res.stream.destroyed || res.writeHead(403).end(),
        )
        return
      }
      res.end('ok')
    })
    server.on('sessionError', () => {})
    sessions = trackSessions(server)
    url = `https://127.0.0.1:${await listen(server)}/whoami`
  })

  after(async () => {
    if (server) await closeServer(server, sessions)
    rmSync(dir, { recursive: true, force: true })
  })

  it('lists at least 20 server-side and 14 client-side checks, each with a section and a description', async () => {
    const r = await run(['list', '--json'])
    expect(r.code).to.equal(0)
    const checks = JSON.parse(r.out) as { side: string; check: string; section: string; description: string }[]
    for (const side of ['server', 'client']) {
      const mine = checks.filter((c) => c.side === side)
      expect(mine.length).to.be.at.least(side === 'server' ? 20 : 14)
      expect(new Set(mine.map((c) => c.check)).size).to.equal(mine.length)
    }
    for (const c of checks) {
      expect(Object.keys(c).sort()).to.deep.equal(['check', 'description', 'section', 'side'])
      expect(c.section, c.check).to.match(/§/)
      expect(c.description, c.check).to.not.equal('')
    }
    const text = await run(['list'])
    expect(text.out.trim().split('\n')).to.have.length(checks.length)
  })

  it('exits 2 with the usage on a bad mode, an unknown check or a missing argument', async () => {
    expect((await run(['bogus'])).code).to.equal(2)
    const unknown = await run(['server', url, '--only', 'no-such-check'])
    expect(unknown.code).to.equal(2)
    expect(unknown.err).to.match(/unknown server-side check/)
    expect((await run(['client', '--port', '0'])).code).to.equal(2)
  })

  it('prints one PASS/SKIP line per check and the counts, exits 0, and writes valid JUnit', async function () {
    const junit = join(dir, 'pass.xml')
    const r = await run(['server', url, '--ca', caFile, '--servername', 'localhost', '--only', 'settings-values,declining,unsolicited-client-certificate', '--skip', 'declining', '--junit', junit, '--timeout-ms', '2000'])
    expect(r.code, r.out).to.equal(0)
    const lines = r.out.trim().split('\n')
    expect(lines).to.have.length(4)
    expect(lines[0]).to.match(/^PASS {2}settings-values {2}\[SERVER -02 §4\.1; CLIENT -00 §3\.1\] {2}\S/)
    expect(lines[1]).to.match(/^SKIP {2}declining {2}\[/)
    expect(lines[2]).to.match(/^PASS {2}unsolicited-client-certificate {2}\[CLIENT -00 §4\.2\] {2}GOAWAY 0x1/)
    expect(lines[3]).to.equal('2 passed, 0 failed, 1 skipped')
    const xml = readFileSync(junit, 'utf8')
    expect(xml).to.match(/<testsuite name="h2sc conformance server" tests="3" failures="0" errors="0" skipped="1"/)
    if (!hasXmllint) this.skip()
    validJUnit(junit)
  })

  it('exits 1 when a check fails; the JUnit report carries the failure and still validates', async function () {
    const junit = join(dir, 'fail.xml')
    const r = await run(['server', url.replace('/whoami', '/nothing-here'), '--ca', caFile, '--servername', 'localhost', '--only', 'declining', '--junit', junit, '--timeout-ms', '500', '--json'])
    expect(r.code).to.equal(1)
    const report = JSON.parse(r.out) as { ok: boolean; failed: number; results: { result: string; detail: string }[] }
    expect(report).to.include({ ok: false, failed: 1 })
    expect(report.results[0]!.detail).to.match(/did not ask/)
    expect(r.err).to.match(/^FAIL {2}declining {2}\[/)
    expect(readFileSync(junit, 'utf8')).to.match(/<failure message="[^"]*did not ask/)
    if (!hasXmllint) this.skip()
    validJUnit(junit)
  })

  it('runs the client command once per check with --exec (here a client that never connects)', async () => {
    const pki = await testPki('p256')
    const cert = join(dir, 'server.pem')
    const key = join(dir, 'server-key.pem')
    writeFileSync(cert, pki.server.chainPem)
    writeFileSync(key, pki.server.keyPem)
    const marks = join(dir, 'marks')
    const r = await run(['client', '--port', '0', '--cert', cert, '--key', key, '--only', 'settings-values,empty-request-list', '--exec', `echo {port} {url} >> ${marks}`, '--timeout-ms', '500'])
    expect(r.code).to.equal(1)
    const runs = readFileSync(marks, 'utf8').trim().split('\n')
    expect(runs).to.have.length(2)
    expect(runs[0]).to.match(/^\d+ https:\/\/localhost:\d+\/$/)
    expect(r.out).to.match(/FAIL {2}settings-values {2}\[[^\]]+\] {2}the client command made no connection/)
    expect(r.out.trim().split('\n').pop()).to.equal('0 passed, 2 failed, 0 skipped')
  })

  it('is what bin/h2sc.js runs', () => {
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('../../bin/h2sc.js', import.meta.url)), 'conformance', 'list', '--json'], { encoding: 'utf8' })
    expect(JSON.parse(out)).to.be.an('array').with.length.above(33)
  })
})
