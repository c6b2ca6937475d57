import { expect } from 'chai'
import { decodeFinished, encodeFinished } from '../../../lib/wire/tls/finished.js'
import { hex, toHex } from '../../support/hex.js'
import { bytesOf, expectDecodeError, expectEveryPrefixRejected, loadVectors } from '../../support/vectors.js'
import type { ValidVector, VectorFile } from '../../support/vectors.js'

interface FinishedVector extends ValidVector {
  readonly verifyData: string
}

const vectors = loadVectors<VectorFile<FinishedVector>>('finished.json')

describe('wire/tls/finished', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        expect(toHex(decodeFinished(bytesOf(v)).verifyData)).to.equal(v.verifyData)
      })
      it(`encodes ${v.name} byte for byte`, () => {
        expect(toHex(encodeFinished({ verifyData: hex(v.verifyData) }))).to.equal(v.hex)
      })
      it(`rejects every truncated prefix of ${v.name}`, () => {
        expectEveryPrefixRejected(bytesOf(v), decodeFinished)
      })
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeFinished(bytesOf(v)), {
          ...(v.structure === undefined ? {} : { structure: v.structure }),
          ...(v.offset === undefined ? {} : { offset: v.offset }),
        })
      })
    }
  })

  it('matches the digest §12 size: 4 + L', () => {
    expect(toHex(encodeFinished({ verifyData: new Uint8Array(48) }).subarray(0, 4))).to.equal('14000030')
    expect(encodeFinished({ verifyData: new Uint8Array(32) }).length).to.equal(36)
  })
})
