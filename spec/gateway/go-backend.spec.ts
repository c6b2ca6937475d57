import { expect } from 'chai'
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import type http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway } from '../../lib/gateway/gateway.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki } from './support/harness.js'

const SOURCE = fileURLToPath(new URL('../../examples/gateway/backend.go', import.meta.url))

describe('gateway: the README Go backend (examples/gateway/backend.go) reads the forwarded identities', function () {
  this.timeout(360000)
  let dir: string
  let child: ChildProcess | undefined
  let gw: Gateway | undefined
  let session: http2.ClientHttp2Session | undefined
  let pki: TestPki

  before(async function () {
    const hasGo = await new Promise<boolean>((r) => execFile('go', ['version'], (e) => r(!e)))
    if (!hasGo) {
      console.log('    skipped: go is not installed')
      this.skip()
    }
    pki = await gatewayPki()
    dir = mkdtempSync(join(tmpdir(), 'h2sc-go-'))
    await new Promise<void>((resolve, reject) =>
      execFile('go', ['build', '-o', join(dir, 'backend'), SOURCE], { cwd: dir, env: { ...process.env, GO111MODULE: 'off' } }, (e, _o, stderr) => (e ? reject(new Error(stderr)) : resolve())),
    )
  })
  after(async () => {
    session?.destroy()
    await gw?.close({ timeoutMs: 300 })
    child?.kill()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('parses Secondary-Client-Cert with the standard library and sees both certificates', async () => {
    child = spawn(join(dir, 'backend'), ['127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.on('data', (c: Buffer) => {
        const m = /listening on (\d+)/.exec(c.toString())
        if (m) resolve(Number(m[1]))
      })
      child!.once('exit', (code) => reject(new Error(`go backend exited ${code}`)))
    })
    gw = createGateway({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caPem, upstream: `http://127.0.0.1:${port}`, require: ['device', 'user'] })
    const gwPort = (await gw.listen()).port
    session = deviceUserClient(`https://127.0.0.1:${gwPort}`, pki)
    const r = await fetchH2(session, '/go')
    expect(r.status, r.body.toString()).to.equal(200)
    const j = JSON.parse(r.body.toString()) as { identities: Record<string, { subject: string; sha256: string }> }
    expect(j.identities['device']!.sha256).to.equal(createHash('sha256').update(pki.device.certDer).digest('hex'))
    expect(j.identities['user']!.sha256).to.equal(createHash('sha256').update(pki.user.certDer).digest('hex'))
    expect(j.identities['user']!.subject).to.contain('CN=user')
  })
})
