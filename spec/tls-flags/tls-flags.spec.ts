import { expect } from 'chai'
import fc from 'fast-check'
import {
  decodeTlsFlags,
  encodeTlsFlags,
  hasFlag,
  MAX_TLS_FLAG,
  RESUMPTION_ACROSS_NAMES_FLAG,
  TLS_FLAGS_EXPERIMENTAL_EXTENSION_TYPE,
  TLS_FLAGS_EXTENSION_TYPE,
} from '../../lib/tls-flags/tls-flags.js'
import { hex, toHex } from '../support/hex.js'
import { expectDecodeError, expectEveryPrefixRejected, expectUsageError } from '../support/vectors.js'

// Digest tls-flags-request-mtls §1.2 examples: the extension_data part of each row
// (the full extension bytes there are 00 3e + uint16 length + this).
const EXAMPLES: readonly { readonly flags: readonly number[]; readonly data: string }[] = [
  { flags: [0], data: '01 01' },
  { flags: [1, 5], data: '01 22' },
  { flags: [3, 5, 23], data: '03 28 00 80' },
  { flags: [RESUMPTION_ACROSS_NAMES_FLAG], data: '02 00 01' },
  { flags: [80], data: '0b 00 00 00 00 00 00 00 00 00 00 01' },
]

describe('tls-flags/tls-flags', () => {
  it('uses 62 and 0xFE01 as the extension codepoints', () => {
    expect(TLS_FLAGS_EXTENSION_TYPE).to.equal(62)
    expect(TLS_FLAGS_EXPERIMENTAL_EXTENSION_TYPE).to.equal(0xfe01)
  })

  for (const ex of EXAMPLES) {
    it(`decodes the digest example for flags ${ex.flags.join(', ')} (LSB first)`, () => {
      expect([...decodeTlsFlags(hex(ex.data))].sort((a, b) => a - b)).to.deep.equal(ex.flags)
    })
    it(`encodes flags ${ex.flags.join(', ')} byte for byte`, () => {
      expect(toHex(encodeTlsFlags(ex.flags))).to.equal(ex.data.replace(/ /g, ''))
    })
  }

  it('answers hasFlag for set and unset flags, including ones past the last byte', () => {
    const data = hex('03 28 00 80')
    expect(hasFlag(data, 3)).to.equal(true)
    expect(hasFlag(data, 23)).to.equal(true)
    expect(hasFlag(data, 4)).to.equal(false)
    expect(hasFlag(data, 24)).to.equal(false)
    expect(hasFlag(data, 2000)).to.equal(false)
  })

  it('does not read the bits most-significant first (pre -01 order)', () => {
    // MSB-first would put flag 0 at 0x80.
    expect(decodeTlsFlags(hex('01 80')).has(0)).to.equal(false)
    expect(decodeTlsFlags(hex('01 80')).has(7)).to.equal(true)
  })

  it('round-trips the highest flag number', () => {
    const data = encodeTlsFlags([0, MAX_TLS_FLAG])
    expect(data.length).to.equal(256)
    expect(data[0]).to.equal(255)
    expect([...decodeTlsFlags(data)]).to.have.members([0, MAX_TLS_FLAG])
  })

  it('ignores duplicate flag numbers when encoding', () => {
    expect(toHex(encodeTlsFlags([5, 1, 5]))).to.equal('0122')
  })

  it('rejects empty extension_data', () => {
    expectDecodeError(() => decodeTlsFlags(new Uint8Array(0)), { structure: 'FlagExtensions', offset: 0 })
  })

  it('rejects a zero flags length', () => {
    expectDecodeError(() => decodeTlsFlags(hex('00')), { structure: 'FlagExtensions', offset: 0 })
  })

  it('rejects an all-zero value', () => {
    expectDecodeError(() => decodeTlsFlags(hex('01 00')), { structure: 'FlagExtensions', offset: 1 })
  })

  it('rejects a trailing zero byte (not minimal)', () => {
    expectDecodeError(() => decodeTlsFlags(hex('02 01 00')), { structure: 'FlagExtensions', offset: 2 })
  })

  it('rejects bytes after the flags vector', () => {
    expectDecodeError(() => decodeTlsFlags(hex('01 01 01')), { structure: 'FlagExtensions', offset: 2 })
  })

  it('reports offsets relative to the given base', () => {
    expectDecodeError(() => decodeTlsFlags(hex('01 00'), 100), { offset: 101 })
  })

  it('rejects every truncated prefix of a valid value', () => {
    expectEveryPrefixRejected(hex('03 28 00 80'), (b) => decodeTlsFlags(b))
  })

  it('refuses to encode an empty set, negative, fractional or too large flag numbers', () => {
    expectUsageError(() => encodeTlsFlags([]))
    expectUsageError(() => encodeTlsFlags([-1]))
    expectUsageError(() => encodeTlsFlags([1.5]))
    expectUsageError(() => encodeTlsFlags([MAX_TLS_FLAG + 1]))
  })
})

describe('tls-flags/tls-flags (properties)', () => {
  it('decode(encode(flags)) is the set of flags, and the encoding is minimal', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: MAX_TLS_FLAG }), { minLength: 1, maxLength: 40 }), (flags) => {
        const data = encodeTlsFlags(flags)
        expect([...decodeTlsFlags(data)].sort((a, b) => a - b)).to.deep.equal([...flags].sort((a, b) => a - b))
        expect(data[data.length - 1]).to.not.equal(0)
        expect(data[0]).to.equal(data.length - 1)
      }),
      { seed: 0x3e, numRuns: 300 },
    )
  })

  it('decodeTlsFlags throws only DecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          decodeTlsFlags(b)
        } catch (e) {
          expect((e as { code?: unknown }).code).to.equal('ERR_SC_DECODE')
        }
      }),
      { seed: 0x3e, numRuns: 500 },
    )
  })
})
