/**
 * Child processes of the gateway bench: `node gateway-procs.js backend` (a keep-alive HTTP/1.1
 * upstream answering /12 with 12 bytes and /64k with 64 KB) and `node --expose-gc
 * gateway-procs.js gateway DIR UPSTREAM ext|off` (our gateway; `ext` protects every path with
 * device + user, `off` is the same gateway with a public route). Each prints `listening on PORT`;
 * the gateway answers `mem` on stdin with its retained JS memory after a full GC.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createGateway } from '../lib/gateway/gateway.js'

const [role, ...rest] = process.argv.slice(2)
if (role === 'backend') {
  const small = Buffer.from('hello world\n')
  const big = Buffer.alloc(64 * 1024, 0x61)
  const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
    const body = req.url === '/64k' ? big : small
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.end(body)
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on ${(server.address() as AddressInfo).port}\n`))
} else if (role === 'gateway') {
  const [dir, upstream, mode] = rest as [string, string, string]
  const gw = createGateway({
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    key: readFileSync(join(dir, 'server-key.pem'), 'utf8'),
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    routes: [mode === 'ext' ? { prefix: '/', upstream, require: ['device', 'user'] } : { prefix: '/', upstream, public: true }],
  })
  const { port } = await gw.listen()
  process.stdout.write(`listening on ${port}\n`)
  const gc = (globalThis as { gc?: () => void }).gc
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'mem') return
    gc?.()
    setTimeout(() => {
      gc?.()
      const m = process.memoryUsage()
      process.stdout.write(JSON.stringify({ heap: m.heapUsed + m.arrayBuffers, rss: m.rss }) + '\n')
    }, 20)
  }).on('close', () => process.exit(0))
}
