import { expect } from 'chai'
import {
  distinguishedNameMatches,
  encodeDistinguishedName,
  formatDistinguishedName,
  parseDistinguishedName,
} from '../../lib/oauth/distinguished-name.js'
import { decodeCertFields } from '../../lib/policy/der.js'
import { expectDecodeError } from '../support/vectors.js'
import { makeCert, type Rdn } from './support.js'

const CN = '2.5.4.3'
const O = '2.5.4.10'
const OU = '2.5.4.11'
const C = '2.5.4.6'
const UID = '0.9.2342.19200300.100.1.1'
const DC = '0.9.2342.19200300.100.1.25'

async function subjectOf(subject: readonly Rdn[]): Promise<Uint8Array> {
  return decodeCertFields((await makeCert({ subject })).der).subjectDer
}

describe('oauth/distinguished-name', () => {
  describe('parseDistinguishedName', () => {
    it('reverses the RDNs into DER order (RFC 4514 §2.1)', () => {
      expect(parseDistinguishedName('CN=client,O=Example,C=SE')).to.deep.equal([
        [{ type: C, kind: 'string', value: 'SE' }],
        [{ type: O, kind: 'string', value: 'Example' }],
        [{ type: CN, kind: 'string', value: 'client' }],
      ])
    })

    it('reads multi-valued RDNs, escapes, hex pairs as UTF-8, OID and OID.-prefixed types', () => {
      const rdns = parseDistinguishedName('cn=J\\C3\\BCrgen+UID=u1, O=Example\\, Inc., 2.5.4.11=\\#tag, OID.2.5.4.6=SE')
      expect(rdns).to.deep.equal([
        [{ type: C, kind: 'string', value: 'SE' }],
        [{ type: OU, kind: 'string', value: '#tag' }],
        [{ type: O, kind: 'string', value: 'Example, Inc.' }],
        [
          { type: CN, kind: 'string', value: 'Jürgen' },
          { type: UID, kind: 'string', value: 'u1' },
        ],
      ])
    })

    it('keeps escaped spaces but drops unescaped spaces around separators', () => {
      expect(parseDistinguishedName(' CN = a b  ,  O=\\ x\\ ')).to.deep.equal([
        [{ type: O, kind: 'string', value: ' x ' }],
        [{ type: CN, kind: 'string', value: 'a b' }],
      ])
    })

    it('reads #hex values as BER', () => {
      expect(parseDistinguishedName('CN=#0c0161')).to.deep.equal([[{ type: CN, kind: 'ber', value: Uint8Array.from([0x0c, 1, 0x61]) }]])
    })

    it('rejects empty input, unknown types, missing =, bad escapes, unescaped specials and odd hex, with the offset', () => {
      expectDecodeError(() => parseDistinguishedName(''), { structure: 'DistinguishedName', offset: 0 })
      expectDecodeError(() => parseDistinguishedName('CN=a, XYZ=b'), { offset: 6 })
      expectDecodeError(() => parseDistinguishedName('CN=a, O'), { offset: 7 })
      expectDecodeError(() => parseDistinguishedName('CN=a\\q'), { offset: 4 })
      expectDecodeError(() => parseDistinguishedName('CN=a;b'), { offset: 4 })
      expectDecodeError(() => parseDistinguishedName('CN=#abc'), { offset: 3 })
      expectDecodeError(() => parseDistinguishedName('CN=\\ff'), { structure: 'DistinguishedName' })
    })
  })

  describe('distinguishedNameMatches', () => {
    it('matches a subject in its RFC 4514 form', async () => {
      const der = await subjectOf([{ [C]: [{ printableString: 'SE' }] }, { [O]: [{ utf8String: 'Example' }] }, { [CN]: [{ utf8String: 'client-1' }] }])
      expect(distinguishedNameMatches('CN=client-1,O=Example,C=SE', der)).to.equal(true)
    })

    it('ignores attribute-name case, value case, whitespace runs and the ASN.1 string type', async () => {
      const der = await subjectOf([{ [C]: [{ printableString: 'SE' }] }, { [O]: [{ printableString: 'Example  Org' }] }, { [CN]: [{ utf8String: 'Client-1' }] }])
      expect(distinguishedNameMatches('cn=client-1, o=EXAMPLE ORG, c=se', der)).to.equal(true)
    })

    it('compares the AVAs of a multi-valued RDN as a set', async () => {
      const der = await subjectOf([{ [O]: [{ utf8String: 'Example' }] }, { [CN]: [{ utf8String: 'a' }], [UID]: [{ utf8String: 'u1' }] }])
      expect(distinguishedNameMatches('UID=u1+CN=a,O=Example', der)).to.equal(true)
      expect(distinguishedNameMatches('CN=a,UID=u1,O=Example', der)).to.equal(false)
    })

    it('treats RDN order as significant', async () => {
      const der = await subjectOf([{ [C]: [{ printableString: 'SE' }] }, { [CN]: [{ utf8String: 'client-1' }] }])
      expect(distinguishedNameMatches('CN=client-1,C=SE', der)).to.equal(true)
      expect(distinguishedNameMatches('C=SE,CN=client-1', der)).to.equal(false)
    })

    it('does not match a different value, a missing RDN or an extra RDN', async () => {
      const der = await subjectOf([{ [DC]: [{ ia5String: 'example' }] }, { [CN]: [{ utf8String: 'client-1' }] }])
      expect(distinguishedNameMatches('CN=client-1,DC=example', der)).to.equal(true)
      expect(distinguishedNameMatches('CN=client-2,DC=example', der)).to.equal(false)
      expect(distinguishedNameMatches('CN=client-1', der)).to.equal(false)
      expect(distinguishedNameMatches('CN=client-1,DC=example,DC=com', der)).to.equal(false)
    })

    it('round-trips through encodeDistinguishedName', () => {
      const der = encodeDistinguishedName(parseDistinguishedName('CN=x\\2C y,O=o'))
      expect(distinguishedNameMatches('CN=x\\, y, O=o', der)).to.equal(true)
    })
  })

  describe('formatDistinguishedName', () => {
    it('writes the last RDN first, comma-separated, with short names (RFC 4514 §2.1, §3)', async () => {
      const der = await subjectOf([{ [C]: [{ printableString: 'SE' }] }, { [O]: [{ utf8String: 'Example AB' }] }, { [CN]: [{ utf8String: 'client-1' }] }])
      expect(formatDistinguishedName(der)).to.equal('CN=client-1,O=Example AB,C=SE')
    })

    it('joins a multi-valued RDN with + and uses dotted OIDs for unnamed types', async () => {
      const der = await subjectOf([{ [DC]: [{ ia5String: 'example' }] }, { [UID]: [{ utf8String: 'u1' }], [CN]: [{ utf8String: 'a' }] }])
      const text = formatDistinguishedName(der)
      expect(text).to.match(/^(UID=u1\+CN=a|CN=a\+UID=u1),DC=example$/)
      expect(formatDistinguishedName(encodeDistinguishedName([[{ type: '1.2.3.4', kind: 'string', value: 'v' }]]))).to.equal('1.2.3.4=v')
    })

    it('escapes the special characters of §2.4 and reads back to the same name', () => {
      for (const value of ['a,b', 'x+y', 'q"uote', 'semi;colon', '<lt>', 'back\\slash', '#lead', ' lead', 'trail ', 'nul\u0000x', 'Ünïcode ✓']) {
        const der = encodeDistinguishedName([[{ type: O, kind: 'string', value: 'o' }], [{ type: CN, kind: 'string', value }]])
        const text = formatDistinguishedName(der)
        expect(text.startsWith('CN='), text).to.equal(true)
        expect(distinguishedNameMatches(text, der), text).to.equal(true)
        expect(parseDistinguishedName(text)[1]![0], text).to.deep.equal({ type: CN, kind: 'string', value })
      }
    })

    it('writes non-string values as #hex of their BER and reads them back', () => {
      const ber = Uint8Array.from([0x02, 0x01, 0x05])
      const der = encodeDistinguishedName([[{ type: '2.5.4.5', kind: 'ber', value: ber }]])
      expect(formatDistinguishedName(der)).to.equal('SERIALNUMBER=#020105')
      expect(distinguishedNameMatches('SERIALNUMBER=#020105', der)).to.equal(true)
    })

    it('rejects a malformed Name with ERR_SC_DECODE', () => {
      expectDecodeError(() => formatDistinguishedName(Uint8Array.from([0x31, 0x00])))
    })
  })
})
