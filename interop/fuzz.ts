/**
 * `npm run fuzz`: seeded mutation fuzzing of the codecs, the RFC 9261 validator, the frame
 * splitter and the protocol state machines (offline, in worker threads under a watchdog), then a
 * live phase against a server process over real TLS 1.3 connections.
 *
 *   npm run fuzz -- [--count N=1000000] [--seconds S=600] [--seed X] [--workers W=1]
 *                   [--live N=1000] [--live-seconds S=90] [--no-live] [--slow-ms 1000]
 *                   [--hang-ms 10000] [--json report.json]
 *
 * Findings (untyped exceptions, broken invariants, inputs slower than --slow-ms, hangs, bad
 * connections that got neither GOAWAY nor close) are printed and saved under
 * interop/fuzz/findings/; the exit code is 1 when there is any.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { emptyStats, mergeStats } from './fuzz/engine.js'
import type { Finding, TargetStats } from './fuzz/engine.js'
import type { WorkerInput, WorkerMessage } from './fuzz/worker.js'
import { runLive } from './fuzz/live.js'
import type { LiveFinding, LiveResult } from './fuzz/live.js'

interface Args {
  count: number
  seconds: number
  seed: number
  workers: number
  live: number
  liveSeconds: number
  slowMs: number
  hangMs: number
  json: string | undefined
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    count: 1_000_000,
    seconds: 600,
    seed: (Date.now() ^ (process.pid << 16)) >>> 0,
    workers: 1,
    live: 1000,
    liveSeconds: 90,
    slowMs: 1000,
    hangMs: 10000,
    json: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!
    const v = (): string => {
      const x = argv[++i]
      if (x === undefined) throw new Error(`${k} needs a value`)
      return x
    }
    const num = (): number => {
      const s = v()
      const n = Number(s.replace(/_/g, ''))
      if (!Number.isFinite(n) || n < 0) throw new Error(`${k}: bad number ${s}`)
      return n
    }
    if (k === '--count') a.count = Math.min(num(), 100_000_000)
    else if (k === '--seconds') a.seconds = Math.min(num(), 24 * 3600)
    else if (k === '--seed') a.seed = num() >>> 0
    else if (k === '--workers') a.workers = Math.max(1, Math.min(num(), availableParallelism()))
    else if (k === '--live') a.live = Math.min(num(), 100_000)
    else if (k === '--live-seconds') a.liveSeconds = num()
    else if (k === '--no-live') a.live = 0
    else if (k === '--slow-ms') a.slowMs = num()
    else if (k === '--hang-ms') a.hangMs = num()
    else if (k === '--json') a.json = v()
    else if (k === '--help' || k === '-h') {
      console.log('npm run fuzz -- [--count N] [--seconds S] [--seed X] [--workers W] [--live N] [--live-seconds S] [--no-live] [--slow-ms MS] [--hang-ms MS] [--json FILE]')
      process.exit(0)
    } else throw new Error(`unknown option ${k}`)
  }
  return a
}

const FINDINGS_DIR = new URL('./fuzz/findings/', import.meta.url)

function save(name: string, data: unknown): string {
  mkdirSync(FINDINGS_DIR, { recursive: true })
  const url = new URL(name.replace(/[^a-zA-Z0-9_.-]+/g, '_'), FINDINGS_DIR)
  writeFileSync(url, JSON.stringify(data, null, 2) + '\n')
  return url.pathname
}

function printFinding(f: Finding, path: string): void {
  console.log(`\n!! FINDING [${f.kind}] ${f.target} (seed ${f.runSeed}, index ${f.index}, from ${f.seedName}, ops ${f.ops.join('+')})`)
  console.log(`   ${f.message}`)
  if (f.stack) console.log(f.stack.split('\n').slice(1, 6).map((l) => `   ${l.trim()}`).join('\n'))
  console.log(`   input (${f.inputHex.length / 2} bytes): ${f.inputHex.slice(0, 160)}${f.inputHex.length > 160 ? '…' : ''}`)
  console.log(`   saved: ${path}`)
}

interface OfflineResult {
  stats: Record<string, TargetStats>
  findings: Finding[]
  inputs: number
  elapsedMs: number
  timedOut: boolean
}

/** Runs `workers` worker threads, each under a watchdog that catches hangs. */
async function offline(a: Args, timeLimitMs: number): Promise<OfflineResult> {
  const stats: Record<string, TargetStats> = {}
  const findings: Finding[] = []
  let inputs = 0
  let timedOut = false
  const t0 = performance.now()
  const progress = new Map<number, number>()
  let lastPrint = 0
  const runWorker = (w: number): Promise<void> =>
    new Promise((resolve) => {
      const shared = new SharedArrayBuffer(16 + (1 << 20))
      const head = new Int32Array(shared, 0, 4)
      head[0] = -1
      const data: WorkerInput = { seed: a.seed, count: a.count, start: w, step: a.workers, timeLimitMs, slowMs: a.slowMs, shared }
      // Workers do not inherit `--import tsx` hooks on Node 20: register tsx in the worker first.
      const entry = new URL('./fuzz/worker.ts', import.meta.url).href
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}) })`
      const worker = new Worker(boot, { eval: true, workerData: data })
      let targets: string[] = []
      let lastStats: Record<string, TargetStats> | undefined
      let lastInputs = 0
      let lastIndex = -2
      let lastChange = performance.now()
      let finished = false
      const watchdog = setInterval(() => {
        const i = Atomics.load(head, 0)
        if (i !== lastIndex) {
          lastIndex = i
          lastChange = performance.now()
          return
        }
        if (i < 0 || Atomics.load(head, 3) === 1 || performance.now() - lastChange < a.hangMs) return
        // A hang: save the input the worker is stuck on, then stop it.
        const n = Atomics.load(head, 1)
        const bytes = new Uint8Array(shared, 16, n)
        const f: Finding = {
          target: targets[Atomics.load(head, 2)] ?? '?',
          seedName: '?',
          index: i,
          runSeed: a.seed,
          kind: 'hang',
          message: `no progress for ${a.hangMs} ms on one input`,
          ops: [],
          inputHex: Buffer.from(bytes).toString('hex'),
        }
        findings.push(f)
        printFinding(f, save(`hang-${f.target}-${a.seed}-${i}.json`, f))
        // Keep what the worker reported before it hung.
        if (lastStats) mergeStats(stats, lastStats)
        inputs += lastInputs
        timedOut = true
        finished = true
        clearInterval(watchdog)
        void worker.terminate().then(() => resolve())
      }, 500)
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') targets = m.targets
        else if (m.type === 'finding') {
          findings.push(m.finding)
          printFinding(m.finding, save(`${m.finding.kind}-${m.finding.target}-${a.seed}-${m.finding.index}.json`, m.finding))
        } else if (m.type === 'progress') {
          progress.set(w, m.inputs)
          lastStats = m.stats
          lastInputs = m.inputs
          const now = performance.now()
          if (now - lastPrint > 10000) {
            lastPrint = now
            const total = [...progress.values()].reduce((x, y) => x + y, 0)
            console.log(`  ${total.toLocaleString('en')} inputs, ${((total / (now - t0)) * 1000).toFixed(0)}/s`)
          }
        } else if (m.type === 'done') {
          inputs += m.inputs
          mergeStats(stats, m.stats)
          timedOut ||= m.timedOut
          finished = true
          clearInterval(watchdog)
          void worker.terminate().then(() => resolve())
        }
      })
      worker.on('error', (e) => {
        // An exception escaping the loop is itself a finding (runOne catches per input).
        const f: Finding = { target: '?', seedName: '?', index: Atomics.load(head, 0), runSeed: a.seed, kind: 'exception', message: `worker died: ${String(e)}`, ops: [], inputHex: '' }
        findings.push(f)
        printFinding(f, save(`worker-${a.seed}-${w}.json`, f))
      })
      worker.on('exit', () => {
        clearInterval(watchdog)
        if (!finished) resolve()
      })
    })
  await Promise.all(Array.from({ length: a.workers }, (_, w) => runWorker(w)))
  if (Object.keys(stats).length === 0) mergeStats(stats, emptyStats([]))
  return { stats, findings, inputs, elapsedMs: performance.now() - t0, timedOut }
}

function pad(s: string | number, n: number, left = false): string {
  const t = String(s)
  return left ? t.padEnd(n) : t.padStart(n)
}

function printOffline(r: OfflineResult, a: Args): void {
  console.log(`\nOffline: ${r.inputs.toLocaleString('en')} inputs in ${(r.elapsedMs / 1000).toFixed(1)} s = ${((r.inputs / r.elapsedMs) * 1000).toFixed(0)} inputs/s (${a.workers} worker${a.workers > 1 ? 's' : ''})${r.timedOut ? `, stopped early (time limit or a hang) before --count ${a.count}` : ''}`)
  console.log(`${pad('target', 30, true)}${pad('inputs', 10)}${pad('typed/rejected', 16)}${pad('accepted', 10)}${pad('findings', 10)}${pad('max ms', 9)}`)
  const total: TargetStats = { inputs: 0, rejected: 0, accepted: 0, findings: 0, maxMs: 0, retimed: 0 }
  for (const [name, s] of Object.entries(r.stats)) {
    console.log(`${pad(name, 30, true)}${pad(s.inputs, 10)}${pad(s.rejected, 16)}${pad(s.accepted, 10)}${pad(s.findings, 10)}${pad(s.maxMs.toFixed(1), 9)}`)
    total.inputs += s.inputs
    total.rejected += s.rejected
    total.accepted += s.accepted
    total.findings += s.findings
    total.maxMs = Math.max(total.maxMs, s.maxMs)
    total.retimed += s.retimed
  }
  const hangs = r.findings.filter((f) => f.kind === 'hang').length
  if (total.retimed > 0) console.log(`(${total.retimed} input(s) went over --slow-ms ${a.slowMs} once but ran fast when timed again: machine noise, not findings)`)
  console.log(`${pad('TOTAL', 30, true)}${pad(total.inputs, 10)}${pad(total.rejected, 16)}${pad(total.accepted, 10)}${pad(total.findings + hangs, 10)}${pad(total.maxMs.toFixed(1), 9)}`)
}

function printLive(l: LiveResult): void {
  console.log(`\nLive: ${l.connections} bad connections in ${(l.elapsedMs / 1000).toFixed(1)} s${l.timedOut ? ' (stopped by the time limit)' : ''}`)
  console.log(`${pad('kind', 32, true)}${pad('conns', 7)}${pad('GOAWAY', 8)}${pad('closed', 8)}${pad('PING ok', 9)}${pad('partial', 9)}${pad('findings', 10)}`)
  for (const [k, s] of Object.entries(l.perKind)) {
    console.log(`${pad(k, 32, true)}${pad(s.connections, 7)}${pad(s.goaway, 8)}${pad(s.closed, 8)}${pad(s.pingAck, 9)}${pad(s.incomplete, 9)}${pad(s.findings, 10)}`)
  }
  console.log(`GOAWAY codes: ${Object.entries(l.goawayCodes).map(([c, n]) => `${c}×${n}`).join(', ') || 'none'}`)
  console.log(`Control connection: ${l.control.sent} requests, ${l.control.ok} ok, ${l.control.failed} failed`)
  console.log(`Server process alive and serving a fresh device+user connection: ${l.serverAlive ? 'yes' : 'NO'}; sessions open afterwards: ${l.openSessionsAfter}`)
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2))
  const liveMs = a.live > 0 ? Math.min(a.liveSeconds, a.seconds * 0.5) * 1000 : 0
  const offlineMs = a.seconds * 1000 - liveMs
  console.log(`fuzz: seed ${a.seed}, up to ${a.count.toLocaleString('en')} inputs in ${(offlineMs / 1000).toFixed(0)} s, ${a.workers} worker(s); live: up to ${a.live} connections in ${(liveMs / 1000).toFixed(0)} s`)
  console.log(`reproduce: npm run fuzz -- --seed ${a.seed} --count ${a.count} --seconds ${a.seconds}${a.workers > 1 ? ` --workers ${a.workers}` : ''}`)
  const off = await offline(a, offlineMs)
  printOffline(off, a)
  let live: LiveResult | undefined
  if (a.live > 0) {
    live = await runLive({
      seed: a.seed,
      count: a.live,
      timeLimitMs: liveMs,
      log: (l) => console.log(l),
      onFinding: (f: LiveFinding) => {
        const p = save(`live-${f.kind}-${a.seed}-${f.index}.json`, { ...f, runSeed: a.seed })
        console.log(`\n!! LIVE FINDING [${f.kind}] #${f.index}: ${f.message}\n   saved: ${p}`)
      },
    })
    printLive(live)
  }
  const total = off.findings.length + (live?.findings.length ?? 0)
  console.log(`\nFindings: ${total} (offline ${off.findings.length}, live ${live?.findings.length ?? 0})`)
  if (a.json) {
    writeFileSync(a.json, JSON.stringify({ seed: a.seed, offline: { ...off, findings: off.findings }, live }, null, 2) + '\n')
    console.log(`report: ${a.json}`)
  }
  process.exitCode = total > 0 ? 1 : 0
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 2
})
