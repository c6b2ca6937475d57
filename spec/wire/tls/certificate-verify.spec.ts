import { expect } from 'chai'
import { decodeCertificateVerify, encodeCertificateVerify } from '../../../lib/wire/tls/certificate-verify.js'
import { hex, toHex } from '../../support/hex.js'
import {
  bytesOf,
  expectDecodeError,
  expectEveryPrefixRejected,
  expectUsageError,
  loadVectors,
} from '../../support/vectors.js'
import type { ValidVector, VectorFile } from '../../support/vectors.js'

interface CvVector extends ValidVector {
  readonly algorithm: number
  readonly signature: string
}

const vectors = loadVectors<VectorFile<CvVector>>('certificate-verify.json')

describe('wire/tls/certificate-verify', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        const cv = decodeCertificateVerify(bytesOf(v))
        expect(cv.algorithm).to.equal(v.algorithm)
        expect(toHex(cv.signature)).to.equal(v.signature)
      })
      it(`encodes ${v.name} byte for byte`, () => {
        expect(toHex(encodeCertificateVerify({ algorithm: v.algorithm, signature: hex(v.signature) }))).to.equal(v.hex)
      })
      it(`rejects every truncated prefix of ${v.name}`, () => {
        expectEveryPrefixRejected(bytesOf(v), decodeCertificateVerify)
      })
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeCertificateVerify(bytesOf(v)), {
          ...(v.structure === undefined ? {} : { structure: v.structure }),
          ...(v.offset === undefined ? {} : { offset: v.offset }),
        })
      })
    }
  })

  it('matches the digest §12 size: 8 + |signature|', () => {
    expect(encodeCertificateVerify({ algorithm: 0x0403, signature: new Uint8Array(71) }).length).to.equal(79)
  })

  it('refuses a signature over 65535 bytes or an algorithm outside uint16 (ERR_SC_USAGE)', () => {
    expectUsageError(() => encodeCertificateVerify({ algorithm: 0x0403, signature: new Uint8Array(0x10000) }))
    expectUsageError(() => encodeCertificateVerify({ algorithm: 0x10403, signature: new Uint8Array(1) }))
    expectUsageError(() => encodeCertificateVerify({ algorithm: -1, signature: new Uint8Array(1) }))
  })
})
