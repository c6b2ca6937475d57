/**
 * `npm run load`: N concurrent connections on loopback authenticating a device and a user
 * identity while other streams run, beside fault groups (peers that vanish mid-exchange, peers
 * that never answer, CLIENT_CERTIFICATE floods) and a control group of plain HTTP/2 clients.
 * The server runs in its own process (with --expose-gc, maxSessionMemory raised).
 *
 *   npm run load -- [--connections N=50 (max 500)] [--seconds S=20 (max 300)]
 *                   [--heap-threshold-mb MB=4] [--json report.json]
 *
 * Exit code 1 when any request was lost (no answer and no reason within its deadline), an auth
 * or control request was answered with an unexpected status or refused, a fault connection did
 * not behave as required, sessions stayed open, the server died, or the server's heap after GC
 * grew by more than the threshold (default 4 MB: repeated rounds of thousands of sessions
 * measured flat within ±0.3 MB after the first round, so 4 MB leaves room for noise, JIT code and
 * caches but not a per-session leak of a few KB over the thousands of sessions of a run).
 */
import { writeFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createTestPki } from '../lib/pki/test-pki.js'
import { startServerProcess } from './fuzz/live.js'
import { newGroupStats, percentile, runAuthSlot, runControlSlot, runFloodSlot, runSilentSlot, runVanishSlot } from './load/groups.js'
import type { GroupStats, LoadTarget } from './load/groups.js'
import { measureSignatureRates } from './load/rates.js'

interface Args {
  connections: number
  seconds: number
  heapThresholdMb: number
  json: string | undefined
}

const USAGE = 'npm run load -- [--connections N (1..500, default 50)] [--seconds S (1..300, default 20)] [--heap-threshold-mb M (default 4)] [--json FILE]'

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { connections: 50, seconds: 20, heapThresholdMb: 4, json: undefined }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!
    if (k === '--help' || k === '-h') {
      console.log(USAGE)
      process.exit(0)
    }
    const v = argv[++i]
    if (v === undefined) throw new Error(`${k} needs a value`)
    const n = Number(v)
    if (k === '--json') a.json = v
    else if (!Number.isFinite(n) || n < 0) throw new Error(`${k}: bad number ${v}`)
    else if (k === '--connections') a.connections = Math.max(1, Math.min(500, Math.floor(n)))
    else if (k === '--seconds') a.seconds = Math.max(1, Math.min(300, n))
    else if (k === '--heap-threshold-mb') a.heapThresholdMb = n
    else throw new Error(`unknown option ${k}`)
  }
  return a
}

/** A GC function for this process even without --expose-gc on the command line. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) return g
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const MB = 1024 * 1024
const fmt = (n: number, d = 0): string => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d })

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2))
  const gc = gcFunction()
  const pki = await createTestPki({ keyType: 'p256' })
  const server = await startServerProcess(pki, { maxSessionMemory: 256, requestTimeoutMs: 15000 })
  const target: LoadTarget = { port: server.port, pki }
  const n = a.connections
  const sizes = {
    auth: n,
    control: Math.max(2, Math.round(n / 10)),
    vanish: Math.max(2, Math.round(n / 10)),
    silent: Math.max(2, Math.round(n / 10)),
    flood: Math.max(1, Math.round(n / 25)),
  }
  console.log(`load: ${n} authenticating connections + control ${sizes.control}, vanish ${sizes.vanish}, silent ${sizes.silent}, flood ${sizes.flood} slots, ${a.seconds} s, server pid ${server.child.pid} (maxSessionMemory 256 MB)`)

  const ratesBefore = measureSignatureRates(1000)

  // Warm-up of every group (code loaded, JIT, TLS contexts), then the heap baselines.
  const warm = newGroupStats()
  const warmUntil = Date.now() + 2500
  await Promise.all([
    ...Array.from({ length: 4 }, () => runAuthSlot(target, warm, warmUntil, { cyclesPerConnection: 2 })),
    runControlSlot(target, newGroupStats(), warmUntil),
    runVanishSlot(target, newGroupStats(), warmUntil),
    runSilentSlot(target, newGroupStats(), warmUntil, 500),
    runFloodSlot(target, newGroupStats(), warmUntil),
  ])
  await new Promise((r) => setTimeout(r, 500))
  const before = await server.stats()
  gc()
  const clientHeapBefore = process.memoryUsage().heapUsed
  const clientCpuBefore = process.cpuUsage()

  const groups: Record<string, GroupStats> = {
    auth: newGroupStats(),
    control: newGroupStats(),
    vanish: newGroupStats(),
    silent: newGroupStats(),
    flood: newGroupStats(),
  }
  const t0 = performance.now()
  const until = Date.now() + a.seconds * 1000
  const slots: Promise<void>[] = []
  for (let i = 0; i < sizes.auth; i++) slots.push(runAuthSlot(target, groups.auth!, until))
  for (let i = 0; i < sizes.control; i++) slots.push(runControlSlot(target, groups.control!, until))
  for (let i = 0; i < sizes.vanish; i++) slots.push(runVanishSlot(target, groups.vanish!, until))
  for (let i = 0; i < sizes.silent; i++) slots.push(runSilentSlot(target, groups.silent!, until))
  for (let i = 0; i < sizes.flood; i++) slots.push(runFloodSlot(target, groups.flood!, until))
  const ticker = setInterval(() => {
    const g = groups.auth!
    console.log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${fmt(g.identities)} identities, ${fmt(g.sent)} auth-group requests`)
  }, 5000)
  await Promise.all(slots)
  clearInterval(ticker)
  const elapsed = (performance.now() - t0) / 1000
  const cpuEnd = await server.stats()
  const clientCpu = process.cpuUsage(clientCpuBefore)
  const serverCpuSeconds = (cpuEnd.cpu.user + cpuEnd.cpu.system - before.cpu.user - before.cpu.system) / 1e6
  const clientCpuSeconds = (clientCpu.user + clientCpu.system) / 1e6
  const loadSeconds = Math.min(elapsed, a.seconds)

  // Every session must close; then the heaps after GC.
  let after = await server.stats()
  for (let k = 0; k < 40 && after.counters.openSessions > 0; k++) {
    await new Promise((r) => setTimeout(r, 250))
    after = await server.stats()
  }
  gc()
  const clientHeapAfter = process.memoryUsage().heapUsed
  const ratesAfter = measureSignatureRates(1000)
  const serverAlive = server.child.exitCode === null
  await server.stop()

  // Report.
  console.log(`\nRan ${elapsed.toFixed(1)} s (load window ${a.seconds} s; slots finish their current cycle).`)
  console.log(`${'group'.padEnd(9)}${'conns'.padStart(7)}${'sent'.padStart(8)}${'answered'.padStart(10)}${'other st'.padStart(10)}${'refused'.padStart(9)}${'lost'.padStart(6)}${'fault ok'.padStart(10)}${'fault bad'.padStart(11)}`)
  for (const [name, g] of Object.entries(groups)) {
    console.log(`${name.padEnd(9)}${String(g.connections).padStart(7)}${String(g.sent).padStart(8)}${String(g.answered).padStart(10)}${String(g.unexpected).padStart(10)}${String(g.refused).padStart(9)}${String(g.lost).padStart(6)}${String(g.expectedOk).padStart(10)}${String(g.expectedFail).padStart(11)}`)
  }
  for (const [name, g] of Object.entries(groups)) {
    const r = Object.entries(g.reasons)
    if (r.length) console.log(`  ${name}: ${r.map(([k, v]) => `${k} ×${v}`).join('; ')}`)
  }
  console.log('  (answered = expected status: 200, or 504 for silent peers; vanish requests are abandoned by their peer on purpose)')
  const auth = groups.auth!
  const authPerSecond = auth.identities / loadSeconds
  const verify = (ratesBefore.verifyPerSecond + ratesAfter.verifyPerSecond) / 2
  const signRate = (ratesBefore.signPerSecond + ratesAfter.signPerSecond) / 2
  console.log(`\nAuthentications: ${fmt(auth.identities)} identities in ${loadSeconds.toFixed(1)} s = ${fmt(authPerSecond, 1)}/s (device+user request p50 ${fmt(percentile(auth.latencies, 50), 1)} ms, p99 ${fmt(percentile(auth.latencies, 99), 1)} ms)`)
  console.log(`Bare P-256 in this run (one core, cached key): verify ${fmt(verify)}/s (before ${fmt(ratesBefore.verifyPerSecond)}, after ${fmt(ratesAfter.verifyPerSecond)}), sign ${fmt(signRate)}/s (before ${fmt(ratesBefore.signPerSecond)}, after ${fmt(ratesAfter.signPerSecond)})`)
  const bound = 1 / (1 / verify + 1 / signRate)
  console.log(`Each authentication = 1 verify (server) + 1 sign (client): signature-only bound on one core ${fmt(bound)}/s; measured ${fmt((authPerSecond / bound) * 100, 1)}% of it (the rest: TLS handshakes, HTTP/2, HMACs, request building, the fault groups)`)
  console.log(`CPU during the load: server process ${serverCpuSeconds.toFixed(1)} s (${fmt((serverCpuSeconds / elapsed) * 100)}% of one core), load driver ${clientCpuSeconds.toFixed(1)} s (${fmt((clientCpuSeconds / elapsed) * 100)}%); identities per server CPU-second ${fmt(auth.identities / serverCpuSeconds)} (all groups' work included) vs ${fmt(verify)} bare verifies per CPU-second`)
  const growth = (after.heapUsed - before.heapUsed) / MB
  console.log(`\nServer heap after GC: before ${fmt(before.heapUsed / MB, 1)} MB, after ${fmt(after.heapUsed / MB, 1)} MB, growth ${fmt(growth, 2)} MB (threshold ${a.heapThresholdMb} MB; GC ${before.gc ? 'forced' : 'NOT available'})`)
  console.log(`Load-client heap after GC: before ${fmt(clientHeapBefore / MB, 1)} MB, after ${fmt(clientHeapAfter / MB, 1)} MB`)
  const c = after.counters as unknown as Record<string, unknown>
  console.log(`Server counters: ${JSON.stringify(c)}`)

  const problems: string[] = []
  for (const [name, g] of Object.entries(groups)) {
    if (g.lost > 0) problems.push(`${name}: ${g.lost} request(s) lost`)
    if (g.expectedFail > 0) problems.push(`${name}: ${g.expectedFail} fault connection(s) misbehaved`)
  }
  for (const name of ['auth', 'control']) {
    const g = groups[name]!
    if (g.unexpected + g.refused > 0) problems.push(`${name}: ${g.unexpected} unexpected status(es), ${g.refused} refused`)
    if (g.sent === 0) problems.push(`${name}: no requests sent`)
  }
  if (groups.silent!.unexpected > 0) problems.push(`silent: ${groups.silent!.unexpected} non-504 answers`)
  if (after.counters.openSessions !== 0) problems.push(`${after.counters.openSessions} session(s) still open on the server`)
  if (!serverAlive) problems.push('server process died')
  if (growth > a.heapThresholdMb) problems.push(`server heap grew ${growth.toFixed(2)} MB > ${a.heapThresholdMb} MB`)
  console.log(problems.length ? `\nFAIL:\n- ${problems.join('\n- ')}` : '\nOK: nothing lost, every fault handled, no heap growth beyond the threshold')
  if (a.json) {
    writeFileSync(
      a.json,
      JSON.stringify(
        { args: a, elapsed, groups: Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, { ...g, latencies: undefined }])), authPerSecond, serverCpuSeconds, clientCpuSeconds, ratesBefore, ratesAfter, heap: { before: before.heapUsed, after: after.heapUsed, clientBefore: clientHeapBefore, clientAfter: clientHeapAfter }, counters: c, problems },
        null,
        2,
      ) + '\n',
    )
  }
  return problems.length ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Argument errors are one line; anything else keeps its stack for the report.
    console.error(e instanceof Error && /needs a value|bad number|unknown option/.test(e.message) ? `load: ${e.message}\n${USAGE}` : e)
    process.exit(2)
  },
)
