import { expect } from 'chai'
import { FirstSettingsAppender } from '../../lib/binding/first-settings.js'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

/** RFC 9113 §4.1 frame header + §6.5.1 entries, written out here. */
function settingsFrame(entries: [number, number][]): Buffer {
  const payload = Buffer.alloc(entries.length * 6)
  entries.forEach(([id, v], i) => {
    payload.writeUInt16BE(id, i * 6)
    payload.writeUInt32BE(v, i * 6 + 2)
  })
  const h = Buffer.from([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, 0x4, 0, 0, 0, 0, 0])
  return Buffer.concat([h, payload])
}

const WINDOW_UPDATE = Buffer.from([0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])

describe('fetch/first-settings', () => {
  const ours: [number, number][] = [
    [0xf5a2, 2],
    [0xf5a1, 1],
  ]
  const stream = Buffer.concat([PREFACE, settingsFrame([[0x2, 0], [0x4, 65535]]), WINDOW_UPDATE])
  const expected = Buffer.concat([PREFACE, settingsFrame([[0x2, 0], [0x4, 65535], ...ours]), WINDOW_UPDATE])

  it('appends our entries to the first SETTINGS frame and passes the rest unchanged', () => {
    const a = new FirstSettingsAppender(ours)
    expect(a.push(stream).toString('hex')).to.equal(expected.toString('hex'))
    expect(a.hasRewritten).to.equal(true)
    expect(a.push(WINDOW_UPDATE).toString('hex')).to.equal(WINDOW_UPDATE.toString('hex'))
  })

  it('gives the same bytes for every split of the stream into two writes', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const a = new FirstSettingsAppender(ours)
      const out = Buffer.concat([a.push(stream.subarray(0, cut)), a.push(stream.subarray(cut))])
      expect(out.toString('hex'), `cut at ${cut}`).to.equal(expected.toString('hex'))
    }
  })

  it('rewrites an empty first SETTINGS frame', () => {
    const a = new FirstSettingsAppender(ours)
    expect(a.push(Buffer.concat([PREFACE, settingsFrame([])])).toString('hex')).to.equal(Buffer.concat([PREFACE, settingsFrame(ours)]).toString('hex'))
  })

  it('refuses a stream that is not an HTTP/2 client preface + SETTINGS (ERR_SC_USAGE)', () => {
    expect(() => new FirstSettingsAppender(ours).push(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n\r\n........'), WINDOW_UPDATE]))).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => new FirstSettingsAppender(ours).push(Buffer.concat([PREFACE, WINDOW_UPDATE]))).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('refuses identifiers and values out of range (ERR_SC_USAGE)', () => {
    expect(() => new FirstSettingsAppender([[0x10000, 1]])).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => new FirstSettingsAppender([[1, 2 ** 32]])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })
})
