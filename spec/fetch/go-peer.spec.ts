/**
 * undici fetch through SecondaryCertsAgent against the Go interop server peer
 * (interop/peers/go/server.go: x/net/http2 framing and its own RFC 9261 code on crypto/tls
 * exporters). It asks for a device and a user on GET /whoami, validates our authenticators and
 * chains itself, answers JSON and prints one `result pass|fail` line. Skipped, with the reason,
 * when Go or golang.org/x/net is not installed (.ci/run installs them).
 */
import { expect } from 'chai'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fetch } from 'undici'
import { SecondaryCertsAgent } from '../../lib/fetch/agent.js'
import { createTestPki, writeTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'

const GO_DIR = fileURLToPath(new URL('../../interop/peers/go/', import.meta.url))
const GOPATH = process.env['GOPATH'] ?? '/usr/share/gocode'

/** Builds the peer; returns its path or why it cannot be built. */
function buildGoPeer(out: string): { binary: string } | { skip: string } {
  if (spawnSync('go', ['version']).status !== 0) return { skip: 'go not installed' }
  if (!existsSync(join(GOPATH, 'src', 'golang.org', 'x', 'net', 'http2'))) return { skip: `golang.org/x/net/http2 not under ${GOPATH}` }
  const r = spawnSync('go', ['build', '-o', out, '.'], {
    cwd: GO_DIR,
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: process.env['GOCACHE'] ?? join(tmpdir(), 'h2sc-interop-gocache') },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`go build failed: ${r.stderr}`)
  return { binary: out }
}

describe('fetch/go-peer: undici fetch through the agent against the Go server peer', function () {
  this.timeout(60000)
  let work: string
  let binary: string | undefined
  let pki: TestPki
  const children: ChildProcess[] = []
  const agents: SecondaryCertsAgent[] = []

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'h2sc-fetch-go-'))
    const built = buildGoPeer(join(work, 'go-h2peer'))
    if ('skip' in built) {
      console.log(`      skipped: ${built.skip}`)
      this.skip()
    }
    binary = built.binary
    pki = await createTestPki({ keyType: 'p256' })
    await writeTestPki(pki, join(work, 'pki', 'p256'))
  })

  afterEach(async () => {
    for (const a of agents.splice(0)) await a.destroy()
    for (const c of children.splice(0)) c.kill()
  })

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  /** Starts the Go server for a scenario; resolves with its port and its result line. */
  async function goServer(scenario: string): Promise<{ port: number; result: Promise<string> }> {
    const child = spawn(binary!, ['-serve', '-scenario', scenario, '-pki', join(work, 'pki')], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let out = ''
    let onLine: (() => void) | undefined
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      onLine?.()
    })
    const waitFor = (re: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`go peer said: ${out}`)), 20000)
        onLine = () => {
          const m = re.exec(out)
          if (m) {
            clearTimeout(timer)
            resolve(m)
          }
        }
        onLine()
      })
    const port = Number((await waitFor(/listening (\d+)/))[1])
    return { port, result: waitFor(/result (.*)/).then((m) => m[1]!) }
  }

  function agent(credentials: 'both' | 'user-only'): SecondaryCertsAgent {
    const device = { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem }
    const user = { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }
    const a = new SecondaryCertsAgent({ ca: pki.caPem, credentials: credentials === 'both' ? [device, user] : [user], secondaryCerts: { credentialLimit: 2 } })
    agents.push(a)
    return a
  }

  it('device-and-user: the Go server validates both identities fetch presented', async () => {
    const go = await goServer('device-and-user')
    const r = await fetch(`https://127.0.0.1:${go.port}/whoami`, { dispatcher: agent('both') })
    expect(r.status).to.equal(200)
    const body = (await r.json()) as { label: string; kind: string }[]
    expect(body.map((o) => [o.label, o.kind])).to.deep.equal([
      ['device', 'identity'],
      ['user', 'identity'],
    ])
    expect(await go.result).to.match(/^pass /)
  })

  it('decline-one: an empty authenticator for the device, the user presented', async () => {
    const go = await goServer('decline-one')
    const r = await fetch(`https://127.0.0.1:${go.port}/whoami`, { dispatcher: agent('user-only') })
    const body = (await r.json()) as { label: string; kind: string }[]
    expect(body.map((o) => [o.label, o.kind])).to.deep.equal([
      ['device', 'declined'],
      ['user', 'identity'],
    ])
    expect(await go.result).to.match(/^pass /)
  })
})
