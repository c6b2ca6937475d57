import { expect } from 'chai'
import fc from 'fast-check'
import { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { FrameInterposer } from '../../lib/binding/interposer.js'
import type { ExtensionFrame, FrameInterposerOptions, OversizedExtensionFrame } from '../../lib/binding/interposer.js'
import { CLIENT_PREFACE, encodeFrameHeader } from '../../lib/wire/h2/frame-header.js'

/*
 * Unit specs of the interposer over an in-memory stand-in for the TLS socket (a Duplex: what the
 * interposer uses of TLSSocket is its stream interface). Real TLS + node:http2 runs are in
 * interposer-tls.spec.ts.
 */

function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number): Buffer {
  const p = typeof payload === 'number' ? Buffer.alloc(payload, type) : Buffer.from(payload)
  return Buffer.concat([encodeFrameHeader({ length: p.length, type, flags, streamId }), p])
}

/** In-memory TLS stand-in: `written` collects what the interposer writes; `push` feeds it. */
class FakeTls extends Duplex {
  readonly written: Buffer[] = []
  /** When set, write callbacks wait for `release()`. */
  holdWrites = false
  private held: (() => void)[] = []
  constructor(writableHighWaterMark = 16384) {
    super({ writableHighWaterMark, allowHalfOpen: true })
  }
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk)
    if (this.holdWrites) this.held.push(() => cb())
    else cb()
  }
  release(): void {
    const h = this.held
    this.held = []
    for (const f of h) f()
  }
  get output(): Buffer {
    return Buffer.concat(this.written)
  }
}

const EXT = [0xf8, 0xf9, 0xfa]

function make(role: 'client' | 'server', options: Partial<FrameInterposerOptions> = {}, fake = new FakeTls()) {
  const ip = new FrameInterposer(fake as unknown as TLSSocket, {
    role,
    extensionFrameTypes: EXT,
    maxInboundExtensionFrameBytes: 1000,
    ...options,
  })
  ip.on('error', () => undefined)
  return { ip, fake }
}

async function tick(): Promise<void> {
  await new Promise((r) => setImmediate(r))
}

async function write(ip: FrameInterposer, chunk: Uint8Array): Promise<void> {
  await new Promise<void>((resolve, reject) => ip.write(chunk, (e) => (e ? reject(e) : resolve())))
}

/**
 * Walks an outbound byte stream frame by frame (independently of FrameSplitter): the frames of
 * `EXT`, how many of them sit inside a header block, and every other byte.
 */
function extFramesIn(stream: Buffer, preface: boolean): { types: number[]; payloads: Buffer[]; insideBlock: number; rest: Buffer } {
  const types: number[] = []
  const payloads: Buffer[] = []
  const rest: Buffer[] = []
  let insideBlock = 0
  let open = false
  let o = preface ? CLIENT_PREFACE.length : 0
  rest.push(stream.subarray(0, o))
  while (o < stream.length) {
    const length = stream.readUIntBE(o, 3)
    const type = stream[o + 3]!
    const flags = stream[o + 4]!
    const end = o + 9 + length
    expect(end).to.be.at.most(stream.length)
    if (EXT.includes(type)) {
      types.push(type)
      payloads.push(stream.subarray(o + 9, end))
      if (open) insideBlock++
    } else {
      rest.push(stream.subarray(o, end))
      if (type === 1 || type === 5) open = (flags & 4) === 0
      else if (type === 9 && (flags & 4) !== 0) open = false
    }
    o = end
  }
  return { types, payloads, insideBlock, rest: Buffer.concat(rest) }
}

describe('binding/interposer', () => {
  describe('inbound', () => {
    it('passes every non-extension byte on unchanged and in order, preface first (server)', async () => {
      const { ip, fake } = make('server')
      const got: Buffer[] = []
      ip.on('data', (c: Buffer) => got.push(c))
      const plain = [Buffer.from(CLIENT_PREFACE), frame(4, 0, 0, 12), frame(1, 5, 1, 30), frame(0, 1, 1, 200)]
      fake.push(Buffer.concat([plain[0]!, plain[1]!, frame(0xf9, 0, 0, 5), plain[2]!, plain[3]!]))
      await tick()
      expect(Buffer.concat(got).equals(Buffer.concat(plain))).to.equal(true)
      ip.destroy()
    })

    it('emits extension frames after the bytes before them were pushed, with owned payloads', async () => {
      const { ip, fake } = make('client')
      const seen: { at: number; frame: ExtensionFrame }[] = []
      ip.on('extensionFrame', (f: ExtensionFrame) => seen.push({ at: ip.readableLength, frame: f }))
      const a = frame(4, 0, 0, 6)
      const b = frame(0, 0, 1, 100)
      const input = Buffer.concat([a, frame(0xf8, 0, 0, 7), b, frame(0xfa, 0x20, 3, 3)])
      fake.push(input)
      await tick()
      expect(seen.map((s) => s.at)).to.deep.equal([a.length, a.length + b.length])
      expect(seen.map((s) => [s.frame.type, s.frame.flags, s.frame.streamId, s.frame.payload.length])).to.deep.equal([
        [0xf8, 0, 0, 7],
        [0xfa, 0x20, 3, 3],
      ])
      expect(seen[0]!.frame.payload.buffer).to.not.equal(input.buffer)
      ip.destroy()
    })

    it('reports peer SETTINGS entries and follows SETTINGS_MAX_FRAME_SIZE', async () => {
      const { ip, fake } = make('client')
      const settings: [number, number][][] = []
      ip.on('peerSettings', (e: [number, number][]) => settings.push(e))
      fake.push(frame(4, 0, 0, Buffer.from('000500010000f5a200000001', 'hex')))
      fake.push(frame(4, 1, 0, 0)) // ACK: not reported
      await tick()
      expect(settings).to.deep.equal([[[5, 65536], [0xf5a2, 1]]])
      expect(ip.peerMaxFrameSize).to.equal(65536)
      ip.destroy()
    })

    it('reports an oversized extension frame and passes it through without extracting it', async () => {
      const { ip, fake } = make('client', { maxInboundExtensionFrameBytes: 10 })
      const over: OversizedExtensionFrame[] = []
      let extracted = 0
      ip.on('extensionFrameTooLarge', (o: OversizedExtensionFrame) => over.push(o))
      ip.on('extensionFrame', () => extracted++)
      const big = frame(0xf8, 0, 0, 11)
      const got: Buffer[] = []
      ip.on('data', (c: Buffer) => got.push(c))
      fake.push(big)
      await tick()
      expect(over).to.deep.equal([{ type: 0xf8, flags: 0, streamId: 0, length: 11 }])
      expect(extracted).to.equal(0)
      expect(Buffer.concat(got).equals(big)).to.equal(true)
      ip.destroy()
    })

    it('extracts nothing over the SETTINGS_MAX_FRAME_SIZE we advertised, leaving it to nghttp2', async () => {
      const { ip, fake } = make('server', { maxInboundExtensionFrameBytes: 100000 })
      const got: number[] = []
      let reports = 0
      ip.on('extensionFrame', (f: ExtensionFrame) => got.push(f.payload.length))
      ip.on('extensionFrameTooLarge', () => reports++)
      const passed: Buffer[] = []
      ip.on('data', (c: Buffer) => passed.push(c))
      const big = frame(0xf8, 0, 0, 20000)
      fake.push(Buffer.concat([Buffer.from(CLIENT_PREFACE), big]))
      await tick()
      expect(got).to.deep.equal([])
      expect(reports).to.equal(0) // nghttp2 answers FRAME_SIZE_ERROR itself (RFC 9113 §4.2)
      expect(Buffer.concat(passed).subarray(24).equals(big)).to.equal(true)
      await write(ip, frame(4, 0, 0, Buffer.from('000500010000', 'hex'))) // we advertise 65536
      fake.push(big)
      await tick()
      expect(got).to.deep.equal([20000])
      ip.destroy()
    })

    it('pauses the TLS socket while the readable side is full and resumes when read', async () => {
      const { ip, fake } = make('client')
      for (let i = 0; i < 8; i++) fake.push(frame(0, 0, 1, 8000))
      await tick()
      expect(fake.isPaused()).to.equal(true)
      expect(ip.readableLength).to.be.greaterThan(0)
      let total = 0
      ip.on('data', (c: Buffer) => (total += c.length))
      await tick()
      await tick()
      expect(fake.isPaused()).to.equal(false)
      expect(total).to.equal(8 * 8009)
      ip.destroy()
    })

    it('destroys the connection when a listener throws instead of throwing into the socket', async () => {
      const { ip, fake } = make('client')
      ip.on('extensionFrame', () => {
        throw new Error('listener bug')
      })
      const errors: Error[] = []
      ip.removeAllListeners('error')
      ip.on('error', (e: Error) => errors.push(e))
      fake.push(frame(0xf8, 0, 0, 1))
      await tick()
      expect(ip.destroyed).to.equal(true)
      expect(fake.destroyed).to.equal(true)
      expect(errors.map((e) => e.message)).to.deep.equal(['listener bug'])
    })
  })

  describe('outbound', () => {
    it('queues extension frames until the first SETTINGS was written (client: after the preface)', async () => {
      const { ip, fake } = make('client')
      ip.sendExtensionFrame(0xfa, 0, 0, Buffer.from('early'))
      expect(ip.queuedExtensionFrames).to.equal(1)
      await write(ip, CLIENT_PREFACE)
      expect(ip.queuedExtensionFrames).to.equal(1)
      const settings = frame(4, 0, 0, 6)
      await write(ip, settings)
      expect(ip.queuedExtensionFrames).to.equal(0)
      expect(ip.hasSentSettings).to.equal(true)
      expect(fake.output.equals(Buffer.concat([CLIENT_PREFACE, settings, frame(0xfa, 0, 0, Buffer.from('early'))]))).to.equal(true)
      ip.destroy()
    })

    it('writes at once when at a boundary, and never inside a header block', async () => {
      const { ip, fake } = make('server')
      await write(ip, frame(4, 0, 0, 0))
      ip.sendExtensionFrame(0xf8, 0, 0, Buffer.from([1]))
      expect(ip.queuedExtensionFrames).to.equal(0)
      await write(ip, frame(1, 0, 1, 50)) // HEADERS without END_HEADERS
      ip.sendExtensionFrame(0xf8, 0, 0, Buffer.from([2]))
      await write(ip, frame(9, 0, 1, 50))
      ip.sendExtensionFrame(0xf9, 0, 0, Buffer.from([3]))
      expect(ip.queuedExtensionFrames).to.equal(2)
      await write(ip, frame(9, 4, 1, 50)) // END_HEADERS
      expect(ip.queuedExtensionFrames).to.equal(0)
      const parsed = extFramesIn(fake.output, false)
      expect(parsed.types).to.deep.equal([0xf8, 0xf8, 0xf9])
      expect(parsed.payloads.map((p) => p[0])).to.deep.equal([1, 2, 3])
      expect(parsed.insideBlock).to.equal(0)
      ip.destroy()
    })

    it('inserts only at frame boundaries outside header blocks for any write chunking (property)', async () => {
      const stream = Buffer.concat([
        CLIENT_PREFACE,
        frame(4, 0, 0, 12),
        frame(1, 0, 1, 300),
        frame(9, 0, 1, 200),
        frame(9, 4, 1, 10),
        frame(0, 0, 1, 500),
        frame(5, 0, 1, 40),
        frame(9, 4, 1, 5),
        frame(6, 0, 0, 8),
        frame(1, 5, 3, 20),
        frame(0, 1, 3, 0),
      ])
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 25 }),
          fc.array(fc.integer({ min: 0, max: 25 }), { maxLength: 10 }),
          async (cuts, sendAt) => {
            const { ip, fake } = make('client')
            const points = [...cuts].sort((a, b) => a - b)
            let prev = 0
            let sent = 0
            let index = 0
            for (const cut of [...points, stream.length]) {
              for (const s of sendAt) if (s === index) ip.sendExtensionFrame(0xf8, 0, 0, Buffer.from([sent++]))
              await write(ip, stream.subarray(prev, cut))
              prev = cut
              index++
            }
            for (const s of sendAt) if (s >= index) ip.sendExtensionFrame(0xf8, 0, 0, Buffer.from([sent++]))
            const parsed = extFramesIn(fake.output, true)
            expect(parsed.rest.equals(stream)).to.equal(true)
            expect(parsed.insideBlock).to.equal(0)
            expect(parsed.payloads.map((p) => p[0])).to.deep.equal([...Array(sent).keys()])
            ip.destroy()
          },
        ),
        { numRuns: 150 },
      )
    })

    it('completes a write only when the TLS socket does not need draining', async () => {
      const fake = new FakeTls(1024)
      fake.holdWrites = true
      const { ip } = make('server', {}, fake)
      let done = false
      ip.write(frame(0, 0, 1, 4000), () => (done = true))
      await tick()
      await tick()
      expect(done).to.equal(false)
      fake.release()
      await tick()
      expect(done).to.equal(true)
      ip.destroy()
    })

    it('refuses a payload over peerMaxFrameSize with ERR_SC_FRAME_TOO_LARGE and sends nothing', async () => {
      const { ip, fake } = make('server')
      await write(ip, frame(4, 0, 0, 0))
      const before = fake.output.length
      expect(() => ip.sendExtensionFrame(0xf8, 0, 0, new Uint8Array(16385)))
        .to.throw()
        .that.includes({ code: 'ERR_SC_FRAME_TOO_LARGE', size: 16385, limit: 16384 })
      ip.sendExtensionFrame(0xf8, 0, 0, new Uint8Array(16384))
      expect(fake.output.length).to.equal(before + 9 + 16384)
      ip.peerMaxFrameSize = 20000
      ip.sendExtensionFrame(0xf8, 0, 0, new Uint8Array(20000))
      ip.destroy()
    })

    it('validates type, flags, stream identifier and the max frame size setting (ERR_SC_USAGE)', () => {
      const { ip } = make('server')
      for (const f of [
        () => ip.sendExtensionFrame(0x01, 0, 0, new Uint8Array(1)),
        () => ip.sendExtensionFrame(0x100, 0, 0, new Uint8Array(1)),
        () => ip.sendExtensionFrame(0xf8, 256, 0, new Uint8Array(1)),
        () => ip.sendExtensionFrame(0xf8, 0, -1, new Uint8Array(1)),
        () => (ip.peerMaxFrameSize = 16383),
        () => (ip.peerMaxFrameSize = 1 << 24),
      ]) {
        expect(f).to.throw().with.property('code', 'ERR_SC_USAGE')
      }
      expect(() => make('server', { extensionFrameTypes: [4] })).to.throw().with.property('code', 'ERR_SC_USAGE')
      expect(() => make('server', { maxInboundExtensionFrameBytes: -1 })).to.throw().with.property('code', 'ERR_SC_USAGE')
      ip.destroy()
    })
  })

  describe('close and destroy', () => {
    it('ends the readable side when the TLS socket ends', async () => {
      const { ip, fake } = make('client')
      ip.resume()
      const ended = new Promise<void>((r) => ip.once('end', () => r()))
      fake.push(null)
      await ended
      ip.destroy()
    })

    it('ends the TLS socket on end() and finishes after it', async () => {
      const { ip, fake } = make('client')
      const finished = new Promise<void>((r) => ip.once('finish', () => r()))
      ip.end()
      await finished
      expect(fake.writableFinished).to.equal(true)
      ip.destroy()
    })

    it('destroys the TLS socket on destroy(), failing a write that waits for drain', async () => {
      const fake = new FakeTls(16)
      fake.holdWrites = true
      const { ip } = make('server', {}, fake)
      let result: unknown = 'pending'
      ip.write(frame(0, 0, 1, 100), (e) => (result = e))
      await tick()
      ip.destroy()
      await tick()
      expect(fake.destroyed).to.equal(true)
      expect(result).to.have.property('code')
      expect(() => ip.sendExtensionFrame(0xf8, 0, 0, new Uint8Array(1))).to.throw().with.property('code', 'ERR_SC_CLOSED')
    })

    it('is destroyed with the error when the TLS socket fails', async () => {
      const { ip, fake } = make('client')
      const errors: Error[] = []
      ip.removeAllListeners('error')
      ip.on('error', (e: Error) => errors.push(e))
      const closed = new Promise<void>((r) => ip.once('close', () => r()))
      fake.destroy(new Error('socket reset'))
      await closed
      expect(errors.map((e) => e.message)).to.deep.equal(['socket reset'])
    })

    it('is destroyed when the TLS socket closes', async () => {
      const { ip, fake } = make('client')
      const closed = new Promise<void>((r) => ip.once('close', () => r()))
      fake.destroy()
      await closed
      expect(ip.destroyed).to.equal(true)
    })
  })
})
