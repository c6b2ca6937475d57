/**
 * Worker thread of `npm run fuzz`: builds its own corpus and runs indices `start, start+step, ...`.
 * Before each input it writes the index and the input bytes into shared memory, so the parent's
 * watchdog can save the exact input if this thread never returns from it (a hang).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { buildCorpus } from './corpus.js'
import { buildTargets } from './targets.js'
import { emptyStats, generate, runOne } from './engine.js'
import type { Finding } from './engine.js'

export interface WorkerInput {
  readonly seed: number
  readonly count: number
  readonly start: number
  readonly step: number
  readonly timeLimitMs: number
  readonly slowMs: number
  /** Int32 [0] index, [1] input length, [2] target number, [3] done flag; bytes from offset 16. */
  readonly shared: SharedArrayBuffer
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly targets: string[]; readonly seedCounts: number[] }
  | { readonly type: 'finding'; readonly finding: Finding }
  | { readonly type: 'progress'; readonly inputs: number; readonly stats: ReturnType<typeof emptyStats> }
  | { readonly type: 'done'; readonly inputs: number; readonly stats: ReturnType<typeof emptyStats>; readonly timedOut: boolean; readonly elapsedMs: number }

async function main(): Promise<void> {
  const w = workerData as WorkerInput
  const port = parentPort!
  const corpus = await buildCorpus()
  const targets = buildTargets(corpus)
  port.postMessage({ type: 'ready', targets: targets.map((t) => t.name), seedCounts: targets.map((t) => t.seeds.length) } satisfies WorkerMessage)
  const head = new Int32Array(w.shared, 0, 4)
  const bytes = new Uint8Array(w.shared, 16)
  const stats = emptyStats(targets)
  const t0 = performance.now()
  let inputs = 0
  let timedOut = false
  let lastProgress = t0
  // Self-test of the parent's watchdog: H2SC_FUZZ_SELFTEST_HANG=<index> spins forever on that input.
  const hangAt = process.env.H2SC_FUZZ_SELFTEST_HANG === undefined ? -1 : Number(process.env.H2SC_FUZZ_SELFTEST_HANG)
  for (let i = w.start; i < w.count; i += w.step) {
    if ((inputs & 255) === 0) {
      const now = performance.now()
      if (now - t0 > w.timeLimitMs) {
        timedOut = true
        break
      }
      if (now - lastProgress > 2000) {
        lastProgress = now
        port.postMessage({ type: 'progress', inputs, stats } satisfies WorkerMessage)
      }
    }
    const g = generate(targets, w.seed, i)
    const n = Math.min(g.bytes.length, bytes.length)
    bytes.set(g.bytes.subarray(0, n), 0)
    Atomics.store(head, 1, n)
    Atomics.store(head, 2, targets.indexOf(g.target))
    Atomics.store(head, 0, i)
    if (i === hangAt) for (;;);
    const f = runOne(g, w.seed, i, stats[g.target.name]!, w.slowMs, () => generate(targets, w.seed, i))
    inputs++
    if (f) port.postMessage({ type: 'finding', finding: f } satisfies WorkerMessage)
  }
  Atomics.store(head, 3, 1)
  port.postMessage({ type: 'done', inputs, stats, timedOut, elapsedMs: performance.now() - t0 } satisfies WorkerMessage)
}

main().catch((e: unknown) => {
  throw e
})
