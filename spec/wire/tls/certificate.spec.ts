import { expect } from 'chai'
import { decodeCertificate, encodeCertificate } from '../../../lib/wire/tls/certificate.js'
import type { Certificate } from '../../../lib/wire/tls/certificate.js'
import { cat, ext, handshake, hex, toHex, vec } from '../../support/hex.js'
import {
  bytesOf,
  expectDecodeError,
  expectEveryPrefixRejected,
  expectUsageError,
  loadVectors,
} from '../../support/vectors.js'
import type { ValidVector, VectorFile } from '../../support/vectors.js'

interface CertificateVector extends ValidVector {
  readonly context: string
  readonly entries: { certData: string; extensionTypes: number[] }[]
}

const vectors = loadVectors<VectorFile<CertificateVector>>('certificate.json')
const none = new Uint8Array(0)

describe('wire/tls/certificate', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        const c = decodeCertificate(bytesOf(v))
        expect(toHex(c.context)).to.equal(v.context)
        expect(c.entries.map((e) => ({ certData: toHex(e.certData), extensionTypes: e.extensions.map((x) => x.type) }))).to.deep.equal(
          v.entries,
        )
      })
      it(`re-encodes ${v.name} byte for byte`, () => {
        expect(toHex(encodeCertificate(decodeCertificate(bytesOf(v))))).to.equal(v.hex)
      })
      it(`rejects every truncated prefix of ${v.name}`, () => {
        expectEveryPrefixRejected(bytesOf(v), decodeCertificate)
      })
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeCertificate(bytesOf(v)), {
          ...(v.structure === undefined ? {} : { structure: v.structure }),
          ...(v.offset === undefined ? {} : { offset: v.offset }),
        })
      })
    }
  })

  it('encodes the digest §6 implied empty Certificate (context, no entries)', () => {
    const ctx = hex('00112233445566778899aabbccddeeff')
    const out = encodeCertificate({ context: ctx, entries: [] })
    expect(toHex(out)).to.equal('0b000014' + '10' + toHex(ctx) + '000000')
  })

  it('matches the digest §12 size formula: 4 + 1 + |ctx| + 3 + Σ(3 + |DER| + 2 + |exts|)', () => {
    const value: Certificate = {
      context: new Uint8Array(16),
      entries: [{ certData: new Uint8Array(404), extensions: [] }],
    }
    const out = encodeCertificate(value)
    expect(out.length).to.equal(433)
    expect(toHex(out.subarray(0, 4))).to.equal('0b0001ad')
    expect(toHex(out.subarray(21, 27))).to.equal('000199000194')
  })

  it('keeps every entry extension, known or not, in wire order', () => {
    const bytes = handshake(11, cat(hex('00'), vec(3, cat(vec(3, hex('30')), vec(2, cat(ext(0x0012, hex('0000')), ext(0xfafa, none), ext(0x0005, hex('01'))))))))
    const c = decodeCertificate(bytes)
    expect(c.entries[0]!.extensions.map((e) => e.type)).to.deep.equal([0x0012, 0xfafa, 0x0005])
  })

  it('allows the same extension type in different entries', () => {
    const entry = cat(vec(3, hex('30')), vec(2, ext(0x0005, hex('01'))))
    const c = decodeCertificate(handshake(11, cat(hex('00'), vec(3, cat(entry, entry)))))
    expect(c.entries).to.have.length(2)
  })

  it('rejects every handshake type but 11', () => {
    const good = hex('0b00000400000000')
    for (let t = 0; t < 256; t++) {
      if (t === 11) continue
      const b = good.slice()
      b[0] = t
      expectDecodeError(() => decodeCertificate(b), { structure: 'Certificate' })
    }
  })

  describe('encoder refuses impossible values (ERR_SC_USAGE)', () => {
    const entry = { certData: hex('30'), extensions: [] }
    it('a 256-byte context', () => expectUsageError(() => encodeCertificate({ context: new Uint8Array(256), entries: [entry] })))
    it('empty cert_data', () => expectUsageError(() => encodeCertificate({ context: none, entries: [{ certData: none, extensions: [] }] })))
    it('duplicate entry extensions', () =>
      expectUsageError(() =>
        encodeCertificate({ context: none, entries: [{ certData: hex('30'), extensions: [{ type: 5, data: none }, { type: 5, data: none }] }] }),
      ))
    it('extension data over 65535 bytes', () =>
      expectUsageError(() =>
        encodeCertificate({ context: none, entries: [{ certData: hex('30'), extensions: [{ type: 5, data: new Uint8Array(0x10000) }] }] }),
      ))
    it('entry extensions over 65535 bytes in total', () =>
      expectUsageError(() =>
        encodeCertificate({
          context: none,
          entries: [{ certData: hex('30'), extensions: [{ type: 5, data: new Uint8Array(0x8000) }, { type: 6, data: new Uint8Array(0x8000) }] }],
        }),
      ))
    it('an extension type outside uint16', () =>
      expectUsageError(() =>
        encodeCertificate({ context: none, entries: [{ certData: hex('30'), extensions: [{ type: 0x10000, data: none }] }] }),
      ))
    it('cert_data over 2^24-1 bytes', () =>
      expectUsageError(() => encodeCertificate({ context: none, entries: [{ certData: new Uint8Array(0x1000000), extensions: [] }] })))
  })
})
