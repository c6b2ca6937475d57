/**
 * The server of bench/fetch.ts, in a worker thread so that it runs on the other core while the
 * fetch client runs on this one (as a client and its server would, on two machines).
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { AddressInfo } from 'node:net'
import { createSecureServer, sessionCerts } from '../lib/server.js'
import { ekuOidFilter } from '../lib/policy/certificate-policy.js'

const { key, cert, caPem } = workerData as { key: string; cert: string; caPem: string }
const SMALL = Buffer.alloc(12, 0x61)
const LARGE = Buffer.alloc(64 * 1024, 0x62)
// The test CA is the trust anchor, so the identities of /login count (issue 10).
const server = createSecureServer({ key, cert, secondaryCerts: { trust: { anchors: [caPem], preset: 'frank' } } }, async (req, res) => {
  if (req.url === '/login') {
    await sessionCerts(req)!.requestIdentities([
      { label: 'device', oidFilters: [ekuOidFilter('device')] },
      { label: 'user', oidFilters: [ekuOidFilter('user')] },
    ])
    res.end('ok')
    return
  }
  res.end(req.url === '/large' ? LARGE : SMALL)
})
server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port))
parentPort!.on('message', (m: unknown) => {
  if (m === 'close') server.close(() => process.exit(0))
})
