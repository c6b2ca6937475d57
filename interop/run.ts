/**
 * `npm run interop`: runs named scenarios between a client and a server, each endpoint its own
 * process on 127.0.0.1, and prints a table (scenario × client/server pair: pass / FAIL / skip).
 * Writes interop/report.json; exits 1 on any failure.
 *
 *   node --import tsx interop/run.ts [--client ours|raw|python|go|openssl|curl|nghttp|h2load]... [--server ours|raw|go]...
 *                                    [--scenario NAME]... [--concurrency N] [--keep] [--list]
 *
 * Without --client/--server the default pairs are: ours/ours, raw/ours, python/ours, go/ours,
 * openssl/ours, curl/ours, nghttp/ours, h2load/ours, ours/raw, ours/go. Skips are data: interop/skips.json (known pairs that cannot play a
 * scenario) and endpoints that exit 127 with `skip: <reason>`.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createTestPki, issueCertificate, writeTestPki } from '../lib/pki/test-pki.js'
import type { PkiKeyType } from '../lib/pki/test-pki.js'
import { SCENARIOS, SCHEMES, mlDsaRun } from './scenarios.js'
import type { Scenario } from './scenarios.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(HERE, '..')
const CLIENTS = ['ours', 'raw', 'python', 'go', 'openssl', 'curl', 'nghttp', 'h2load'] as const
const SERVERS = ['ours', 'raw', 'go'] as const
type ClientKind = (typeof CLIENTS)[number]
type ServerKind = (typeof SERVERS)[number]
interface Pair {
  readonly client: ClientKind
  readonly server: ServerKind
}
const DEFAULT_PAIRS: readonly Pair[] = [
  { client: 'ours', server: 'ours' },
  { client: 'raw', server: 'ours' },
  { client: 'python', server: 'ours' },
  { client: 'go', server: 'ours' },
  { client: 'openssl', server: 'ours' },
  { client: 'curl', server: 'ours' },
  { client: 'nghttp', server: 'ours' },
  { client: 'h2load', server: 'ours' },
  { client: 'ours', server: 'raw' },
  { client: 'ours', server: 'go' },
]

/** One cell of the table. */
export interface Outcome {
  readonly scenario: string
  readonly client: ClientKind
  readonly server: ServerKind
  readonly result: 'pass' | 'fail' | 'skipped'
  readonly reason: string
  readonly ms: number
  readonly clientOutput?: string
  readonly serverOutput?: string
}

interface SkipRule {
  readonly client: string
  readonly server: string
  readonly scenario: string
  readonly reason: string
}

function loadSkips(): SkipRule[] {
  const j = JSON.parse(readFileSync(join(HERE, 'skips.json'), 'utf8')) as { rules: SkipRule[] }
  return j.rules
}

function skipReason(rules: readonly SkipRule[], sc: string, p: Pair): string | undefined {
  for (const r of rules) {
    if (r.client !== '*' && !new RegExp(`^(?:${r.client})$`).test(p.client)) continue
    if (r.server !== '*' && !new RegExp(`^(?:${r.server})$`).test(p.server)) continue
    if (new RegExp(`^(?:${r.scenario})$`).test(sc)) return r.reason
  }
  return undefined
}

// ------------------------------------------------------------------------------------------------
// Endpoint commands

const NODE_TSX = [process.execPath, '--import', 'tsx']

interface Env {
  readonly work: string
  readonly goBinary: string | undefined
  readonly goProblem: string | undefined
  readonly pythonProblem: string | undefined
}

/** The server command, or a reason it cannot run here. */
function serverCommand(kind: ServerKind, scenario: string, env: Env): string[] | { skip: string } {
  if (kind === 'go') {
    // The Go peer's server mode (interop/peers/go/server.go): its own RFC 9261 validation.
    if (!env.goBinary) return { skip: env.goProblem ?? 'go peer not built' }
    return [env.goBinary, '-serve', '-scenario', scenario, '-pki', join(env.work, 'pki')]
  }
  return [...NODE_TSX, join(HERE, 'endpoints', `${kind}-server.ts`), scenario]
}

/** The client command, or a reason it cannot run here. */
function clientCommand(kind: ClientKind, scenario: string, port: number, env: Env): string[] | { skip: string } {
  const ca = join(env.work, 'pki', 'p256', 'ca.pem')
  switch (kind) {
    case 'ours':
    case 'raw':
    case 'openssl':
      return [...NODE_TSX, join(HERE, 'endpoints', `${kind}-client.ts`), scenario]
    case 'curl':
    case 'nghttp':
    case 'h2load':
      return [...NODE_TSX, join(HERE, 'endpoints', 'tool-client.ts'), scenario, kind]
    case 'python':
      if (env.pythonProblem) return { skip: env.pythonProblem }
      return ['/usr/bin/python3', join(HERE, 'peers', 'python', 'h2peer.py'), '--port', String(port), '--scenario', scenario, '--ca', ca]
    case 'go':
      if (!env.goBinary) return { skip: env.goProblem ?? 'go peer not built' }
      return [env.goBinary, '-port', String(port), '-scenario', scenario, '-ca', ca, '-pki', join(env.work, 'pki')]
  }
}

// ------------------------------------------------------------------------------------------------
// Processes

interface Proc {
  readonly child: ChildProcess
  output: string
  exit: Promise<number | null>
}

function start(cmd: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const p: Proc = { child, output: '', exit: Promise.resolve(null) }
  child.stdout!.on('data', (c: Buffer) => (p.output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (p.output += c.toString()))
  p.exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)))
    child.on('error', () => resolve(127))
  })
  return p
}

function waitForLine(p: Proc, re: RegExp, ms: number): Promise<RegExpExecArray | undefined> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const tick = (): void => {
      const m = re.exec(p.output)
      if (m) return resolve(m)
      if (p.child.exitCode !== null || Date.now() - t0 > ms) return resolve(undefined)
      setTimeout(tick, 25)
    }
    tick()
  })
}

function kill(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
  return Promise.race([p.exit.then(() => undefined), new Promise<void>((r) => setTimeout(() => {
    if (p.child.exitCode === null) p.child.kill('SIGKILL')
    r()
  }, 2000))])
}

const tail = (s: string): string => s.trim().split('\n').slice(-12).join('\n')
const skipLine = (s: string): string | undefined => /^skip: (.*)$/m.exec(s)?.[1]

async function runOne(sc: Scenario, pair: Pair, env: Env, rules: readonly SkipRule[]): Promise<Outcome> {
  const base = { scenario: sc.name, client: pair.client, server: pair.server }
  const rule = skipReason(rules, sc.name, pair)
  if (rule) return { ...base, result: 'skipped', reason: rule, ms: 0 }
  const t0 = Date.now()
  const work = mkdtempSync(join(env.work, `${sc.name}-`))
  mkdirSync(work, { recursive: true })
  const shared = { INTEROP_DIR: env.work, INTEROP_RUN_DIR: work }
  const serverCmd = serverCommand(pair.server, sc.name, env)
  if (!Array.isArray(serverCmd)) return { ...base, result: 'skipped', reason: `server: ${serverCmd.skip}`, ms: 0 }
  const server = start(serverCmd, shared)
  try {
    const m = await waitForLine(server, /^listening (\d+)$/m, 15000)
    if (!m) {
      const code = await Promise.race([server.exit, new Promise<null>((r) => setTimeout(() => r(null), 500))])
      if (code === 127) return { ...base, result: 'skipped', reason: `server: ${skipLine(server.output) ?? 'unsupported'}`, ms: Date.now() - t0 }
      return { ...base, result: 'fail', reason: 'server did not start', ms: Date.now() - t0, serverOutput: tail(server.output) }
    }
    const port = Number(m[1])
    const cmd = clientCommand(pair.client, sc.name, port, env)
    if (!Array.isArray(cmd)) return { ...base, result: 'skipped', reason: cmd.skip, ms: Date.now() - t0 }
    const client = start(cmd, { ...shared, INTEROP_PORT: String(port) })
    const limit = sc.timeoutMs ?? 20000
    const code = await Promise.race([client.exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limit))])
    if (code === 'timeout') {
      await kill(client)
      return { ...base, result: 'fail', reason: `client did not finish in ${limit} ms (hang)`, ms: Date.now() - t0, clientOutput: tail(client.output), serverOutput: tail(server.output) }
    }
    if (code === 127) return { ...base, result: 'skipped', reason: `client: ${skipLine(client.output) ?? 'unsupported'}`, ms: Date.now() - t0 }
    let serverVerdict: RegExpExecArray | undefined
    const verdictFromServer = sc.serverVerdict || pair.server === 'raw' || pair.server === 'go'
    if (verdictFromServer) {
      serverVerdict = await waitForLine(server, /^result (pass|fail) (.*)$/m, 3000)
    }
    const alive = server.child.exitCode === null
    const clientLine = /^(?:pass|FAIL): (.*)$/m.exec(client.output)?.[1] ?? tail(client.output).split('\n').pop() ?? ''
    const problems: string[] = []
    if (code !== 0) problems.push(`client exit ${String(code)}: ${clientLine}`)
    if (verdictFromServer && !serverVerdict) problems.push('server gave no verdict')
    if (serverVerdict?.[1] === 'fail') problems.push(`server: ${serverVerdict[2]}`)
    if (!alive) problems.push(`server process exited (${String(server.child.exitCode)})`)
    const ok = problems.length === 0
    return {
      ...base,
      result: ok ? 'pass' : 'fail',
      reason: ok ? [clientLine, serverVerdict?.[2]].filter(Boolean).join(' | ') : problems.join('; '),
      ms: Date.now() - t0,
      ...(ok ? {} : { clientOutput: tail(client.output), serverOutput: tail(server.output) }),
    }
  } finally {
    await kill(server)
  }
}

// ------------------------------------------------------------------------------------------------
// Preparation

async function preparePki(work: string, scenarios: readonly Scenario[]): Promise<void> {
  const types = new Set<PkiKeyType>(['p256'])
  for (const sc of scenarios) {
    if (sc.name === 'select-by-ca-and-oid') types.add('p384')
    const s = SCHEMES.find((x) => `scheme-${x.name}` === sc.name)
    if (s) types.add(s.keyType as PkiKeyType)
    const m = mlDsaRun(sc.name)
    if (m) types.add(m.keyType)
  }
  const pkis = await Promise.all([...types].map(async (t) => [t, await createTestPki({ keyType: t })] as const))
  for (const [t, p] of pkis) await writeTestPki(p, join(work, 'pki', t))
  const a = pkis.find(([t]) => t === 'p256')![1]
  // oversized-authenticator: a user certificate carrying a 20 000-byte private extension, so the
  // authenticator is well over 16 384 bytes (digest §4: no fragmentation, raise the frame size).
  const filler = new Uint8Array(4 + 20000)
  filler.set([0x04, 0x82, 20000 >> 8, 20000 & 0xff])
  const big = await issueCertificate({
    subject: 'CN=big user, O=h2sc test',
    issuer: a.intermediate,
    keyType: 'p256',
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['1.3.6.1.5.5.7.3.2'],
    extensions: [{ oid: '1.3.6.1.4.1.99999.1', critical: false, value: filler }],
  })
  writeFileSync(join(work, 'pki', 'big-user.pem'), big.certPem + a.intermediate.certPem)
  writeFileSync(join(work, 'pki', 'big-user-key.pem'), big.keyPem)
}

function prepareGo(work: string): { goBinary?: string; goProblem?: string } {
  const src = join(HERE, 'peers', 'go')
  if (spawnSync('go', ['version']).status !== 0) return { goProblem: 'go not installed' }
  const gopath = process.env['GOPATH'] ?? '/usr/share/gocode'
  if (!existsSync(join(gopath, 'src', 'golang.org', 'x', 'net', 'http2'))) {
    return { goProblem: `golang.org/x/net/http2 not found under ${gopath} (Debian golang-golang-x-net-dev)` }
  }
  const out = join(work, 'go-h2peer')
  // The peer is several files of package main: build the directory (GOPATH mode, no go.mod).
  const r = spawnSync('go', ['build', '-o', out, '.'], {
    cwd: src,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: gopath, GOCACHE: process.env['GOCACHE'] ?? join(tmpdir(), 'h2sc-interop-gocache') },
    encoding: 'utf8',
  })
  if (r.status !== 0) return { goProblem: `go build failed: ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}` }
  return { goBinary: out }
}

function preparePython(): string | undefined {
  if (!existsSync('/usr/bin/python3')) return '/usr/bin/python3 not found'
  const r = spawnSync('/usr/bin/python3', ['-c', 'import h2, hyperframe'])
  return r.status === 0 ? undefined : '/usr/bin/python3 cannot import h2 (Debian python3-h2)'
}

// ------------------------------------------------------------------------------------------------
// Table

function table(outcomes: readonly Outcome[], scenarios: readonly Scenario[], pairs: readonly Pair[]): string {
  const reasons: string[] = []
  const note = (r: string): number => {
    let i = reasons.indexOf(r)
    if (i < 0) i = reasons.push(r) - 1
    return i + 1
  }
  const heads = pairs.map((p) => `${p.client}/${p.server}`)
  const w0 = Math.max(8, ...scenarios.map((s) => s.name.length))
  const widths = heads.map((h) => Math.max(h.length, 8))
  const lines: string[] = []
  lines.push(['scenario'.padEnd(w0), ...heads.map((h, i) => h.padEnd(widths[i]!))].join('  '))
  lines.push(['-'.repeat(w0), ...widths.map((w) => '-'.repeat(w))].join('  '))
  for (const sc of scenarios) {
    const cells = pairs.map((p, i) => {
      const o = outcomes.find((x) => x.scenario === sc.name && x.client === p.client && x.server === p.server)
      const text = !o ? '' : o.result === 'pass' ? 'pass' : o.result === 'fail' ? 'FAIL' : `skip[${note(o.reason)}]`
      return text.padEnd(widths[i]!)
    })
    lines.push([sc.name.padEnd(w0), ...cells].join('  '))
  }
  lines.push('')
  reasons.forEach((r, i) => lines.push(`  [${i + 1}] ${r}`))
  const fails = outcomes.filter((o) => o.result === 'fail')
  if (fails.length) {
    lines.push('', 'failures:')
    for (const f of fails) {
      lines.push(`  ${f.scenario} ${f.client}/${f.server}: ${f.reason}`)
      if (f.clientOutput) lines.push(...f.clientOutput.split('\n').map((l) => `    client| ${l}`))
      if (f.serverOutput) lines.push(...f.serverOutput.split('\n').map((l) => `    server| ${l}`))
    }
  }
  return lines.join('\n')
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      client: { type: 'string', multiple: true },
      server: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      keep: { type: 'boolean' },
      list: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(40)} ${s.description} (${s.section})\n`)
    return 0
  }
  for (const c of values.client ?? []) if (!(CLIENTS as readonly string[]).includes(c)) throw new Error(`--client must be one of ${CLIENTS.join('|')}`)
  for (const s of values.server ?? []) if (!(SERVERS as readonly string[]).includes(s)) throw new Error(`--server must be one of ${SERVERS.join('|')}`)
  const pairs: Pair[] =
    values.client || values.server
      ? (values.client ?? ['ours']).flatMap((c) => (values.server ?? ['ours']).map((s) => ({ client: c as ClientKind, server: s as ServerKind })))
      : [...DEFAULT_PAIRS]
  const scenarios = values.scenario ? values.scenario.map((n) => {
    const s = SCENARIOS.find((x) => x.name === n)
    if (!s) throw new Error(`unknown scenario ${n} (see --list)`)
    return s
  }) : [...SCENARIOS]
  const concurrency = Math.max(1, Number(values.concurrency ?? 3))
  const t0 = Date.now()
  const work = mkdtempSync(join(tmpdir(), 'h2sc-interop-'))
  const rules = loadSkips()
  try {
    await preparePki(work, scenarios)
    const go = pairs.some((p) => p.client === 'go' || p.server === 'go') ? prepareGo(work) : {}
    const env: Env = {
      work,
      goBinary: go.goBinary,
      goProblem: go.goProblem,
      pythonProblem: pairs.some((p) => p.client === 'python') ? preparePython() : undefined,
    }
    const jobs = scenarios.flatMap((sc) => pairs.map((p) => ({ sc, p })))
    const outcomes: Outcome[] = []
    let next = 0
    // wire-capture runs alone at the end (its capture should not see other runs' load).
    const solo = jobs.filter((j) => j.sc.name === 'wire-capture')
    const shared = jobs.filter((j) => j.sc.name !== 'wire-capture')
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < shared.length) {
          const j = shared[next++]!
          const o = await runOne(j.sc, j.p, env, rules)
          outcomes.push(o)
          if (o.result !== 'skipped') process.stderr.write(`${o.result === 'pass' ? '.' : 'F'}`)
        }
      }),
    )
    for (const j of solo) outcomes.push(await runOne(j.sc, j.p, env, rules))
    process.stderr.write('\n')
    process.stdout.write(table(outcomes, scenarios, pairs) + '\n')
    const counts = { pass: 0, fail: 0, skipped: 0 }
    for (const o of outcomes) counts[o.result]++
    process.stdout.write(`\n${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
    const order = (o: Outcome): number => scenarios.findIndex((s) => s.name === o.scenario) * 100 + pairs.findIndex((p) => p.client === o.client && p.server === o.server)
    writeFileSync(
      join(HERE, 'report.json'),
      JSON.stringify(
        {
          node: process.version,
          startedAt: new Date(t0).toISOString(),
          durationMs: Date.now() - t0,
          pairs,
          counts,
          outcomes: outcomes.sort((a, b) => order(a) - order(b)),
        },
        null,
        2,
      ) + '\n',
    )
    return counts.fail > 0 ? 1 : 0
  } finally {
    if (values.keep) process.stdout.write(`work directory kept: ${work}\n`)
    else rmSync(work, { recursive: true, force: true })
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`interop: ${(e as Error).message}\n`)
    process.exit(2)
  },
)
