import { expect } from 'chai'
import { authenticatorContext, decodeAuthenticator } from '../../../lib/wire/tls/authenticator.js'
import { cat, hex, toHex } from '../../support/hex.js'
import { bytesOf, expectDecodeError, expectEveryPrefixRejected, loadVectors } from '../../support/vectors.js'
import type { ValidVector, VectorFile } from '../../support/vectors.js'

interface AuthVector extends ValidVector {
  readonly kind: 'full' | 'empty'
  readonly context?: string
  /** Byte length of each message. */
  readonly lengths: number[]
}

const vectors = loadVectors<VectorFile<AuthVector>>('authenticator.json')
const fizz = loadVectors<{ getContext: { authenticator: string; expectedContext: string } }>('fizz-exported-authenticator.json')

const CERT = hex('0b00000400000000')
const CV = hex('0f00000d040300097369676e6174757265')
const FIN = hex('14000004 01020304')
const REQ = hex('0d00001d10 00112233445566778899aabbccddeeff 000a000d0006000404030804')
const byName = { C: CERT, V: CV, F: FIN, R: REQ } as const

describe('wire/tls/authenticator', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        const bytes = bytesOf(v)
        const a = decodeAuthenticator(bytes)
        expect(a.kind).to.equal(v.kind)
        if (a.kind === 'full') {
          expect([a.rawCertificate.length, a.rawCertificateVerify.length, a.rawFinished.length]).to.deep.equal(v.lengths)
          expect(toHex(a.certificate.context)).to.equal(v.context)
          expect(toHex(cat(a.rawCertificate, a.rawCertificateVerify, a.rawFinished))).to.equal(v.hex)
          expect(a.finished.verifyData.length).to.equal(v.lengths[2]! - 4)
        } else {
          expect([a.rawFinished.length]).to.deep.equal(v.lengths)
          expect(toHex(a.rawFinished)).to.equal(v.hex)
        }
      })
      it(`rejects every truncated prefix of ${v.name}`, () => {
        expectEveryPrefixRejected(bytesOf(v), decodeAuthenticator)
      })
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeAuthenticator(bytesOf(v)), {
          ...(v.structure === undefined ? {} : { structure: v.structure }),
          ...(v.offset === undefined ? {} : { offset: v.offset }),
        })
      })
    }
  })

  it('accepts exactly [Finished] and [Certificate, CertificateVerify, Finished] among all sequences up to 4 messages', () => {
    const letters = ['C', 'V', 'F', 'R'] as const
    const sequences: string[][] = [[]]
    for (let len = 1; len <= 4; len++) {
      for (const prev of sequences.filter((s) => s.length === len - 1)) for (const l of letters) sequences.push([...prev, l])
    }
    let accepted = 0
    for (const seq of sequences) {
      const bytes = cat(...seq.map((l) => byName[l as keyof typeof byName]))
      const key = seq.join('')
      if (key === 'F' || key === 'CVF') {
        expect(decodeAuthenticator(bytes).kind).to.equal(key === 'F' ? 'empty' : 'full')
        accepted++
      } else {
        expectDecodeError(() => decodeAuthenticator(bytes), { structure: 'Authenticator', offset: 0 })
      }
    }
    expect(accepted).to.equal(2)
    expect(sequences.length).to.equal(1 + 4 + 16 + 64 + 256)
  })

  it('keeps the raw messages as views of the input (the transcript hashes them as received)', () => {
    const bytes = cat(CERT, CV, FIN)
    const a = decodeAuthenticator(bytes)
    if (a.kind !== 'full') throw new Error('expected full')
    expect(a.rawCertificate.buffer).to.equal(bytes.buffer)
    expect(a.rawCertificateVerify.byteOffset).to.equal(CERT.length)
    expect(a.rawFinished.byteOffset).to.equal(CERT.length + CV.length)
  })

  it('rebases inner errors to absolute offsets in every message', () => {
    // CertificateVerify whose signature length runs past its body: inner offset 8
    const badCv = hex('0f000006 0403 0005 aabb')
    expectDecodeError(() => decodeAuthenticator(cat(CERT, badCv, FIN)), { structure: 'CertificateVerify', offset: 8 + 8 })
    // Finished is opaque: any body is syntactically fine, so rebasing is visible on the Certificate only
    const badCert = hex('0b000004 00 000001')
    expectDecodeError(() => decodeAuthenticator(cat(badCert, hex('ff'), CV, FIN)))
  })

  describe('authenticatorContext (RFC 9261 §7.2)', () => {
    it('extracts the context of the fizz 645-byte authenticator', () => {
      const bytes = hex(fizz.getContext.authenticator)
      expect(bytes.length).to.equal(645)
      expect(toHex(authenticatorContext(bytes)!)).to.equal(fizz.getContext.expectedContext)
      expect(new TextDecoder().decode(authenticatorContext(bytes)!)).to.equal('0123456789abcdefghij')
    })

    it('returns null for an empty authenticator', () => {
      expect(authenticatorContext(FIN)).to.equal(null)
    })

    it('returns the context of a request of either type', () => {
      expect(toHex(authenticatorContext(REQ)!)).to.equal('00112233445566778899aabbccddeeff')
      const r17 = REQ.slice()
      r17[0] = 17
      expect(toHex(authenticatorContext(r17)!)).to.equal('00112233445566778899aabbccddeeff')
    })

    it('rejects malformed input with ERR_SC_DECODE', () => {
      expectDecodeError(() => authenticatorContext(hex('0b0000')))
      expectDecodeError(() => authenticatorContext(cat(REQ, hex('00'))))
      expectDecodeError(() => authenticatorContext(cat(CERT, FIN)))
    })
  })
})
