import { expect } from 'chai'
import { ByteReader } from '../../../lib/wire/byte-reader.js'
import { ByteWriter } from '../../../lib/wire/byte-writer.js'
import {
  decodeCertificateAuthorities,
  decodeOidFilters,
  decodeServerNameList,
  decodeSignatureSchemeList,
  encodeCertificateAuthorities,
  encodeOidFilters,
  encodeServerNameList,
  encodeSignatureSchemeList,
  readExtensions,
  writeExtensions,
} from '../../../lib/wire/tls/extensions.js'
import { ascii, cat, ext, hex, toHex, vec } from '../../support/hex.js'
import { expectDecodeError, expectUsageError } from '../../support/vectors.js'

const none = new Uint8Array(0)

function block(...exts: Uint8Array[]): Uint8Array {
  return vec(2, cat(...exts))
}

describe('wire/tls/extensions', () => {
  describe('extension blocks (RFC 8446 §4.2)', () => {
    it('reads extensions in wire order with views of their data', () => {
      const bytes = block(ext(0x000d, hex('00020403')), ext(0xfafa, none), ext(0x0005, hex('01')))
      const r = new ByteReader(bytes, 'X')
      const exts = readExtensions(r, 0, 'X')
      expect(exts.map((e) => [e.type, toHex(e.data)])).to.deep.equal([
        [0x000d, '00020403'],
        [0xfafa, ''],
        [0x0005, '01'],
      ])
      expect(r.isAtEnd).to.equal(true)
    })

    it('reads an empty block when the minimum allows it', () => {
      expect(readExtensions(new ByteReader(hex('0000'), 'X'), 0, 'X')).to.deep.equal([])
    })

    it('rejects a block shorter than its minimum, at the block length', () => {
      expectDecodeError(() => readExtensions(new ByteReader(hex('0000'), 'X'), 2, 'X'), { structure: 'X', offset: 0 })
    })

    it('rejects duplicate types, at the second extension', () => {
      const bytes = block(ext(0xfafa, hex('01')), ext(0x0001, none), ext(0xfafa, hex('02')))
      expectDecodeError(() => readExtensions(new ByteReader(bytes, 'X', 10), 0, 'X'), { structure: 'X', offset: 10 + 2 + 5 + 4 })
    })

    it('rejects an extension whose data runs past the block', () => {
      const bytes = cat(hex('0006'), hex('fafa0003'), hex('0102'), hex('ff'))
      expectDecodeError(() => readExtensions(new ByteReader(bytes, 'X'), 0, 'X'), { offset: 6 })
    })

    it('rejects a block with a partial extension header', () => {
      expectDecodeError(() => readExtensions(new ByteReader(hex('0003 fafa00'), 'X'), 0, 'X'), { offset: 4 })
    })

    it('rejects every truncated prefix of a block', () => {
      const bytes = block(ext(0x000d, hex('00020403')), ext(0x0005, none))
      for (let n = 0; n < bytes.length; n++) {
        expectDecodeError(() => readExtensions(new ByteReader(bytes.subarray(0, n), 'X'), 0, 'X'))
      }
    })

    it('writes a block byte for byte', () => {
      const w = new ByteWriter()
      writeExtensions(w, [
        { type: 0x000d, data: hex('00020403') },
        { type: 0xfafa, data: none },
      ])
      expect(toHex(w.finish())).to.equal('000c' + '000d0004' + '00020403' + 'fafa0000')
    })

    it('refuses to write duplicate types (ERR_SC_USAGE)', () => {
      expectUsageError(() =>
        writeExtensions(new ByteWriter(), [
          { type: 1, data: none },
          { type: 1, data: hex('00') },
        ]),
      )
    })

    it('refuses extension data over 65535 bytes and blocks over 65535 bytes (ERR_SC_USAGE)', () => {
      expectUsageError(() => writeExtensions(new ByteWriter(), [{ type: 1, data: new Uint8Array(0x10000) }]))
      expectUsageError(() =>
        writeExtensions(new ByteWriter(), [
          { type: 1, data: new Uint8Array(0x8000) },
          { type: 2, data: new Uint8Array(0x8000) },
        ]),
      )
    })
  })

  describe('signature scheme lists (RFC 8446 §4.2.3)', () => {
    it('decodes and encodes a list', () => {
      expect(decodeSignatureSchemeList(hex('0006 0403 0804 0807'), 0, 'S')).to.deep.equal([0x0403, 0x0804, 0x0807])
      expect(toHex(encodeSignatureSchemeList([0x0403, 0x0804, 0x0807]))).to.equal('0006040308040807')
    })

    it('rejects an empty list at its length, with the given base', () => {
      expectDecodeError(() => decodeSignatureSchemeList(hex('0000'), 40, 'S'), { structure: 'S', offset: 40 })
    })

    it('rejects an odd-length list at its first scheme', () => {
      expectDecodeError(() => decodeSignatureSchemeList(hex('0003 040308'), 40, 'S'), { structure: 'S', offset: 42 })
    })

    it('rejects bytes after the list', () => {
      expectDecodeError(() => decodeSignatureSchemeList(hex('0002 0403 00'), 0, 'S'), { structure: 'S', offset: 4 })
    })

    it('rejects a list of 65535 bytes (maximum is 2^16-2)', () => {
      expectDecodeError(() => decodeSignatureSchemeList(cat(hex('ffff'), new Uint8Array(0xffff)), 0, 'S'), { offset: 0 })
    })

    it('refuses an empty list (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeSignatureSchemeList([]))
    })
  })

  describe('certificate_authorities (RFC 8446 §4.2.4)', () => {
    const dn = hex('300f310d300b06035504030c0454657374')
    it('decodes and encodes a list of names', () => {
      const data = vec(2, cat(vec(2, dn), vec(2, hex('3000'))))
      expect(decodeCertificateAuthorities(data, 0, 'C').map(toHex)).to.deep.equal([toHex(dn), '3000'])
      expect(toHex(encodeCertificateAuthorities([dn, hex('3000')]))).to.equal(toHex(data))
    })

    it('accepts the shortest list: one name of one byte', () => {
      expect(decodeCertificateAuthorities(hex('0003 0001 30'), 0, 'C').map(toHex)).to.deep.equal(['30'])
    })

    it('rejects a list of fewer than 3 bytes', () => {
      for (const h of ['0000', '0001 00', '0002 0000']) {
        expectDecodeError(() => decodeCertificateAuthorities(hex(h), 7, 'C'), { structure: 'C', offset: 7 })
      }
    })

    it('rejects an empty DistinguishedName at its length', () => {
      expectDecodeError(() => decodeCertificateAuthorities(hex('0005 0001 30 0000'), 0, 'C'), { offset: 5 })
    })

    it('rejects bytes after the list', () => {
      expectDecodeError(() => decodeCertificateAuthorities(hex('0003 0001 30 ff'), 0, 'C'), { offset: 5 })
    })

    it('refuses an empty list or an empty name (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeCertificateAuthorities([]))
      expectUsageError(() => encodeCertificateAuthorities([dn, none]))
    })
  })

  describe('oid_filters (RFC 8446 §4.2.5)', () => {
    it('decodes and encodes filters, including empty values and an empty list', () => {
      const data = hex('000c 03 551d25 0002 3000 01 2a 0000')
      const f = decodeOidFilters(data, 0, 'O')
      expect(f.map((x) => [toHex(x.oid), toHex(x.values)])).to.deep.equal([
        ['551d25', '3000'],
        ['2a', ''],
      ])
      expect(toHex(encodeOidFilters(f))).to.equal(toHex(data))
      expect(decodeOidFilters(hex('0000'), 0, 'O')).to.deep.equal([])
      expect(toHex(encodeOidFilters([]))).to.equal('0000')
    })

    it('rejects an OID of length 0 at its length byte', () => {
      expectDecodeError(() => decodeOidFilters(hex('0003 00 0000'), 50, 'O'), { structure: 'O', offset: 52 })
    })

    it('rejects values that run past the list', () => {
      expectDecodeError(() => decodeOidFilters(hex('0005 01 2a 0005 30'), 0, 'O'), { offset: 6 })
    })

    it('refuses an empty OID (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeOidFilters([{ oid: none, values: none }]))
    })

    it('refuses an OID over 255 bytes (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeOidFilters([{ oid: new Uint8Array(256), values: none }]))
    })
  })

  describe('server_name (RFC 6066 §3)', () => {
    it('decodes and encodes one host name', () => {
      const data = vec(2, cat(hex('00'), vec(2, ascii('example.com'))))
      expect(decodeServerNameList(data, 0, 'N')).to.deep.equal(['example.com'])
      expect(toHex(encodeServerNameList(['example.com']))).to.equal(toHex(data))
    })

    it('rejects an empty list, an empty name and a duplicate name type', () => {
      expectDecodeError(() => decodeServerNameList(hex('0000'), 0, 'N'), { structure: 'N', offset: 0 })
      expectDecodeError(() => decodeServerNameList(hex('0003 00 0000'), 0, 'N'), { offset: 3 })
      expectDecodeError(() => decodeServerNameList(hex('0008 00 0001 61 00 0001 62'), 0, 'N'), { offset: 6 })
    })

    it('refuses anything but exactly one non-empty name (ERR_SC_USAGE)', () => {
      expectUsageError(() => encodeServerNameList([]))
      expectUsageError(() => encodeServerNameList(['a', 'b']))
      expectUsageError(() => encodeServerNameList(['']))
    })
  })
})
