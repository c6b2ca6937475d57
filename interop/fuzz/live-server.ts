/**
 * The server process of the live fuzz phase and of the load run (so a crash shows as an exit).
 * Started with `fork` and an IPC channel: the parent sends `{ type: 'start', keyPem, certPem,
 * caPem, maxSessionMemory?, requestTimeoutMs? }` and gets `{ type: 'listening', port }`;
 * `{ type: 'stats' }` answers with the counters and the heap after a forced GC (run with
 * --expose-gc). The process exits when the parent disconnects.
 */
import { createLoadServer } from '../load/server.js'
import type { LoadServerOptions } from '../load/server.js'

let counters: ReturnType<typeof createLoadServer>['counters'] | undefined

process.on('message', (m: { type: string } & Partial<LoadServerOptions>) => {
  if (m.type === 'start') {
    const made = createLoadServer(m as unknown as LoadServerOptions)
    counters = made.counters
    made.server.listen(0, '127.0.0.1', () => {
      const a = made.server.address()
      process.send?.({ type: 'listening', port: typeof a === 'object' && a ? a.port : 0 })
    })
  } else if (m.type === 'stats') {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc) {
      gc()
      gc()
    }
    process.send?.({ type: 'stats', counters, heapUsed: process.memoryUsage().heapUsed, gc: !!gc, cpu: process.cpuUsage() })
  }
})
process.on('disconnect', () => process.exit(0))
