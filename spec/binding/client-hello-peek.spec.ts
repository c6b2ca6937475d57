import { expect } from 'chai'
import http2 from 'node:http2'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type tls from 'node:tls'
import {
  attachRequestMtls,
  peekClientHello,
  requestMtlsInfo,
  type RequestMtlsConnectionInfo,
  type RequestMtlsFront,
} from '../../lib/binding/client-hello-peek.js'
import { parseClientHello, type ClientHello } from '../../lib/tls-flags/client-hello.js'
import { encodeTlsFlags } from '../../lib/tls-flags/tls-flags.js'
import { testPki } from '../support/pki.js'
import { nodeHelloRecord, records, reencode } from '../tls-flags/support.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A raw TCP pair on loopback: the accepted server-side socket and the client socket. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r))
  const client = net.connect((srv.address() as AddressInfo).port, '127.0.0.1')
  const server = await accepted
  cleanups.push(() => {
    client.destroy()
    server.destroy()
    return new Promise<void>((r) => srv.close(() => r()))
  })
  return { server, client }
}

function fixtureHello(): ClientHello {
  const p = parseClientHello(nodeHelloRecord())
  if (p.kind !== 'complete') throw new Error('fixture')
  return p.hello
}

/** The captured Node hello with flag 80 in tls_flags (62), optionally TLS 1.2 only. */
function flaggedHello(flag: boolean, tls12Only = false): Uint8Array {
  const add: [number, Uint8Array][] = flag ? [[62, encodeTlsFlags([80])]] : []
  return records(reencode(fixtureHello(), { add, remove: tls12Only ? [43, 51, 45] : [] }))
}

function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => parts.push(d))
    setTimeout(() => resolve(Buffer.concat(parts)), 50)
    socket.resume()
  })
}

/**
 * Handshake message types of a TLS 1.2 server's plaintext first flight, read until
 * ServerHelloDone (14), an alert, or `timeoutMs`.
 */
function serverFlightTypes(socket: net.Socket, timeoutMs = 2000): Promise<number[]> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    let hs = Buffer.alloc(0)
    const types: number[] = []
    const done = (): void => {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      resolve(types)
    }
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
        const type = buf[0]!
        const body = buf.subarray(5, 5 + buf.readUInt16BE(3))
        buf = buf.subarray(5 + body.length)
        if (type !== 22) return done()
        hs = Buffer.concat([hs, body])
        while (hs.length >= 4 && hs.length >= 4 + hs.readUIntBE(1, 3)) {
          types.push(hs[0]!)
          const t = hs[0]!
          hs = hs.subarray(4 + hs.readUIntBE(1, 3))
          if (t === 14) return done()
        }
      }
    }
    const timer = setTimeout(done, timeoutMs)
    socket.on('data', onData)
    socket.once('close', done)
  })
}

describe('binding/client-hello-peek', () => {
  describe('peekClientHello', () => {
    it('waits for a ClientHello sent in pieces, then puts every byte back', async () => {
      const { server, client } = await socketPair()
      const bytes = flaggedHello(true)
      const peek = peekClientHello(server, { timeoutMs: 2000 })
      client.write(bytes.subarray(0, 3))
      await new Promise((r) => setTimeout(r, 20))
      client.write(bytes.subarray(3, 100))
      await new Promise((r) => setTimeout(r, 20))
      client.write(bytes.subarray(100))
      const result = await peek
      expect(result.kind).to.equal('client-hello')
      if (result.kind === 'client-hello') {
        expect(result.hello.serverName).to.equal('flags.example')
        expect(result.hello.extensions.has(62)).to.equal(true)
      }
      expect(Buffer.from(result.bytes).equals(Buffer.from(bytes))).to.equal(true)
      expect(server.isPaused()).to.equal(true)
      expect(server.listenerCount('data')).to.equal(0)
      expect((await readAll(server)).equals(Buffer.from(bytes))).to.equal(true)
    })

    it('reports bytes that are not a ClientHello and puts them back', async () => {
      const { server, client } = await socketPair()
      const peek = peekClientHello(server)
      client.write('GET / HTTP/1.1\r\n\r\n')
      const result = await peek
      expect(result.kind).to.equal('not-client-hello')
      if (result.kind === 'not-client-hello') expect(result.error.code).to.equal('ERR_SC_DECODE')
      expect((await readAll(server)).toString()).to.equal('GET / HTTP/1.1\r\n\r\n')
    })

    it('treats a ClientHello larger than maxBytes as not-client-hello', async () => {
      const { server, client } = await socketPair()
      const peek = peekClientHello(server, { maxBytes: 200 })
      client.write(flaggedHello(false))
      const result = await peek
      expect(result.kind).to.equal('not-client-hello')
    })

    it('times out with ERR_SC_TIMEOUT on a partial ClientHello', async () => {
      const { server, client } = await socketPair()
      const peek = peekClientHello(server, { timeoutMs: 100 })
      client.write(flaggedHello(false).subarray(0, 50))
      const err = await peek.then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      )
      expect(err?.code).to.equal('ERR_SC_TIMEOUT')
    })

    it('fails with ERR_SC_CLOSED when the client ends before the ClientHello is whole', async () => {
      const { server, client } = await socketPair()
      const peek = peekClientHello(server, { timeoutMs: 2000 })
      client.end(flaggedHello(false).subarray(0, 50))
      const err = await peek.then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      )
      expect(err?.code).to.equal('ERR_SC_CLOSED')
    })
  })

  describe('attachRequestMtls', () => {
    interface Setup {
      front: RequestMtlsFront
      port: number
      decisions: RequestMtlsConnectionInfo[]
      h2: http2.Http2SecureServer
    }

    async function setup(policy?: (c: { hello: ClientHello; requestMtls: boolean }) => boolean): Promise<Setup> {
      const pki = await testPki()
      const serverTls = { key: pki.server.keyPem, cert: pki.server.chainPem }
      const h2 = http2.createSecureServer({ ...serverTls, allowHTTP1: false })
      h2.on('stream', (stream) => {
        const socket = stream.session?.socket as tls.TLSSocket | undefined
        const peer = socket?.getPeerCertificate()
        const info = stream.session ? requestMtlsInfo(stream.session) : undefined
        stream.respond({ ':status': 200, 'content-type': 'application/json' })
        stream.end(
          JSON.stringify({
            peerCn: peer && 'subject' in peer ? (peer.subject?.CN ?? null) : null,
            authorized: socket?.authorized ?? null,
            requestMtls: info?.requestMtls ?? null,
            certificateRequested: info?.certificateRequested ?? null,
          }),
        )
      })
      const sessions = new Set<http2.Http2Session>()
      h2.on('session', (s) => sessions.add(s))
      const decisions: RequestMtlsConnectionInfo[] = []
      const front = attachRequestMtls(h2, {
        tls: { ...serverTls, ca: pki.caPem },
        timeoutMs: 2000,
        ...(policy ? { policy } : {}),
        onDecision: (info) => decisions.push(info),
      })
      await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', r))
      cleanups.push(async () => {
        for (const s of sessions) s.destroy()
        await front.close()
      })
      return { front, port: (front.server.address() as AddressInfo).port, decisions, h2 }
    }

    async function get(port: number, servername: string): Promise<Record<string, unknown>> {
      const pki = await testPki()
      const client = http2.connect(`https://127.0.0.1:${port}`, {
        servername,
        ca: pki.caPem,
        checkServerIdentity: () => undefined,
        key: pki.user.keyPem,
        cert: pki.user.chainPem,
      })
      cleanups.push(() => client.destroy())
      return new Promise((resolve, reject) => {
        client.on('error', reject)
        const req = client.request({ ':path': '/' })
        let body = ''
        req.setEncoding('utf8')
        req.on('data', (d: string) => (body += d))
        req.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>))
        req.on('error', reject)
      })
    }

    it('sends no CertificateRequest to a Node client (which cannot send the flag)', async () => {
      const s = await setup()
      const body = await get(s.port, 'localhost')
      expect(body).to.deep.equal({ peerCn: null, authorized: false, requestMtls: false, certificateRequested: false })
      expect(s.decisions.map((d) => [d.requestMtls, d.certificateRequested])).to.deep.equal([[false, false]])
      expect(s.decisions[0]?.hello?.serverName).to.equal('localhost')
    })

    it('requests and receives a real client certificate when the policy asks for this connection', async () => {
      const s = await setup((c) => c.requestMtls || c.hello.serverName === 'mtls.localhost')
      const withCert = await get(s.port, 'mtls.localhost')
      expect(withCert).to.deep.equal({ peerCn: 'user', authorized: true, requestMtls: false, certificateRequested: true })
      // Same front end, another connection: no CertificateRequest.
      const without = await get(s.port, 'localhost')
      expect(without['peerCn']).to.equal(null)
      expect(without['certificateRequested']).to.equal(false)
    })

    it('records the flag of a raw ClientHello carrying tls_flags with flag 80 before the handshake', async () => {
      const s = await setup()
      const client = net.connect(s.port, '127.0.0.1')
      cleanups.push(() => client.destroy())
      client.on('error', () => undefined)
      client.write(flaggedHello(true))
      const deadline = Date.now() + 2000
      while (s.decisions.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(s.decisions).to.have.length(1)
      expect(s.decisions[0]?.requestMtls).to.equal(true)
      expect(s.decisions[0]?.certificateRequested).to.equal(true)
      const signal = s.decisions[0]?.signal
      expect(signal?.kind === 'flags' && signal.requestedBy).to.deep.equal([62])
    })

    it('puts a CertificateRequest on the wire exactly when the flag is set (TLS 1.2 hello, plaintext flight)', async () => {
      const s = await setup()
      const flights: number[][] = []
      for (const flag of [true, false]) {
        const client = net.connect(s.port, '127.0.0.1')
        cleanups.push(() => client.destroy())
        client.on('error', () => undefined)
        const flight = serverFlightTypes(client)
        client.write(flaggedHello(flag, true))
        flights.push(await flight)
      }
      // ServerHello(2), Certificate(11), ServerKeyExchange(12), [CertificateRequest(13)], ServerHelloDone(14)
      expect(flights[0]).to.deep.equal([2, 11, 12, 13, 14])
      expect(flights[1]).to.deep.equal([2, 11, 12, 14])
      expect(s.decisions.map((d) => d.requestMtls)).to.deep.equal([true, false])
    })

    it('hands bytes that are not TLS to the target untouched', async () => {
      const s = await setup()
      const client = net.connect(s.port, '127.0.0.1')
      cleanups.push(() => client.destroy())
      client.on('error', () => undefined)
      const answer = new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = []
        client.on('data', (d: Buffer) => parts.push(d))
        client.on('close', () => resolve(Buffer.concat(parts)))
      })
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      const bytes = await answer
      expect(s.decisions).to.have.length(1)
      expect(s.decisions[0]?.hello).to.equal(undefined)
      // The TLS stack answered with an alert record (content type 21), or just closed.
      if (bytes.length > 0) expect(bytes[0]).to.equal(21)
    })
  })
})
