import { readdirSync, readFileSync } from 'node:fs'
import { expect } from 'chai'
import fc from 'fast-check'
import { DecodeError } from '../../lib/errors.js'
import { ByteReader } from '../../lib/wire/byte-reader.js'
import { decodeVarint } from '../../lib/wire/varint.js'
import { splitHandshakeMessages } from '../../lib/wire/tls/handshake.js'
import { decodeCertificateRequest, encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { decodeCertificate } from '../../lib/wire/tls/certificate.js'
import { decodeCertificateVerify } from '../../lib/wire/tls/certificate-verify.js'
import { decodeFinished } from '../../lib/wire/tls/finished.js'
import { authenticatorContext, decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import {
  decodeCertificateAuthorities,
  decodeOidFilters,
  decodeServerNameList,
  decodeSignatureSchemeList,
  readExtensions,
} from '../../lib/wire/tls/extensions.js'
import { cat, handshake, hex } from '../support/hex.js'

const SEED = 0x9261

/** Every decoder that reads untrusted bytes. */
const DECODERS: readonly (readonly [string, (b: Uint8Array) => unknown])[] = [
  ['decodeCertificateRequest', (b) => decodeCertificateRequest(b)],
  ['decodeCertificate', decodeCertificate],
  ['decodeCertificateVerify', decodeCertificateVerify],
  ['decodeFinished', decodeFinished],
  ['decodeAuthenticator', decodeAuthenticator],
  ['authenticatorContext', authenticatorContext],
  ['splitHandshakeMessages', (b) => splitHandshakeMessages(b)],
  ['decodeVarint', (b) => decodeVarint(b, 0)],
  ['readExtensions', (b) => readExtensions(new ByteReader(b, 'X'), 0, 'X')],
  ['decodeSignatureSchemeList', (b) => decodeSignatureSchemeList(b, 0, 'S')],
  ['decodeCertificateAuthorities', (b) => decodeCertificateAuthorities(b, 0, 'C')],
  ['decodeOidFilters', (b) => decodeOidFilters(b, 0, 'O')],
  ['decodeServerNameList', (b) => decodeServerNameList(b, 0, 'N')],
]

/** Valid messages from every vector file: mutation seeds. */
function seeds(): Uint8Array[] {
  const dir = new URL('../vectors/', import.meta.url)
  const out: Uint8Array[] = []
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const j = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { valid?: { hex?: string }[] }
    // Files of wire messages carry `hex`; key-material files (ml-dsa.json) do not.
    for (const v of j.valid ?? []) if (typeof v.hex === 'string') out.push(hex(v.hex))
  }
  // A type 17 request with every known extension, so mutations reach each extension decoder.
  out.push(
    encodeCertificateRequest({
      type: 17,
      context: hex('01020304'),
      signatureAlgorithms: [0x0403, 0x0807],
      signatureAlgorithmsCert: [0x0804],
      certificateAuthorities: [hex('3000'), hex('300f310d300b06035504030c0454657374')],
      oidFilters: [{ oid: hex('551d25'), values: hex('300a06082b06010505070302') }],
      statusRequest: true,
      signedCertificateTimestamp: true,
      serverName: 'example.com',
    }),
  )
  return out.filter((b) => b.length > 0)
}

const SEEDS = seeds()

/** A mutated copy of a valid message: bit flips, truncation, insertion, deletion, length overwrite. */
const mutated: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(
      fc.tuple(fc.constantFrom('flip', 'truncate', 'insert', 'delete', 'set'), fc.nat(), fc.nat(0xff), fc.uint8Array({ maxLength: 8 })),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([seed, ops]) => {
    let b: Uint8Array = seed.slice()
    for (const [op, where, value, ins] of ops) {
      const at = b.length === 0 ? 0 : where % b.length
      if (op === 'flip' && b.length > 0) b[at]! ^= 1 << (value & 7)
      else if (op === 'truncate') b = b.slice(0, at)
      else if (op === 'insert') b = cat(b.subarray(0, at), ins, b.subarray(at))
      else if (op === 'delete') b = cat(b.subarray(0, at), b.subarray(at + 1 + (value & 3)))
      else if (op === 'set' && b.length > 0) b[at] = value
    }
    return b
  })

/** Random bodies under a consistent header, so decoding gets past the framing. */
const framed: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(11, 13, 15, 17, 20, 0, 255), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }))
  .map(([type, body, tail]) => cat(handshake(type, body), tail.length % 3 === 0 ? new Uint8Array(0) : tail))

function checkOnlyDecodeError(name: string, decode: (b: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    decode(input)
  } catch (e) {
    expect(e, `${name} threw a non-DecodeError: ${String(e)}`).to.be.instanceOf(DecodeError)
    const d = e as DecodeError
    expect(d.code).to.equal('ERR_SC_DECODE')
    expect(d.structure).to.be.a('string').and.not.equal('')
    expect(Number.isInteger(d.offset), `${name} offset ${d.offset}`).to.equal(true)
    expect(d.offset, `${name} offset`).to.be.within(0, input.length)
  }
}

describe('property: decoders throw only DecodeError (ERR_SC_DECODE)', () => {
  it('has mutation seeds from every vector file', () => {
    expect(SEEDS.length).to.be.greaterThan(20)
  })

  for (const [name, decode] of DECODERS) {
    it(`${name} on arbitrary bytes up to 2 KB`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => checkOnlyDecodeError(name, decode, b)),
        { seed: SEED, numRuns: 500 },
      )
    })

    it(`${name} on mutated valid messages and framed random bodies`, () => {
      fc.assert(
        fc.property(fc.oneof(mutated, framed), (b) => checkOnlyDecodeError(name, decode, b)),
        { seed: SEED, numRuns: 1000 },
      )
    })
  }

  it('some mutated messages still decode, so mutations reach past the framing', () => {
    let decoded = 0
    fc.assert(
      fc.property(mutated, (b) => {
        try {
          decodeAuthenticator(b)
          decoded++
        } catch (e) {
          expect(e).to.be.instanceOf(DecodeError)
        }
      }),
      { seed: SEED, numRuns: 1000 },
    )
    expect(decoded).to.be.greaterThan(0)
  })
})
