import { expect } from 'chai'
import fc from 'fast-check'
import { FrameBoundaryTracker, FrameSplitter } from '../../../lib/wire/h2/frame-splitter.js'
import type { FrameSplitterOptions } from '../../../lib/wire/h2/frame-splitter.js'
import { CLIENT_PREFACE, encodeFrameHeader } from '../../../lib/wire/h2/frame-header.js'
import type { FrameHeader } from '../../../lib/wire/h2/frame-header.js'

function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number): Buffer {
  const p = typeof payload === 'number' ? Buffer.alloc(payload, type) : Buffer.from(payload)
  return Buffer.concat([encodeFrameHeader({ length: p.length, type, flags, streamId }), p])
}

const settingsPayload = Buffer.from('0004000100000005000100000000f5a200000002', 'hex') // 3 entries
const EXT = new Set([0xf8, 0xf9, 0xfa])

interface Item {
  kind: 'ext' | 'pass'
  bytes: Buffer
}

/** A client-to-server stream exercising every path of the splitter, and what should come out. */
function scenario(): { items: Item[] } {
  const items: Item[] = [
    { kind: 'pass', bytes: Buffer.from(CLIENT_PREFACE) },
    { kind: 'pass', bytes: frame(4, 0, 0, settingsPayload) },
    { kind: 'ext', bytes: frame(0xf9, 0, 0, 34) },
    { kind: 'pass', bytes: frame(0, 0, 1, 100) },
    { kind: 'ext', bytes: frame(0xf8, 0, 0, 0) },
    { kind: 'pass', bytes: frame(4, 1, 0, 0) }, // SETTINGS ACK: observed, empty
    { kind: 'pass', bytes: frame(1, 0, 3, 20) }, // HEADERS without END_HEADERS opens a block
    { kind: 'pass', bytes: frame(9, 0, 3, 5) },
    { kind: 'pass', bytes: frame(0xfa, 0, 0, 6) }, // inside the header block: passed on
    { kind: 'pass', bytes: frame(9, 4, 3, 7) }, // END_HEADERS closes it
    { kind: 'ext', bytes: frame(0xfa, 0, 0, 40) }, // exactly the limit
    { kind: 'pass', bytes: frame(0xfa, 0, 0, 41) }, // over the limit: passed through, reported
    { kind: 'ext', bytes: frame(0xf8, 0x80, 5, 3) }, // non-zero stream, flags: still extracted
    { kind: 'pass', bytes: frame(6, 0, 0, 8) },
    { kind: 'pass', bytes: frame(5, 4, 1, 12) }, // PUSH_PROMISE with END_HEADERS: no block
    { kind: 'ext', bytes: frame(0xf9, 0, 0, 2) },
  ]
  return { items }
}

const options: FrameSplitterOptions = {
  expectPreface: true,
  extractTypes: EXT,
  maxExtractBytes: 40,
  observeTypes: new Set([4]),
}

function run(chunks: Uint8Array[], opts: FrameSplitterOptions = options) {
  const events: string[] = []
  const passed: Buffer[] = []
  const extracted: { header: FrameHeader; payload: Uint8Array }[] = []
  const oversized: FrameHeader[] = []
  const observed: { header: FrameHeader; payload: Buffer }[] = []
  let passedBytes = 0
  const splitter = new FrameSplitter(
    {
      passThrough(b) {
        passed.push(Buffer.from(b))
        passedBytes += b.length
      },
      extracted(header, payload) {
        events.push(`ext@${passedBytes}`)
        extracted.push({ header, payload })
      },
      oversized(header) {
        events.push(`over@${passedBytes}`)
        oversized.push(header)
      },
      observed(header, payload) {
        events.push(`obs@${passedBytes}`)
        observed.push({ header, payload: Buffer.from(payload) })
      },
    },
    opts,
  )
  for (const c of chunks) splitter.push(c)
  return { events, passed: Buffer.concat(passed), extracted, oversized, observed, splitter }
}

function expected() {
  const { items } = scenario()
  const passed: Buffer[] = []
  const events: string[] = []
  let at = 0
  for (const it of items) {
    if (it.kind === 'ext') events.push(`ext@${at}`)
    else {
      const type = it.bytes.length >= 9 && it.bytes !== items[0]!.bytes ? it.bytes[3] : -1
      if (type === 0xfa && it.bytes.length - 9 === 41) events.push(`over@${at}`)
      passed.push(it.bytes)
      at += it.bytes.length
      if (type === 4) events.push(`obs@${at}`)
    }
  }
  return {
    stream: Buffer.concat(items.map((i) => i.bytes)),
    passed: Buffer.concat(passed),
    events,
    ext: items.filter((i) => i.kind === 'ext').map((i) => i.bytes),
  }
}

function check(chunks: Uint8Array[]): void {
  const want = expected()
  const got = run(chunks)
  expect(got.passed.equals(want.passed), 'pass-through bytes').to.equal(true)
  expect(got.events).to.deep.equal(want.events)
  expect(got.extracted.map((e) => Buffer.concat([encodeFrameHeader(e.header), e.payload]))).to.deep.equal(want.ext)
  expect(got.oversized.map((h) => h.length)).to.deep.equal([41])
  expect(got.observed.map((o) => o.payload)).to.deep.equal([settingsPayload, Buffer.alloc(0)])
  expect(got.observed[1]!.header.flags).to.equal(1)
  expect(got.splitter.isAtFrameBoundary).to.equal(true)
  expect(got.splitter.isInHeaderBlock).to.equal(false)
}

describe('wire/h2/frame-splitter', () => {
  describe('FrameSplitter', () => {
    it('extracts extension frames in position and passes everything else through in one piece', () => {
      const { stream } = expected()
      check([stream])
      expect(run([stream]).extracted.map((e) => e.header.type)).to.deep.equal([0xf9, 0xf8, 0xfa, 0xf8, 0xf9])
    })

    it('gives the same result when the stream is split at every byte offset', () => {
      const { stream } = expected()
      for (let cut = 0; cut <= stream.length; cut++) check([stream.subarray(0, cut), stream.subarray(cut)])
    })

    it('gives the same result when fed one byte at a time', () => {
      const { stream } = expected()
      const chunks: Uint8Array[] = []
      for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1))
      check(chunks)
    })

    it('gives the same result for arbitrary chunkings (property)', () => {
      const { stream } = expected()
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 30 }), (cuts) => {
          const sorted = [...cuts].sort((a, b) => a - b)
          const chunks: Uint8Array[] = []
          let prev = 0
          for (const c of [...sorted, stream.length]) {
            chunks.push(stream.subarray(prev, c))
            prev = c
          }
          check(chunks)
        }),
        { numRuns: 300 },
      )
    })

    it('passes non-extension bytes as views of the pushed chunk (no copy)', () => {
      const data = Buffer.concat([frame(0, 0, 1, 1000), frame(0xf9, 0, 0, 10), frame(0, 0, 1, 500)])
      const views: Uint8Array[] = []
      const s = new FrameSplitter(
        { passThrough: (b) => views.push(b), extracted: () => undefined },
        { expectPreface: false, extractTypes: EXT, maxExtractBytes: 100 },
      )
      s.push(data)
      expect(views.map((v) => v.length)).to.deep.equal([1009, 509])
      for (const v of views) expect(v.buffer).to.equal(data.buffer)
    })

    it('holds only the bytes of a split frame header', () => {
      const data = frame(0, 0, 1, 100)
      const pieces: number[] = []
      const s = new FrameSplitter(
        { passThrough: (b) => pieces.push(b.length), extracted: () => undefined },
        { expectPreface: false, extractTypes: EXT, maxExtractBytes: 100 },
      )
      s.push(data.subarray(0, 4))
      expect(pieces).to.deep.equal([])
      expect(s.isAtFrameBoundary).to.equal(false)
      s.push(data.subarray(4, 50))
      expect(pieces).to.deep.equal([9, 41])
      s.push(data.subarray(50))
      expect(pieces).to.deep.equal([9, 41, 59])
      expect(s.isAtFrameBoundary).to.equal(true)
    })

    it('streams an oversized extension frame through without buffering it', () => {
      const big = frame(0xf8, 0, 0, 1 << 20)
      let passed = 0
      let reports = 0
      const s = new FrameSplitter(
        {
          passThrough: (b) => {
            passed += b.length
          },
          extracted: () => expect.fail('must not extract'),
          oversized: (h) => {
            reports++
            expect(h.length).to.equal(1 << 20)
          },
        },
        { expectPreface: false, extractTypes: EXT, maxExtractBytes: 65536 },
      )
      for (let i = 0; i < big.length; i += 16384) s.push(big.subarray(i, i + 16384))
      expect(passed).to.equal(big.length)
      expect(reports).to.equal(1)
    })

    it('passes the server preface side through untouched when not expecting a preface', () => {
      const data = Buffer.concat([frame(4, 0, 0, 0), frame(0xf9, 0, 0, 1)])
      const got = run([data], { expectPreface: false, extractTypes: EXT, maxExtractBytes: 40 })
      expect(got.passed.equals(frame(4, 0, 0, 0))).to.equal(true)
      expect(got.extracted).to.have.length(1)
    })

    it('applies a changed maxExtractBytes to frames that start later', () => {
      const got: number[] = []
      let over = 0
      const s = new FrameSplitter(
        { passThrough: () => undefined, extracted: (_h, p) => got.push(p.length), oversized: () => over++ },
        { expectPreface: false, extractTypes: EXT, maxExtractBytes: 10 },
      )
      s.push(frame(0xf8, 0, 0, 20))
      s.maxExtractBytes = 20
      s.push(frame(0xf8, 0, 0, 20))
      expect([got, over]).to.deep.equal([[20], 1])
      expect(() => (s.maxExtractBytes = -1)).to.throw().with.property('code', 'ERR_SC_USAGE')
    })

    it('refuses a negative maxExtractBytes (ERR_SC_USAGE)', () => {
      expect(() => new FrameSplitter({ passThrough: () => undefined, extracted: () => undefined }, { expectPreface: false, extractTypes: EXT, maxExtractBytes: -1 }))
        .to.throw()
        .with.property('code', 'ERR_SC_USAGE')
    })
  })

  describe('FrameBoundaryTracker', () => {
    it('allows insertion only after the preface and the first SETTINGS (client)', () => {
      const t = new FrameBoundaryTracker(true)
      expect(t.canInsert).to.equal(false)
      expect(t.push(CLIENT_PREFACE)).to.equal(-1)
      expect(t.canInsert).to.equal(false)
      const s = frame(4, 0, 0, 12)
      expect(t.push(s)).to.equal(s.length)
      expect(t.canInsert).to.equal(true)
      expect(t.hasSentSettings).to.equal(true)
    })

    it('never allows insertion inside a header block', () => {
      const t = new FrameBoundaryTracker(false)
      t.push(frame(4, 0, 0, 0))
      const headers = frame(1, 0, 1, 16384)
      const cont1 = frame(9, 0, 1, 16384)
      const cont2 = frame(9, 4, 1, 100)
      expect(t.push(headers)).to.equal(-1)
      expect(t.isInHeaderBlock).to.equal(true)
      expect(t.push(cont1)).to.equal(-1)
      expect(t.canInsert).to.equal(false)
      const tail = frame(0, 1, 1, 10)
      expect(t.push(Buffer.concat([cont2, tail]))).to.equal(cont2.length)
      expect(t.canInsert).to.equal(true)
    })

    it('finds the first boundary inside a chunk and handles every split of the stream', () => {
      const stream = Buffer.concat([frame(4, 0, 0, 6), frame(1, 0, 1, 30), frame(9, 4, 1, 3), frame(0, 0, 1, 50), frame(5, 0, 1, 10), frame(9, 4, 1, 0)])
      const boundaries = [15, 54, 66, 125, 144, 153] // ends of frames; 54 is inside the block
      const allowed = new Set([15, 66, 125, 153])
      for (let cut = 0; cut <= stream.length; cut++) {
        const t = new FrameBoundaryTracker(false)
        const a = t.push(stream.subarray(0, cut))
        const b = t.push(stream.subarray(cut))
        const firstA = boundaries.find((x) => allowed.has(x) && x > 0 && x <= cut)
        const firstB = boundaries.find((x) => allowed.has(x) && x > cut)
        expect(a, `cut ${cut}`).to.equal(firstA ?? -1)
        expect(b === -1 ? -1 : b + cut, `cut ${cut}`).to.equal(firstB ?? -1)
        expect(t.canInsert).to.equal(true)
      }
    })

    it('reads SETTINGS_MAX_FRAME_SIZE from the SETTINGS frames written, split anywhere', () => {
      const stream = Buffer.concat([
        frame(4, 0, 0, Buffer.from('000300000064000500010000', 'hex')),
        frame(4, 1, 0, 0),
        frame(4, 0, 0, Buffer.from('00050000ffff', 'hex')),
        frame(4, 0, 0, Buffer.from('000500000010', 'hex')), // below 16384: invalid, ignored
      ])
      const firstEnd = 21
      for (let cut = 0; cut <= stream.length; cut++) {
        const t = new FrameBoundaryTracker(false)
        expect(t.localMaxFrameSize).to.equal(16384)
        t.push(stream.subarray(0, cut))
        if (cut >= firstEnd && cut < firstEnd + 9 + 15) expect(t.localMaxFrameSize, `cut ${cut}`).to.equal(65536)
        t.push(stream.subarray(cut))
        expect(t.localMaxFrameSize, `cut ${cut}`).to.equal(65535)
      }
    })

    it('reports the first GOAWAY written with a non-zero error code, split anywhere (RFC 9113 §5.4.1)', () => {
      const stream = Buffer.concat([
        frame(4, 0, 0, 0),
        frame(7, 0, 0, Buffer.from('0000000000000000', 'hex')), // NO_ERROR: graceful, not an error
        frame(0, 0, 1, 20),
        frame(7, 0, 0, Buffer.concat([Buffer.from('0000000300000006', 'hex'), Buffer.from('debug data')])), // FRAME_SIZE_ERROR
        frame(7, 0, 0, Buffer.from('0000000300000001', 'hex')), // a later code does not replace the first
      ])
      const errorFrameEnd = 9 + 17 + 29 + 9 + 18
      for (let cut = 0; cut <= stream.length; cut++) {
        const t = new FrameBoundaryTracker(false)
        t.push(stream.subarray(0, cut))
        expect(t.connectionError, `cut ${cut}`).to.equal(cut >= errorFrameEnd ? 6 : undefined)
        t.push(stream.subarray(cut))
        expect(t.connectionError, `cut ${cut}`).to.equal(6)
      }
    })

    it('does not report a GOAWAY with NO_ERROR or a truncated one', () => {
      const t = new FrameBoundaryTracker(false)
      t.push(frame(4, 0, 0, 0))
      t.push(frame(7, 0, 0, Buffer.from('00000000000000000000', 'hex')))
      t.push(frame(7, 0, 0, Buffer.from('000000010000', 'hex')))
      expect(t.connectionError).to.equal(undefined)
    })

    it('waits for a frame split mid-payload', () => {
      const t = new FrameBoundaryTracker(false)
      t.push(frame(4, 0, 0, 0))
      const data = frame(0, 0, 1, 100)
      expect(t.push(data.subarray(0, 50))).to.equal(-1)
      expect(t.canInsert).to.equal(false)
      expect(t.push(data.subarray(50))).to.equal(59)
    })
  })
})
