import { expect } from 'chai'
import {
  decodeSettings,
  decodeSettingsPayload,
  encodeSettingsPayload,
  settingProblem,
  settingValue,
  SettingsId,
} from '../../../lib/wire/h2/settings.js'
import { hex, toHex } from '../../support/hex.js'

describe('wire/h2/settings', () => {
  // RFC 9113 §6.5.1: Identifier (16) Value (32), repeated. Written out by field.
  const twoEntries = hex('0005 00004000 | f5a1 00000002')

  it('decodes entries in wire order, unknown identifiers kept', () => {
    expect(decodeSettings(0, 0, twoEntries)).to.deep.equal({ ack: false, entries: [[0x5, 16384], [0xf5a1, 2]] })
  })

  it('decodes an empty non-ACK frame and an empty ACK', () => {
    expect(decodeSettings(0, 0, new Uint8Array(0))).to.deep.equal({ ack: false, entries: [] })
    expect(decodeSettings(0x1, 0, new Uint8Array(0))).to.deep.equal({ ack: true, entries: [] })
  })

  it('decodes a 32-bit value with the top bit set', () => {
    expect(decodeSettingsPayload(hex('f5a1 ffffffff'))).to.deep.equal([[0xf5a1, 0xffffffff]])
  })

  it('encodes byte for byte and round-trips', () => {
    expect(toHex(encodeSettingsPayload([[0x5, 16384], [0xf5a1, 2]]))).to.equal(toHex(twoEntries))
    expect(decodeSettingsPayload(encodeSettingsPayload([[0x3, 100], [0x4, 0x7fffffff]]))).to.deep.equal([[0x3, 100], [0x4, 0x7fffffff]])
  })

  it('rejects a SETTINGS frame on a stream (RFC 9113 §6.5)', () => {
    expect(() => decodeSettings(0, 1, twoEntries)).to.throw().that.includes({ code: 'ERR_SC_DECODE', rule: 'stream' })
  })

  it('rejects an ACK with a payload (RFC 9113 §6.5)', () => {
    expect(() => decodeSettings(0x1, 0, twoEntries)).to.throw().that.includes({ code: 'ERR_SC_DECODE', rule: 'length' })
  })

  it('rejects every length that is not a multiple of 6 with ERR_SC_DECODE', () => {
    for (let n = 1; n < twoEntries.length; n++) {
      if (n % 6 === 0) continue
      expect(() => decodeSettingsPayload(twoEntries.subarray(0, n)), `prefix ${n}`).to.throw().that.includes({ code: 'ERR_SC_DECODE', rule: 'length' })
    }
  })

  it('holds the bounds of RFC 9113 §6.5.2', () => {
    const cases: [number, number, string | undefined][] = [
      [SettingsId.ENABLE_PUSH, 0, undefined],
      [SettingsId.ENABLE_PUSH, 1, undefined],
      [SettingsId.ENABLE_PUSH, 2, 'enable-push'],
      [SettingsId.INITIAL_WINDOW_SIZE, 0x7fffffff, undefined],
      [SettingsId.INITIAL_WINDOW_SIZE, 0x80000000, 'initial-window-size'],
      [SettingsId.MAX_FRAME_SIZE, 16383, 'max-frame-size'],
      [SettingsId.MAX_FRAME_SIZE, 16384, undefined],
      [SettingsId.MAX_FRAME_SIZE, 16777215, undefined],
      [SettingsId.MAX_FRAME_SIZE, 16777216, 'max-frame-size'],
      [SettingsId.HEADER_TABLE_SIZE, 0xffffffff, undefined],
      [0xf5a1, 0xffffffff, undefined],
    ]
    for (const [id, value, rule] of cases) {
      expect(settingProblem(id, value), `0x${id.toString(16)}=${value}`).to.equal(rule)
      const payload = hex(`${id.toString(16).padStart(4, '0')} ${value.toString(16).padStart(8, '0')}`)
      if (rule === undefined) expect(decodeSettingsPayload(payload)).to.deep.equal([[id, value]])
      else expect(() => decodeSettingsPayload(payload)).to.throw().that.includes({ code: 'ERR_SC_DECODE', rule })
    }
  })

  it('refuses to encode values a peer must reject', () => {
    expect(() => encodeSettingsPayload([[SettingsId.MAX_FRAME_SIZE, 100]])).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => encodeSettingsPayload([[0x10000, 1]])).to.throw().with.property('code', 'ERR_SC_USAGE')
    expect(() => encodeSettingsPayload([[0x1, -1]])).to.throw().with.property('code', 'ERR_SC_USAGE')
  })

  it('takes the last value of a repeated identifier (RFC 9113 §6.5.3)', () => {
    expect(settingValue([[0x5, 16384], [0x3, 1], [0x5, 32768]], 0x5)).to.equal(32768)
    expect(settingValue([[0x3, 1]], 0x5)).to.equal(undefined)
  })
})
