/**
 * A gateway in a process of its own that reports the memory it retains, for the big-body spec:
 * run with `node --expose-gc --import tsx gateway-probe.ts DIR UPSTREAM`, where DIR holds a
 * written test PKI. Prints `listening on PORT`; then on stdin, `mark` starts a measurement and
 * `report` prints `{"peak": bytes}`: the largest heapUsed + arrayBuffers, each sampled right after
 * a full GC every 250 ms, above the value at `mark`.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createGateway } from '../../../lib/gateway/gateway.js'

const [dir, upstream] = process.argv.slice(2) as [string, string]
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')
const gw = createGateway({
  cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  key: readFileSync(join(dir, 'server-key.pem'), 'utf8'),
  ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
  upstream,
  require: ['device', 'user'],
})
/**
 * heapUsed + arrayBuffers after two full GCs a turn apart: V8 releases the backing stores of dead
 * ArrayBuffers (Buffers) concurrently, so a reading right after one GC still counts some of them.
 */
const retained = async (): Promise<number> => {
  gc()
  await new Promise((r) => setTimeout(r, 5))
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
let base = 0
let peak = 0
let sampling = false
const sample = async (): Promise<void> => {
  while (sampling) {
    peak = Math.max(peak, (await retained()) - base)
    await new Promise((r) => setTimeout(r, 250))
  }
}
const { port } = await gw.listen()
process.stdout.write(`listening on ${port}\n`)
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'mark') {
    void retained().then((b) => {
      base = b
      peak = 0
      sampling = true
      void sample()
      process.stdout.write('marked\n')
    })
  } else if (line === 'report') {
    sampling = false
    process.stdout.write(JSON.stringify({ peak }) + '\n')
  }
}).on('close', () => void gw.close({ timeoutMs: 200 }).then(() => process.exit(0)))
