/**
 * fetch through SecondaryCertsAgent (issue 12 item 6): requests/s of undici's fetch through the
 * agent, identities already established on its connection, ÷ undici's fetch over plain HTTP/2
 * (undici `Agent` with `allowH2`) to the same extension-enabled server, 12 B and 64 KB responses,
 * interleaved rounds in one run. The server runs in a worker thread (bench/fetch-server.ts), so
 * client and server each have a core of the two; the ratio is what counts.
 */
import { Agent, fetch } from 'undici'
import type { Dispatcher } from 'undici'
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import { SecondaryCertsAgent } from '../lib/fetch/agent.js'
import { createTestPki } from '../lib/pki/test-pki.js'

export interface FetchBenchRow {
  readonly body: string
  readonly plainRps: number
  readonly agentRps: number
  /** agent ÷ plain requests/s, median over interleaved pairs (target ≥ 0.9 at 12 B). */
  readonly ratio: number
}

/** `count` fetches, `concurrency` at a time, bodies read to the end; returns requests/s. */
async function load(url: string, dispatcher: Dispatcher, count: number, concurrency: number): Promise<number> {
  let started = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++
        const r = await fetch(url, { dispatcher })
        await r.arrayBuffer()
      }
    }),
  )
  return count / ((performance.now() - t0) / 1000)
}

/** Runs the rounds; `rounds` interleaved pairs per body size after a warm-up of each. */
export async function runFetchBench(rounds = 7): Promise<FetchBenchRow[]> {
  const pki = await createTestPki({ keyType: 'p256' })
  const worker = new Worker(new URL('./fetch-server.js', import.meta.url), {
    workerData: { key: pki.server.keyPem, cert: pki.server.chainPem, caPem: pki.caPem },
  })
  const [port] = (await once(worker, 'message')) as [number]
  const origin = `https://127.0.0.1:${port}`
  const plain = new Agent({ allowH2: true, connect: { ca: pki.caPem } })
  const agent = new SecondaryCertsAgent({
    ca: pki.caPem,
    credentials: [
      { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
      { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
    ],
  })
  const rows: FetchBenchRow[] = []
  try {
    const login = await fetch(`${origin}/login`, { dispatcher: agent })
    await login.text()
    if (agent.connections[0]?.certs.answers.length !== 2) throw new Error('bench: identities were not established')
    for (const [path, body, count] of [['/small', '12 B', 3000], ['/large', '64 KB', 800]] as const) {
      const url = `${origin}${path}`
      await load(url, plain, count / 4, 10)
      await load(url, agent, count / 4, 10)
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < rounds; i++) {
        a.push(await load(url, plain, count, 10))
        b.push(await load(url, agent, count, 10))
      }
      const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!
      // The median of the per-round ratios: each pair ran back to back, so machine drift
      // between rounds cancels out better than in a ratio of medians.
      const ratios = a.map((x, i) => b[i]! / x)
      rows.push({ body, plainRps: Math.round(med(a)), agentRps: Math.round(med(b)), ratio: Math.round(med(ratios) * 100) / 100 })
    }
  } finally {
    await agent.close()
    await plain.close()
    worker.postMessage('close')
    await once(worker, 'exit')
  }
  return rows
}

export function formatFetch(rows: readonly FetchBenchRow[]): string {
  const out = ['undici fetch through SecondaryCertsAgent (identities established) vs undici fetch over plain HTTP/2, same server']
  out.push('  10 in flight, 7 interleaved pairs after a warm-up, median of the per-pair ratios; target >= 0.9 at 12 B')
  for (const r of rows) {
    out.push(`  ${r.body.padEnd(6)} plain ${String(r.plainRps).padStart(6)} req/s  agent ${String(r.agentRps).padStart(6)} req/s  ratio ${r.ratio.toFixed(2)}`)
  }
  return out.join('\n')
}
