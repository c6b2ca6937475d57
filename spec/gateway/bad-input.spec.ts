import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway } from '../../lib/gateway/gateway.js'
import { createSidecar } from '../../lib/sidecar/sidecar.js'
import type { Sidecar } from '../../lib/sidecar/sidecar.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, startBackend } from './support/harness.js'
import type { Backend } from './support/harness.js'

/** Resolves when the socket closes (or after `ms`, with false); reads and drops what arrives. */
function closes(socket: net.Socket, ms = 5000): Promise<boolean> {
  // A paused socket never sees the peer's FIN, so it would never close.
  socket.resume()
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(t)
      resolve(true)
    })
  })
}

function h1(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    }).on('error', reject)
  })
}

describe('gateway and sidecar listeners: bad input ends only that connection', function () {
  this.timeout(90000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway
  let sc: Sidecar
  let gwPort: number
  let scPort: number
  let healthy: http2.ClientHttp2Session

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
    gw = createGateway({
      cert: pki.server.chainPem,
      key: pki.server.keyPem,
      ca: pki.caPem,
      routes: [
        { prefix: '/open', upstream: backend.url, public: true },
        { prefix: '/', upstream: backend.url, require: ['device', 'user'] },
      ],
      limits: { identityTimeoutMs: 3000 },
    })
    gwPort = (await gw.listen()).port
    sc = createSidecar({
      upstream: `https://127.0.0.1:${gwPort}`,
      ca: pki.caPem,
      credentials: [
        { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
      ],
    })
    scPort = (await sc.listen()).port
    healthy = deviceUserClient(`https://127.0.0.1:${gwPort}`, pki)
    expect((await fetchH2(healthy, '/before')).status).to.equal(200)
  })
  after(async () => {
    healthy.destroy()
    await sc.close({ timeoutMs: 500 })
    await gw.close({ timeoutMs: 500 })
    await backend.stop()
  })
  afterEach(async () => {
    // The long-lived connection and fresh clients still work after every abuse.
    expect((await fetchH2(healthy, '/still-fine')).status).to.equal(200)
    expect(await h1(scPort, '/via-sidecar')).to.equal(200)
  })

  it('gateway: a TLS 1.2 client fails the handshake (TLS 1.3 only), nothing else happens', async () => {
    const err = await new Promise<Error>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: gwPort, ca: pki.caPem, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] })
      s.on('error', resolve)
      s.on('secureConnect', () => resolve(new Error('connected')))
    })
    expect(err.message).to.not.equal('connected')
  })

  it('gateway: garbage bytes instead of a ClientHello close that connection', async () => {
    for (let i = 0; i < 5; i++) {
      const s = net.connect(gwPort, '127.0.0.1')
      s.on('error', () => {})
      s.write(randomBytes(2048))
      expect(await closes(s)).to.equal(true)
    }
  })

  it('gateway: garbage after the TLS handshake (not an HTTP/2 preface) closes that connection', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: gwPort, ca: pki.caPem, ALPNProtocols: ['h2'] })
    s.on('error', () => {})
    await new Promise((r) => s.once('secureConnect', r))
    s.write(randomBytes(4096))
    expect(await closes(s)).to.equal(true)
  })

  it('gateway: a client that vanishes mid-upload and mid-authentication leaves the process serving', async () => {
    const a = deviceUserClient(`https://127.0.0.1:${gwPort}`, pki)
    const st = a.request({ ':path': '/upload', ':method': 'POST' })
    st.on('error', () => {})
    st.write(Buffer.alloc(200000))
    await new Promise((r) => setTimeout(r, 100))
    a.destroy()
    // A plain HTTP/2 client with no extension, closing while its request is held.
    const b = http2.connect(`https://127.0.0.1:${gwPort}`, { ca: pki.caPem })
    b.on('error', () => {})
    const st2 = b.request({ ':path': '/x' })
    st2.on('error', () => {})
    b.destroy()
  })

  it('gateway: an HTTP/1.1 request with a malformed header line gets closed, not a crash', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: gwPort, ca: pki.caPem, ALPNProtocols: ['http/1.1'] })
    s.on('error', () => {})
    await new Promise((r) => s.once('secureConnect', r))
    s.write('GET /open HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
    let data = ''
    s.on('data', (c: Buffer) => (data += c.toString()))
    expect(await closes(s)).to.equal(true)
    expect(data === '' || data.startsWith('HTTP/1.1 400')).to.equal(true)
  })

  it('sidecar: garbage bytes, a TLS ClientHello and a bad h2c preface each close only that connection', async () => {
    const tlsHello = await new Promise<Buffer>((resolve) => {
      // Capture a real ClientHello by pointing a TLS client at a raw server.
      const raw = net.createServer((sock) => sock.once('data', (c: Buffer) => {
        resolve(c)
        sock.destroy()
        raw.close()
      }))
      raw.listen(0, '127.0.0.1', () => {
        const c = tls.connect({ host: '127.0.0.1', port: (raw.address() as net.AddressInfo).port, rejectUnauthorized: false })
        c.on('error', () => {})
      })
    })
    for (const bytes of [randomBytes(1024), tlsHello, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(64)])]) {
      const s = net.connect(scPort, '127.0.0.1')
      s.on('error', () => {})
      s.write(bytes)
      expect(await closes(s)).to.equal(true)
    }
  })

  it('sidecar: a client that closes mid-request or mid-upload leaves it serving', async () => {
    const s = net.connect(scPort, '127.0.0.1')
    s.on('error', () => {})
    await new Promise((r) => s.once('connect', r))
    s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n')
    s.write(Buffer.alloc(100000))
    await new Promise((r) => setTimeout(r, 100))
    s.destroy()
    const t = net.connect(scPort, '127.0.0.1')
    t.on('error', () => {})
    t.write('GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((r) => setTimeout(r, 50))
    t.destroy()
  })
})
