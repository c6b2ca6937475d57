/**
 * The conformance tester's own surfaces under bad input. Side `server` (our raw client connects
 * out) pointed at servers that are not what it expects: HTTP/1.1 only, TLS 1.2 only, garbage after
 * the handshake, no TLS at all, an abrupt close. Every check must end as a FAIL with a reason an
 * implementer can act on, and the run must return. Side `client` (our misbehaving server) must
 * shrug off HTTP/1.1, cleartext HTTP/2, TLS 1.2, garbage and abrupt closes without giving them a
 * check, and still judge the real clients that connect afterwards.
 */
import { expect } from 'chai'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { connect } from '../../lib/client.js'
import { formatResults, runConformanceClient, runConformanceServer } from '../../lib/conformance/index.js'
import { testPki } from '../support/pki.js'

type Closeable = { close(cb?: () => void): unknown; address(): AddressInfo | string | null }

function listening<T extends Closeable & { listen(port: number, host: string, cb: () => void): unknown }>(s: T): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)))
}

describe('conformance/hostile-peers', function () {
  this.timeout(30000)
  const CHECKS = ['settings-values', 'declining']

  describe('side server: the server under test is not an HTTP/2 + TLS 1.3 server', () => {
    const cases: { name: string; make: (key: string, cert: string) => net.Server; reason: RegExp }[] = [
      {
        name: 'HTTP/1.1 only (no h2 in ALPN)',
        make: (key, cert) => https.createServer({ key, cert }, (_q, r) => r.end('hi')),
        reason: /refused ALPN h2 .*not an HTTP\/2 server/,
      },
      {
        name: 'TLS 1.2 only',
        make: (key, cert) => https.createServer({ key, cert, maxVersion: 'TLSv1.2' }, (_q, r) => r.end('hi')),
        reason: /does not offer TLS 1\.3/,
      },
      {
        name: 'garbage bytes after the handshake',
        make: (key, cert) =>
          tls.createServer({ key, cert, ALPNProtocols: ['h2'] }, (s) => {
            s.on('error', () => {})
            s.resume()
            s.write(Buffer.from('this is not an HTTP/2 frame sequence at all, not even close'))
          }),
        reason: /no SETTINGS within \d+ ms|closed before SETTINGS/,
      },
      {
        name: 'abrupt close after the handshake',
        make: (key, cert) => tls.createServer({ key, cert, ALPNProtocols: ['h2'] }, (s) => s.destroy()),
        reason: /closed before SETTINGS|closed the connection/,
      },
      {
        name: 'no TLS at all (plain TCP answering garbage, then closing)',
        make: () =>
          net.createServer((s) => {
            s.on('error', () => {})
            s.resume()
            s.end('HTTP/1.1 400 Bad Request\r\n\r\n')
          }),
        reason: /did not answer with TLS|closed the connection/,
      },
    ]
    for (const c of cases) {
      it(`${c.name}: every check FAILs with a reason, the run returns`, async () => {
        const pki = await testPki('p256')
        const server = c.make(pki.server.keyPem, pki.server.chainPem)
        // The test servers' own sockets, destroyed at the end whatever state they are in.
        const sockets = new Set<net.Socket>()
        server.on('connection', (s: net.Socket) => {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
        })
        const port = await listening(server)
        try {
          const results = await runConformanceServer(`https://127.0.0.1:${port}/whoami`, { ca: pki.caPem, only: CHECKS, timeoutMs: 500 })
          expect(results.map((r) => r.check)).to.deep.equal(CHECKS)
          for (const r of results) {
            expect(r.result, formatResults(results)).to.equal('fail')
            expect(r.detail).to.match(c.reason)
          }
        } finally {
          for (const s of sockets) s.destroy()
          await new Promise<void>((r) => server.close(() => r()))
        }
      })
    }
  })

  describe('side client: connections that are not a client under test', () => {
    it('HTTP/1.1, cleartext HTTP/2, TLS 1.2, garbage and abrupt closes get no check; real clients afterwards are judged', async () => {
      const pki = await testPki('p256')
      let onPort: (p: number) => void = () => {}
      const portP = new Promise<number>((r) => (onPort = r))
      const CLIENT_CHECKS = ['settings-values', 'request-answered']
      const run = runConformanceClient(0, {
        cert: pki.server.chainPem,
        key: pki.server.keyPem,
        only: CLIENT_CHECKS,
        timeoutMs: 1500,
        onListening: (p) => onPort(p),
      })
      const port = await Promise.race([portP, run.then(() => Promise.reject(new Error('the run ended before listening')))])
      const settle = (fn: (done: () => void) => void): Promise<void> =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 2000)
          fn(() => {
            clearTimeout(t)
            resolve()
          })
        })
      // HTTP/1.1 over TLS (ALPN http/1.1 only).
      await settle((done) => {
        const q = https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (r) => r.resume().on('end', done))
        q.on('error', done)
      })
      // Cleartext HTTP/2 (prior knowledge) to a TLS port.
      await settle((done) => {
        const s = http2.connect(`http://127.0.0.1:${port}`)
        s.on('error', done)
        s.on('close', done)
      })
      // TLS 1.2 only.
      await settle((done) => {
        const s = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false, ALPNProtocols: ['h2'] })
        s.on('error', done)
        s.on('close', done)
      })
      // Garbage bytes instead of a ClientHello, then an abrupt TCP close; a TLS handshake then an abrupt close.
      await settle((done) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write('GARBAGE\r\n\r\n')
          setTimeout(() => s.destroy(), 200)
        })
        s.on('error', done)
        s.on('close', done)
      })
      await settle((done) => {
        const s = net.connect(port, '127.0.0.1', () => s.destroy())
        s.on('close', done)
      })
      await settle((done) => {
        const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => s.destroy())
        s.on('error', done)
        s.on('close', done)
      })
      // Now the real clients, one per check.
      for (let i = 0; i < CLIENT_CHECKS.length; i++) {
        const s = connect(`https://127.0.0.1:${port}`, {
          ca: pki.caPem,
          servername: 'localhost',
          secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }], credentialLimit: 2 },
        })
        s.on('error', () => {})
        await settle((done) => s.once('close', done))
        if (!s.destroyed) s.destroy()
      }
      const results = await run
      expect(results.map((r) => r.check)).to.deep.equal(CLIENT_CHECKS)
      expect(results.map((r) => r.result), formatResults(results)).to.deep.equal(['pass', 'pass'])
    })
  })
})
