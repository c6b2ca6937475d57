import { expect } from 'chai'
import https from 'node:https'
import http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import {
  attachInterposerToServer,
  jsStreamSocketClass,
  wrapServerSocket,
} from '../../lib/binding/tls-facade.js'
import type { ExtensionFrame } from '../../lib/binding/interposer.js'
import { CLIENT_PREFACE, encodeFrameHeader } from '../../lib/wire/h2/frame-header.js'
import type { LoopbackServer, WrappedClient } from '../support/loopback.js'
import {
  connectPlain,
  connectRawTls,
  connectWrapped,
  fetchText,
  once,
  startServer,
  testCert,
  until,
  whenConnected,
} from '../support/loopback.js'

/*
 * The TLS facade must make an interposed connection look exactly like a plain node:http2 one
 * (notes node20-feasibility §1, "Pitfall"). Every property is compared with a plain connection
 * made in the same run; both servers ask for a client certificate so the server side has one.
 */

const EXT = [0xf8, 0xf9, 0xfa]
const wrapOptions = { extensionFrameTypes: EXT, maxInboundExtensionFrameBytes: 65536 }
const LABEL = 'EXPORTER-facade-test'

interface Side {
  srv: LoopbackServer
  client: http2.ClientHttp2Session
  wrappedClient?: WrappedClient
  /** What `req.socket` of the compat API showed during the first request. */
  reqSocket?: ReqSocketView
  /** setNoDelay calls that reached the client's TLS socket. */
  noDelayCalls: number
  serverSession(): http2.ServerHttp2Session
}

function serverOptions(): http2.SecureServerOptions {
  const { key, cert } = testCert()
  return { requestCert: true, rejectUnauthorized: false, ca: cert, key, cert, allowHTTP1: true }
}

async function plainSide(): Promise<Side> {
  const side = {} as Side
  side.srv = await startServer({
    h2: serverOptions(),
    onRequest: (req, res) => {
      side.reqSocket ??= viewOf(req)
      res.end('plain')
    },
  })
  const { key, cert } = testCert()
  side.client = connectPlain(side.srv.port, { key, cert } as http2.SecureClientSessionOptions)
  await whenConnected(side.client)
  await fetchText(side.client)
  side.serverSession = () => side.srv.sessions[0]!
  return side
}

async function wrappedSide(): Promise<Side> {
  const side = {} as Side
  side.srv = await startServer({
    h2: serverOptions(),
    wrap: wrapOptions,
    onRequest: (req, res) => {
      side.reqSocket ??= viewOf(req)
      res.end('wrapped')
    },
  })
  const { key, cert } = testCert()
  side.noDelayCalls = 0
  side.wrappedClient = connectWrapped(
    side.srv.port,
    wrapOptions,
    {},
    (ip) => {
      // Spy before http2 creates the session (it calls socket.setNoDelay() in its constructor).
      const t = ip.tlsSocket
      const original = t.setNoDelay.bind(t)
      t.setNoDelay = (v?: boolean) => {
        side.noDelayCalls++
        return original(v)
      }
    },
    { key, cert },
  )
  side.client = side.wrappedClient.session
  await whenConnected(side.client)
  await fetchText(side.client)
  side.serverSession = () => side.srv.sessions[0]!
  return side
}

interface ReqSocketView {
  encrypted: unknown
  alpnProtocol: unknown
  remoteAddress: unknown
  protocol: unknown
  peerFingerprint: unknown
  exported: Buffer
}

function viewOf(req: http2.Http2ServerRequest): ReqSocketView {
  const s = req.socket as unknown as Record<string, unknown>
  const f = (name: string, ...args: unknown[]): unknown => (s[name] as (...a: unknown[]) => unknown)(...args)
  return {
    encrypted: s['encrypted'],
    alpnProtocol: s['alpnProtocol'],
    remoteAddress: s['remoteAddress'],
    protocol: f('getProtocol'),
    peerFingerprint: (f('getPeerCertificate') as tls.PeerCertificate).fingerprint256,
    exported: f('exportKeyingMaterial', 32, LABEL) as Buffer,
  }
}

type SocketLike = Record<string, unknown> & { [k: string]: unknown }
const sock = (s: unknown): SocketLike => s as SocketLike
const call = (s: unknown, name: string, ...args: unknown[]): unknown => (sock(s)[name] as (...a: unknown[]) => unknown)(...args)

describe('binding/tls-facade', () => {
  describe('looks like plain node:http2', () => {
    let plain: Side
    let wrapped: Side

    before(async () => {
      plain = await plainSide()
      wrapped = await wrappedSide()
      expect(wrapped.srv.interposers).to.have.length(1)
      expect(plain.srv.interposers).to.have.length(0)
    })

    after(async () => {
      for (const s of [plain, wrapped]) {
        if (!s) continue
        s.client.destroy()
        await s.srv.close()
      }
    })

    it('session.encrypted is true on both ends', () => {
      for (const s of [plain, wrapped]) {
        expect(s.client.encrypted).to.equal(true)
        expect(s.serverSession().encrypted).to.equal(true)
      }
    })

    it("session.alpnProtocol is 'h2' on both ends", () => {
      expect(wrapped.client.alpnProtocol).to.equal(plain.client.alpnProtocol).and.equal('h2')
      expect(wrapped.serverSession().alpnProtocol).to.equal(plain.serverSession().alpnProtocol).and.equal('h2')
    })

    it('client session.originSet holds the TLS origin', () => {
      const strip = (s: Side): string[] => (s.client.originSet ?? []).map((o) => o.replace(`:${s.srv.port}`, ':PORT'))
      expect(wrapped.client.originSet).to.deep.equal([`https://localhost:${wrapped.srv.port}`])
      expect(strip(wrapped)).to.deep.equal(strip(plain))
    })

    it('session.socket.getPeerCertificate() shows the peer certificate on both ends', () => {
      for (const end of ['client', 'server'] as const) {
        const get = (s: Side) => call((end === 'client' ? s.client : s.serverSession()).socket, 'getPeerCertificate') as tls.PeerCertificate
        expect(get(wrapped).fingerprint256).to.be.a('string').and.equal(get(plain).fingerprint256)
        expect(get(wrapped).subject).to.deep.equal(get(plain).subject)
      }
    })

    it('session.socket.remoteAddress, remotePort and remoteFamily are the TCP peer', () => {
      for (const s of [plain, wrapped]) {
        const c = sock(s.client.socket)
        const v = sock(s.serverSession().socket)
        expect(c['remoteAddress']).to.equal('127.0.0.1')
        expect(c['remotePort']).to.equal(s.srv.port)
        expect(c['remoteFamily']).to.equal('IPv4')
        expect(v['remoteAddress']).to.equal('127.0.0.1')
        expect(v['remotePort']).to.equal(c['localPort'])
      }
      expect(sock(wrapped.client.socket)['localAddress']).to.equal(sock(plain.client.socket)['localAddress'])
    })

    it('session.socket.getCipher() and getProtocol() report the TLS 1.3 suite', () => {
      for (const end of ['client', 'server'] as const) {
        const of = (s: Side) => (end === 'client' ? s.client : s.serverSession()).socket
        expect(call(of(wrapped), 'getCipher')).to.deep.equal(call(of(plain), 'getCipher'))
        expect(call(of(wrapped), 'getProtocol')).to.equal(call(of(plain), 'getProtocol')).and.equal('TLSv1.3')
      }
    })

    it('session.socket.exportKeyingMaterial() gives equal bytes on both ends', () => {
      for (const s of [plain, wrapped]) {
        const a = call(s.client.socket, 'exportKeyingMaterial', 48, LABEL) as Buffer
        const b = call(s.serverSession().socket, 'exportKeyingMaterial', 48, LABEL) as Buffer
        expect(a.length).to.equal(48)
        expect(a.equals(b)).to.equal(true)
      }
      const direct = wrapped.wrappedClient!.tlsSocket.exportKeyingMaterial(48, LABEL, undefined as unknown as Buffer)
      expect(direct.equals(call(wrapped.client.socket, 'exportKeyingMaterial', 48, LABEL) as Buffer)).to.equal(true)
    })

    it('session.socket.authorized and servername match', () => {
      for (const key of ['authorized', 'servername'] as const) {
        expect(sock(wrapped.client.socket)[key], key).to.deep.equal(sock(plain.client.socket)[key])
        expect(sock(wrapped.serverSession().socket)[key], key).to.deep.equal(sock(plain.serverSession().socket)[key])
      }
      expect(sock(wrapped.client.socket)['authorized']).to.equal(true)
    })

    it('req.socket of the compat API forwards to the TLS connection', () => {
      const p = plain.reqSocket!
      const w = wrapped.reqSocket!
      expect(w.encrypted).to.equal(p.encrypted).and.equal(true)
      expect(w.alpnProtocol).to.equal(p.alpnProtocol).and.equal('h2')
      expect(w.remoteAddress).to.equal(p.remoteAddress).and.equal('127.0.0.1')
      expect(w.protocol).to.equal(p.protocol).and.equal('TLSv1.3')
      expect(w.peerFingerprint).to.be.a('string').and.equal(p.peerFingerprint)
      const clientSide = call(wrapped.client.socket, 'exportKeyingMaterial', 32, LABEL) as Buffer
      expect(w.exported.equals(clientSide)).to.equal(true)
      expect(p.exported.equals(call(plain.client.socket, 'exportKeyingMaterial', 32, LABEL) as Buffer)).to.equal(true)
    })

    it('setNoDelay, ref and unref reach the TLS socket instead of being lost', () => {
      expect(wrapped.noDelayCalls, 'http2 disables Nagle on its socket').to.be.greaterThan(0)
      const t = wrapped.wrappedClient!.tlsSocket
      const calls: string[] = []
      const ref = t.ref.bind(t)
      const unref = t.unref.bind(t)
      t.ref = () => (calls.push('ref'), ref())
      t.unref = () => (calls.push('unref'), unref())
      try {
        wrapped.client.unref()
        wrapped.client.ref()
      } finally {
        t.ref = ref
        t.unref = unref
      }
      expect(calls).to.deep.equal(['unref', 'ref'])
    })

    it('is a JSStreamSocket subclass (the Node internal it relies on) and not a TLSSocket', () => {
      const Base = jsStreamSocketClass()
      expect(Base.name).to.equal('JSStreamSocket')
      expect(Base.prototype).to.be.instanceOf(net.Socket)
      const proto = Object.getPrototypeOf(wrapped.client.socket) as object
      expect(proto).to.be.instanceOf(Base)
      expect(proto).to.not.be.instanceOf(tls.TLSSocket)
      expect(Object.getPrototypeOf(plain.client.socket)).to.equal(tls.TLSSocket.prototype)
    })
  })

  describe('attachInterposerToServer', () => {
    let srv: LoopbackServer | undefined
    const sessions: http2.ClientHttp2Session[] = []
    const raw: tls.TLSSocket[] = []

    afterEach(async () => {
      for (const s of sessions.splice(0)) s.destroy()
      for (const r of raw.splice(0)) r.destroy()
      await srv?.close()
      srv = undefined
    })

    const respond = (stream: http2.ServerHttp2Stream): void => {
      stream.respond({ ':status': 200 })
      stream.end('ok')
    }
    const peek = { ...wrapOptions, peekClientSettings: [0xf5a2, 0xf5a1] }

    function frame(type: number, flags: number, payload: Buffer): Buffer {
      return Buffer.concat([encodeFrameHeader({ length: payload.length, type, flags, streamId: 0 }), payload])
    }

    /** Reads from a raw socket until a SETTINGS frame from the server arrives. */
    async function serverSettingsArrive(socket: tls.TLSSocket): Promise<void> {
      const chunks: Buffer[] = []
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no server SETTINGS')), 2000)
        socket.on('data', (c: Buffer) => {
          chunks.push(c)
          const b = Buffer.concat(chunks)
          if (b.length >= 9 && b[3] === 4) {
            clearTimeout(timer)
            resolve()
          }
        })
      })
    }

    it('wraps every h2 connection without peekClientSettings', async () => {
      srv = await startServer({ wrap: wrapOptions, onStream: respond })
      const c = connectPlain(srv.port)
      sessions.push(c)
      expect((await fetchText(c)).body.toString()).to.equal('ok')
      expect(srv.interposers).to.have.length(1)
      expect(srv.handedSockets[0]).to.not.equal(tls.TLSSocket.prototype)
    })

    it('keeps a plain client on the native path when peeking', async () => {
      srv = await startServer({ wrap: peek, onStream: respond })
      const c = connectPlain(srv.port)
      sessions.push(c)
      expect((await fetchText(c)).body.toString()).to.equal('ok')
      expect(srv.interposers).to.have.length(0)
      expect(srv.handedSockets).to.deep.equal([tls.TLSSocket.prototype])
    })

    it('wraps a client that advertises one of the settings, and its extension frames arrive', async () => {
      const got: number[] = []
      srv = await startServer({
        wrap: peek,
        onStream: respond,
        onWrapped: (ip) => ip.on('extensionFrame', (f: ExtensionFrame) => got.push(f.payload[0]!)),
      })
      const c = connectWrapped(srv.port, wrapOptions, { settings: { customSettings: { 0xf5a2: 2 } } as http2.Settings })
      sessions.push(c.session)
      c.interposer.sendExtensionFrame(0xfa, 0, 0, Uint8Array.of(7))
      expect((await fetchText(c.session)).body.toString()).to.equal('ok')
      expect(srv.interposers).to.have.length(1)
      expect(srv.handedSockets[0]).to.not.equal(tls.TLSSocket.prototype)
      await until(() => got.length === 1, 2000, 'the extension frame')
      expect(got).to.deep.equal([7])
    })

    it('keeps a client that advertises the setting with value 0 native', async () => {
      // node:http2 refuses to send a custom setting of 0, so this client is hand-written.
      srv = await startServer({ wrap: peek, onStream: respond })
      const s = await connectRawTls(srv.port)
      raw.push(s)
      const arrived = serverSettingsArrive(s)
      s.write(Buffer.concat([CLIENT_PREFACE, frame(4, 0, Buffer.from('f5a200000000f5a100000000', 'hex'))]))
      await arrived
      expect(srv.interposers).to.have.length(0)
      expect(srv.handedSockets).to.deep.equal([tls.TLSSocket.prototype])
    })

    it('handles a preface and SETTINGS split over many reads', async () => {
      srv = await startServer({ wrap: peek, onStream: respond })
      const s = await connectRawTls(srv.port)
      raw.push(s)
      const settings = frame(4, 0, Buffer.from('000300000064f5a200000001', 'hex'))
      const bytes = Buffer.concat([CLIENT_PREFACE, settings])
      const arrived = serverSettingsArrive(s)
      for (const [a, b] of [[0, 5], [5, 23], [23, 30], [30, 40], [40, bytes.length]] as const) {
        s.write(bytes.subarray(a, b))
        await new Promise((r) => setTimeout(r, 15))
      }
      await arrived
      expect(srv.interposers).to.have.length(1)
      expect(srv.sessions).to.have.length(1)
    })

    it('gives a client that sends garbage the native path, where nghttp2 rejects it', async () => {
      srv = await startServer({ wrap: peek, onStream: respond })
      const s = await connectRawTls(srv.port)
      raw.push(s)
      const closed = once(s, 'close', 3000)
      s.resume()
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(40))
      await closed
      expect(srv.interposers).to.have.length(0)
      expect(srv.handedSockets).to.deep.equal([tls.TLSSocket.prototype])
    })

    it('falls back to the native path when the client is silent past peekTimeoutMs', async () => {
      srv = await startServer({ wrap: { ...peek, peekTimeoutMs: 100 }, onStream: respond })
      const s = await connectRawTls(srv.port)
      raw.push(s)
      await until(() => srv!.sessions.length === 1, 2000, 'a native session after the timeout')
      expect(srv.interposers).to.have.length(0)
      expect(srv.handedSockets).to.deep.equal([tls.TLSSocket.prototype])
      // The connection still works natively: the delayed preface is accepted.
      const arrived = serverSettingsArrive(s)
      s.write(Buffer.concat([CLIENT_PREFACE, frame(4, 0, Buffer.alloc(0))]))
      await arrived
    })

    it('drops a client that closes during the peek without creating a session', async () => {
      srv = await startServer({ wrap: peek, onStream: respond })
      const s = await connectRawTls(srv.port)
      s.write(CLIENT_PREFACE.subarray(0, 10))
      await until(() => srv!.tlsSockets.length === 1, 2000, 'the server socket')
      s.end()
      await until(() => srv!.tlsSockets[0]!.destroyed, 2000, 'the server socket to close')
      expect(srv.sessions).to.have.length(0)
      expect(srv.interposers).to.have.length(0)
    })

    it('leaves HTTP/1.1 (allowHTTP1) alone', async () => {
      srv = await startServer({
        h2: { allowHTTP1: true },
        wrap: peek,
        onRequest: (req, res) => res.end(`v${req.httpVersion}`),
      })
      const body = await new Promise<string>((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port: srv!.port,
            servername: 'localhost',
            ca: testCert().cert,
            path: '/',
            ALPNProtocols: ['http/1.1'],
            agent: false,
          } as https.RequestOptions,
          (res) => {
            let b = ''
            res.on('data', (c: Buffer) => (b += c.toString()))
            res.on('end', () => resolve(b))
          },
        )
        req.on('error', reject)
      })
      expect(body).to.equal('v1.1')
      expect(srv.interposers).to.have.length(0)
    })

    it('honours shouldWrap and detach()', async () => {
      srv = await startServer({ onStream: respond })
      const seen: string[] = []
      const attachment = attachInterposerToServer(srv.server, { ...wrapOptions, shouldWrap: () => false }, () => seen.push('wrapped'))
      const a = connectPlain(srv.port)
      sessions.push(a)
      await fetchText(a)
      expect(seen).to.deep.equal([])
      attachment.detach()
      const again = attachInterposerToServer(srv.server, wrapOptions, () => seen.push('wrapped'))
      const b = connectPlain(srv.port)
      sessions.push(b)
      await fetchText(b)
      expect(seen).to.deep.equal(['wrapped'])
      again.detach()
      const c = connectPlain(srv.port)
      sessions.push(c)
      await fetchText(c)
      expect(seen).to.deep.equal(['wrapped'])
      expect(srv.server.listeners('secureConnection').map((l) => l.name)).to.include('connectionListener')
    })

    it('destroys only that connection when onWrapped throws', async () => {
      srv = await startServer({ onStream: respond })
      let calls = 0
      attachInterposerToServer(srv.server, wrapOptions, () => {
        if (calls++ === 0) throw new Error('setup failed')
      })
      const bad = connectPlain(srv.port)
      sessions.push(bad)
      await once(bad, 'close', 3000)
      const good = connectPlain(srv.port)
      sessions.push(good)
      expect((await fetchText(good)).body.toString()).to.equal('ok')
    })

    it('wraps a socket for performServerHandshake as well', async () => {
      const { key, cert } = testCert()
      const server = tls.createServer({ key, cert, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3' })
      server.on('secureConnection', (t: tls.TLSSocket) => {
        const { socket } = wrapServerSocket(t, wrapOptions)
        const session = http2.performServerHandshake(socket)
        session.on('stream', respond)
        session.on('error', () => undefined)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
      try {
        const port = (server.address() as net.AddressInfo).port
        const c = connectPlain(port)
        sessions.push(c)
        expect((await fetchText(c)).body.toString()).to.equal('ok')
        c.destroy()
      } finally {
        await new Promise<void>((r) => server.close(() => r()))
      }
    })
  })
})
