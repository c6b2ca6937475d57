import { expect } from 'chai'
import http2 from 'node:http2'
import type { TLSSocket } from 'node:tls'
import type { ExtensionFrame, FrameInterposer } from '../../lib/binding/interposer.js'
import type { LoopbackServer, StartServerOptions, WrappedClient } from '../support/loopback.js'
import { connectWrapped, fetchText, once, startServer, until, whenConnected } from '../support/loopback.js'

/*
 * The interposer over real TLS 1.3 on 127.0.0.1 with real node:http2 on both sides
 * (notes node20-feasibility §1, digest http2-secondary-certs §9).
 */

const EXT = [0xf8, 0xf9, 0xfa]
const wrapOptions = { extensionFrameTypes: EXT, maxInboundExtensionFrameBytes: 65536 }
const { NGHTTP2_FRAME_SIZE_ERROR } = http2.constants

describe('binding/interposer over TLS 1.3 and node:http2', () => {
  let srv: LoopbackServer | undefined
  const clients: WrappedClient[] = []

  afterEach(async () => {
    for (const c of clients.splice(0)) if (!c.session.destroyed) c.session.destroy()
    await srv?.close()
    srv = undefined
  })

  async function setup(server: StartServerOptions = {}, client: http2.SecureClientSessionOptions = {}, clientWrap = wrapOptions) {
    srv = await startServer({ wrap: wrapOptions, ...server })
    const c = connectWrapped(srv.port, clientWrap, client)
    clients.push(c)
    await whenConnected(c.session)
    // TLS 1.3: the client connects before the server's 'secureConnection' (notes §1).
    const s = srv
    await until(() => s.sessions.length > 0, 2000, 'the server session')
    return { srv: s, c }
  }

  /** The server session that belongs to a server-side interposer. */
  function sessionOf(s: LoopbackServer, ip: FrameInterposer): http2.ServerHttp2Session {
    const i = s.interposers.indexOf(ip)
    return s.sessions[i]!
  }

  it('delivers 100 extension frames each way in order, interleaved with 100 requests', async () => {
    const serverLog: string[] = []
    const clientGot: number[] = []
    const { srv, c } = await setup({
      onWrapped: (ip) => ip.on('extensionFrame', (f: ExtensionFrame) => serverLog.push(`ext${f.payload[0]}`)),
      onStream: (stream, headers) => {
        const i = Number(headers['x-i'])
        serverLog.push(`req${i}`)
        srv!.interposers[0]!.sendExtensionFrame(0xf9, 0, 0, Uint8Array.of(i))
        stream.respond({ ':status': 200 })
        stream.end(String(i))
      },
    })
    c.interposer.on('extensionFrame', (f: ExtensionFrame) => clientGot.push(f.payload[0]!))
    for (let round = 0; round < 10; round++) {
      const pending: Promise<unknown>[] = []
      for (let k = 0; k < 10; k++) {
        const i = round * 10 + k
        c.interposer.sendExtensionFrame(0xfa, 0, 0, Uint8Array.of(i))
        pending.push(fetchText(c.session, '/', { 'x-i': String(i) }))
      }
      await Promise.all(pending)
    }
    await until(() => clientGot.length === 100, 3000, '100 frames at the client')
    expect(clientGot).to.deep.equal([...Array(100).keys()])
    const exts = serverLog.filter((e) => e.startsWith('ext'))
    expect(exts).to.deep.equal([...Array(100).keys()].map((i) => `ext${i}`))
    for (let i = 0; i < 100; i++) {
      expect(serverLog.indexOf(`ext${i}`), `frame ${i} before request ${i}`).to.be.lessThan(serverLog.indexOf(`req${i}`))
      if (i % 10 === 0 && i > 0) expect(serverLog.indexOf(`req${i - 1}`)).to.be.lessThan(serverLog.indexOf(`ext${i}`))
    }
  })

  it('queues frames sent while a 40 KB header block is open and writes them after its last CONTINUATION', async () => {
    const received: number[] = []
    const { c } = await setup(
      {
        h2: { maxHeaderListSize: 1 << 20 } as http2.SecureServerOptions,
        onWrapped: (ip) => ip.on('extensionFrame', (f: ExtensionFrame) => received.push(f.payload[0]!)),
        onStream: (stream, headers) => {
          stream.respond({ ':status': 200 })
          stream.end(String(String(headers['x-big']).length))
        },
      },
      { maxHeaderListSize: 1 << 20 } as http2.SecureClientSessionOptions,
    )
    // Tap the client's TLS writes: record the bytes, and send a frame right after a HEADERS frame
    // without END_HEADERS went out, i.e. while the header block is open.
    const tls = c.tlsSocket as TLSSocket & { write: (...a: unknown[]) => boolean }
    const original = tls.write.bind(tls) as (...a: unknown[]) => boolean
    const wire: Buffer[] = []
    const queuedAt: number[] = []
    let sent = 0
    tls.write = (chunk: unknown, ...rest: unknown[]): boolean => {
      const b = Buffer.from(chunk as Uint8Array)
      wire.push(b)
      const r = original(chunk, ...rest)
      if (b.length >= 9 && b[3] === 1 && (b[4]! & 4) === 0) {
        c.interposer.sendExtensionFrame(0xfa, 0, 0, Uint8Array.of(sent++))
        c.interposer.sendExtensionFrame(0xfa, 0, 0, Uint8Array.of(sent++))
        queuedAt.push(c.interposer.queuedExtensionFrames)
      }
      return r
    }
    const res = await fetchText(c.session, '/', { 'x-big': 'a'.repeat(40000) })
    expect(res.body.toString()).to.equal('40000')
    expect(queuedAt).to.deep.equal([2])
    await until(() => received.length === 2, 2000, 'frames at the server')
    expect(received).to.deep.equal([0, 1])
    // Independent walk over what went on the wire: no extension frame inside the header block.
    const stream = Buffer.concat(wire) // tapped after the preface and SETTINGS: starts at a frame
    let o = 0
    let open = false
    let sawContinuation = false
    let extFrames = 0
    while (o < stream.length) {
      const length = stream.readUIntBE(o, 3)
      const type = stream[o + 3]!
      const flags = stream[o + 4]!
      if (EXT.includes(type)) {
        expect(open, 'extension frame inside a header block').to.equal(false)
        extFrames++
      } else if (type === 1) open = (flags & 4) === 0
      else if (type === 9) {
        sawContinuation = true
        if ((flags & 4) !== 0) open = false
      }
      o += 9 + length
    }
    expect(sawContinuation).to.equal(true)
    expect(extFrames).to.equal(2)
  })

  /** Serves 4 MB to a client whose TLS socket reads 2 ms out of every 12 ms; samples queues. */
  async function slowTransfer(windowBytes: number | undefined) {
    const size = 4 << 20
    const body = Buffer.alloc(size, 0x61)
    const settings = windowBytes === undefined ? {} : { settings: { initialWindowSize: windowBytes } }
    const { srv, c } = await setup(
      {
        h2: settings,
        onStream: (stream) => {
          stream.respond({ ':status': 200 })
          stream.end(body)
        },
      },
      settings,
    )
    if (windowBytes !== undefined) c.session.setLocalWindowSize(2 * windowBytes)
    const sip = srv.interposers[0]!
    const stats = { maxServerQueue: 0, maxTlsQueue: 0, maxClientBuffered: 0, sawDrainWait: false, bytes: 0 }
    const sampler = setInterval(() => {
      stats.maxServerQueue = Math.max(stats.maxServerQueue, sip.writableLength + sip.tlsSocket.writableLength)
      stats.maxTlsQueue = Math.max(stats.maxTlsQueue, sip.tlsSocket.writableLength)
      stats.maxClientBuffered = Math.max(stats.maxClientBuffered, c.interposer.readableLength)
      if (sip.tlsSocket.writableNeedDrain) stats.sawDrainWait = true
    }, 1)
    const throttle = setInterval(() => {
      c.tlsSocket.pause()
      setTimeout(() => c.tlsSocket.resume(), 10)
    }, 12)
    try {
      stats.bytes = (await fetchText(c.session, '/', {}, 7000)).body.length
    } finally {
      clearInterval(sampler)
      clearInterval(throttle)
    }
    return { size, stats }
  }

  it('moves 4 MB to a slow reader with queues bounded by flow control', async function () {
    this.timeout(8000)
    const { size, stats } = await slowTransfer(undefined)
    expect(stats.bytes).to.equal(size)
    expect(stats.maxServerQueue).to.be.at.most(256 * 1024)
    expect(stats.maxClientBuffered).to.be.at.most(256 * 1024)
  })

  it('waits for the TLS socket to drain when flow control lets 4 MB through at once', async function () {
    this.timeout(8000)
    const { size, stats } = await slowTransfer(16 << 20)
    expect(stats.bytes).to.equal(size)
    expect(stats.sawDrainWait, 'the server TLS socket needed draining').to.equal(true)
    // nghttp2 hands over one batch; nothing accumulates beyond it while the socket drains.
    expect(stats.maxTlsQueue).to.be.at.most(size + 64 * 1024)
    expect(stats.maxClientBuffered).to.be.at.most(256 * 1024)
  })

  describe('close and destroy', () => {
    async function allClosed(s: LoopbackServer, c: WrappedClient): Promise<void> {
      await until(
        () =>
          c.session.destroyed &&
          c.interposer.destroyed &&
          c.tlsSocket.destroyed &&
          s.sessions.every((x) => x.destroyed) &&
          s.interposers.every((x) => x.destroyed) &&
          s.tlsSockets.every((x) => x.destroyed),
        3000,
        'every session, interposer and socket closed',
      )
    }

    it('closes everything when the client destroys its session', async () => {
      const { srv, c } = await setup({ onStream: (s) => s.respond({ ':status': 200 }) })
      const stream = c.session.request({ ':path': '/' })
      await once(stream, 'response')
      c.session.destroy()
      await allClosed(srv, c)
      expect(stream.destroyed).to.equal(true)
    })

    it('closes everything when the server destroys its session', async () => {
      const { srv, c } = await setup({ onStream: (s) => s.respond({ ':status': 200 }) })
      const stream = c.session.request({ ':path': '/' })
      await once(stream, 'response')
      const closed = once(stream, 'close')
      srv.sessions[0]!.destroy()
      await allClosed(srv, c)
      await closed
    })

    it('closes everything when the client closes gracefully', async () => {
      const { srv, c } = await setup({ onStream: (s) => { s.respond({ ':status': 200 }); s.end('x') } })
      await fetchText(c.session)
      c.session.close()
      await allClosed(srv, c)
    })

    it('closes everything when the server TLS socket fails', async () => {
      const { srv, c } = await setup({
        onStream: (s) => {
          s.on('error', () => undefined) // destroyed with the socket's error, as on plain http2
          s.respond({ ':status': 200 })
        },
      })
      const stream = c.session.request({ ':path': '/' })
      stream.on('error', () => undefined)
      await once(stream, 'response')
      const serverError = once<Error>(srv.sessions[0]!, 'error')
      srv.tlsSockets[0]!.destroy(new Error('injected socket failure'))
      expect((await serverError).message).to.equal('injected socket failure')
      await allClosed(srv, c)
      expect(stream.destroyed).to.equal(true)
    })

    it('closes everything when the client TLS socket fails', async () => {
      const { srv, c } = await setup({ onStream: (s) => s.respond({ ':status': 200 }) })
      const clientError = once<Error>(c.session, 'error')
      c.tlsSocket.destroy(new Error('client socket failure'))
      expect((await clientError).message).to.equal('client socket failure')
      await allClosed(srv, c)
    })
  })

  it('fails the client session with the TLS error when the handshake fails', async () => {
    srv = await startServer({ wrap: wrapOptions })
    const c = connectWrapped(srv.port, wrapOptions, {}, undefined, { ca: [] as string[] })
    clients.push(c)
    const error = await once<Error & { code?: string }>(c.session, 'error')
    expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT')
    await until(() => c.session.destroyed && c.interposer.destroyed && c.tlsSocket.destroyed, 2000, 'client closed')
    expect(srv.interposers).to.have.length(0)
  })

  describe('frame size', () => {
    it('lets nghttp2 answer GOAWAY(FRAME_SIZE_ERROR) to an extension frame over our SETTINGS_MAX_FRAME_SIZE', async () => {
      let extracted = 0
      let reported = 0
      const { c } = await setup({
        onWrapped: (ip) => {
          ip.on('extensionFrame', () => extracted++)
          ip.on('extensionFrameTooLarge', () => reported++)
        },
      })
      const goaway = once<number>(c.session, 'goaway')
      c.interposer.peerMaxFrameSize = 20000 // pretend the server allowed it
      c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(20000))
      expect(await goaway).to.equal(NGHTTP2_FRAME_SIZE_ERROR)
      expect(extracted).to.equal(0)
      expect(reported).to.equal(0) // 20000 <= maxInbound 65536: nghttp2's own limit applies
    })

    it('reports a frame over maxInboundExtensionFrameBytes so the caller can send GOAWAY(FRAME_SIZE_ERROR)', async () => {
      let extracted = 0
      const server = await startServer({
        wrap: { ...wrapOptions, maxInboundExtensionFrameBytes: 1000 },
        onWrapped: (ip) => {
          ip.on('extensionFrame', () => extracted++)
          ip.on('extensionFrameTooLarge', () => sessionOf(server, ip).goaway(NGHTTP2_FRAME_SIZE_ERROR))
        },
        onStream: (s) => {
          s.respond({ ':status': 200 })
          s.end()
        },
      })
      srv = server
      const c = connectWrapped(server.port, wrapOptions)
      clients.push(c)
      await fetchText(c.session)
      const goaway = once(c.session, 'goaway')
      c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(1000))
      c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(1001))
      expect(await goaway).to.equal(NGHTTP2_FRAME_SIZE_ERROR)
      expect(extracted).to.equal(1)
    })

    it('refuses a frame over the peer limit with ERR_SC_FRAME_TOO_LARGE and keeps the connection', async () => {
      const received: number[] = []
      const { c } = await setup({
        onWrapped: (ip) => ip.on('extensionFrame', (f: ExtensionFrame) => received.push(f.payload.length)),
        onStream: (s) => {
          s.respond({ ':status': 200 })
          s.end('ok')
        },
      })
      await fetchText(c.session)
      expect(c.interposer.peerMaxFrameSize).to.equal(16384)
      expect(() => c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(16385)))
        .to.throw()
        .with.property('code', 'ERR_SC_FRAME_TOO_LARGE')
      c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(16384))
      expect((await fetchText(c.session)).body.toString()).to.equal('ok')
      await until(() => received.length === 1, 2000, 'the frame that fits')
      expect(received).to.deep.equal([16384])
    })

    it("follows the peer's advertised SETTINGS_MAX_FRAME_SIZE", async () => {
      const received: number[] = []
      const { c } = await setup({
        h2: { settings: { maxFrameSize: 65536 } },
        onWrapped: (ip) => ip.on('extensionFrame', (f: ExtensionFrame) => received.push(f.payload.length)),
      })
      await until(() => c.interposer.peerMaxFrameSize === 65536, 2000, 'the server settings')
      expect(c.session.remoteSettings.maxFrameSize).to.equal(65536)
      c.interposer.sendExtensionFrame(0xfa, 0, 0, new Uint8Array(40000))
      await until(() => received.length === 1, 2000, 'the 40000-byte frame')
    })
  })

  it('reports the peer SETTINGS, including custom settings node:http2 sees with remoteCustomSettings', async () => {
    const seen: [number, number][][] = []
    const { srv } = await setup(
      {
        h2: { remoteCustomSettings: [0xf5a2] } as http2.SecureServerOptions,
        onWrapped: (ip) => ip.on('peerSettings', (e: [number, number][]) => seen.push(e)),
      },
      { settings: { customSettings: { 0xf5a2: 2 } } as http2.Settings },
    )
    await until(() => seen.length > 0, 2000, 'client SETTINGS')
    expect(seen[0]).to.deep.include([0xf5a2, 2])
    const session = srv.sessions[0]!
    await until(() => (session.remoteSettings as { customSettings?: Record<string, number> }).customSettings !== undefined, 2000, 'remoteSettings')
    expect((session.remoteSettings as { customSettings?: Record<string, number> }).customSettings).to.deep.equal({ [String(0xf5a2)]: 2 })
  })
})
