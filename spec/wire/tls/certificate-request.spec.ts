import { expect } from 'chai'
import { decodeCertificateRequest, encodeCertificateRequest } from '../../../lib/wire/tls/certificate-request.js'
import type { CertificateRequest, CertificateRequestInit } from '../../../lib/wire/tls/certificate-request.js'
import { HandshakeType } from '../../../lib/wire/tls/handshake.js'
import { ExtensionType } from '../../../lib/wire/tls/extensions.js'
import { SignatureScheme } from '../../../lib/wire/tls/signature-scheme.js'
import { ascii, ext, handshake, hex, toHex, vec, cat } from '../../support/hex.js'
import {
  bytesOf,
  expectDecodeError,
  expectEveryPrefixRejected,
  expectUsageError,
  loadVectors,
} from '../../support/vectors.js'
import type { ValidVector, VectorFile } from '../../support/vectors.js'

interface RequestVector extends ValidVector {
  readonly type: number
  readonly context: string
  readonly signatureAlgorithms: number[]
  readonly signatureAlgorithmsCert?: number[]
  readonly certificateAuthorities?: string[]
  readonly oidFilters?: { oid: string; values: string }[]
  readonly statusRequest?: boolean
  readonly signedCertificateTimestamp?: boolean
  readonly serverName?: string[]
  readonly extensionTypes: number[]
  /** The encoder, fed the decoded fields, reproduces the bytes exactly. */
  readonly reencode?: boolean
}

const vectors = loadVectors<VectorFile<RequestVector>>('certificate-request.json')
const fizz = loadVectors<{ headerlessRequestTwoSchemes: string; authenticatorTest: { request: string } }>(
  'fizz-exported-authenticator.json',
)

// RFC 9261 §12 of the digest: the 33-byte request of a real TLS 1.3 run.
const DIGEST_REQUEST = hex('0d00001d10 00112233445566778899aabbccddeeff 000a000d0006000404030804')
const CTX16 = hex('00112233445566778899aabbccddeeff')

/** The encoder input that describes a decoded request (known fields only, encoder order). */
function initOf(r: CertificateRequest): CertificateRequestInit {
  return {
    type: r.type,
    context: r.context,
    signatureAlgorithms: r.signatureAlgorithms,
    ...(r.signatureAlgorithmsCert ? { signatureAlgorithmsCert: r.signatureAlgorithmsCert } : {}),
    ...(r.certificateAuthorities ? { certificateAuthorities: r.certificateAuthorities } : {}),
    ...(r.oidFilters ? { oidFilters: r.oidFilters } : {}),
    statusRequest: r.statusRequest,
    signedCertificateTimestamp: r.signedCertificateTimestamp,
    ...(r.serverName?.[0] !== undefined ? { serverName: r.serverName[0] } : {}),
  }
}

describe('wire/tls/certificate-request', () => {
  describe('valid vectors', () => {
    for (const v of vectors.valid) {
      it(`decodes ${v.name}`, () => {
        const bytes = bytesOf(v)
        const r = decodeCertificateRequest(bytes)
        expect(r.type).to.equal(v.type)
        expect(toHex(r.context)).to.equal(v.context)
        expect(r.signatureAlgorithms).to.deep.equal(v.signatureAlgorithms)
        expect(r.signatureAlgorithmsCert).to.deep.equal(v.signatureAlgorithmsCert)
        expect(r.certificateAuthorities?.map(toHex)).to.deep.equal(v.certificateAuthorities)
        expect(r.oidFilters?.map((f) => ({ oid: toHex(f.oid), values: toHex(f.values) }))).to.deep.equal(v.oidFilters)
        expect(r.statusRequest).to.equal(v.statusRequest ?? false)
        expect(r.signedCertificateTimestamp).to.equal(v.signedCertificateTimestamp ?? false)
        expect(r.serverName).to.deep.equal(v.serverName)
        expect(r.extensions.map((e) => e.type)).to.deep.equal(v.extensionTypes)
        expect(toHex(r.raw)).to.equal(v.hex)
      })
      if (v.reencode) {
        it(`re-encodes ${v.name} byte for byte`, () => {
          expect(toHex(encodeCertificateRequest(initOf(decodeCertificateRequest(bytesOf(v)))))).to.equal(v.hex)
        })
      }
      it(`rejects every truncated prefix of ${v.name}`, () => {
        expectEveryPrefixRejected(bytesOf(v), (b) => decodeCertificateRequest(b))
      })
    }
  })

  describe('invalid vectors', () => {
    for (const v of vectors.invalid) {
      it(`rejects ${v.name}`, () => {
        expectDecodeError(() => decodeCertificateRequest(bytesOf(v)), {
          ...(v.structure === undefined ? {} : { structure: v.structure }),
          ...(v.offset === undefined ? {} : { offset: v.offset }),
        })
      })
    }
  })

  it('encodes the digest §12 request byte for byte', () => {
    const out = encodeCertificateRequest({
      context: CTX16,
      signatureAlgorithms: [SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.rsa_pss_rsae_sha256],
    })
    expect(out.length).to.equal(33)
    expect(toHex(out)).to.equal(toHex(DIGEST_REQUEST))
  })

  it('encodes type 17 with the ClientCertificateRequest header', () => {
    const out = encodeCertificateRequest({ type: 17, context: CTX16, signatureAlgorithms: [0x0403, 0x0804] })
    expect(toHex(out)).to.equal('11' + toHex(DIGEST_REQUEST).slice(2))
  })

  it('keeps unknown extensions in wire order and ignores their contents', () => {
    const unknown = [
      { type: 0xfafa, data: hex('deadbeef') },
      { type: 0x001b, data: hex('020001') }, // compress_certificate: CR in IANA, no meaning here
    ]
    const out = encodeCertificateRequest({ context: CTX16, signatureAlgorithms: [0x0807], extraExtensions: unknown })
    const r = decodeCertificateRequest(out)
    expect(r.extensions.map((e) => e.type)).to.deep.equal([ExtensionType.signature_algorithms, 0xfafa, 0x001b])
    expect(toHex(r.extensions[1]!.data)).to.equal('deadbeef')
    expect(r.signatureAlgorithms).to.deep.equal([0x0807])
  })

  it('parses server_name only in a type 17 request', () => {
    const sni = vec(2, cat(hex('00'), vec(2, ascii('example.com'))))
    const body = (t: number) => handshake(t, cat(vec(1, CTX16), vec(2, cat(ext(0x0d, vec(2, hex('0403'))), ext(0, sni)))))
    expect(decodeCertificateRequest(body(17)).serverName).to.deep.equal(['example.com'])
    const r13 = decodeCertificateRequest(body(13))
    expect(r13.serverName).to.equal(undefined)
    expect(r13.extensions.map((e) => e.type)).to.deep.equal([0x0d, 0])
  })

  it('skips server_name entries of other name types', () => {
    const sni = vec(2, cat(hex('01'), vec(2, hex('aa')), hex('00'), vec(2, ascii('a.example'))))
    const bytes = handshake(17, cat(vec(1, new Uint8Array()), vec(2, cat(ext(0x0d, vec(2, hex('0403'))), ext(0, sni)))))
    expect(decodeCertificateRequest(bytes).serverName).to.deep.equal(['a.example'])
  })

  it('rejects a handshake type outside `accept`', () => {
    expectDecodeError(() => decodeCertificateRequest(DIGEST_REQUEST, [HandshakeType.client_certificate_request]), {
      structure: 'CertificateRequest',
    })
    expect(decodeCertificateRequest(DIGEST_REQUEST, [HandshakeType.certificate_request]).type).to.equal(13)
  })

  it('rejects every handshake type other than 13 and 17', () => {
    for (let t = 0; t < 256; t++) {
      if (t === 13 || t === 17) continue
      const bytes = DIGEST_REQUEST.slice()
      bytes[0] = t
      expectDecodeError(() => decodeCertificateRequest(bytes), { structure: 'CertificateRequest' })
    }
  })

  it('rejects any number of trailing bytes', () => {
    for (const tail of ['00', '0d', '0d00001d', 'ffffffffff']) {
      expectDecodeError(() => decodeCertificateRequest(cat(DIGEST_REQUEST, hex(tail))), { offset: 33 })
    }
  })

  it('rejects a header length that disagrees with the body in either direction', () => {
    for (let len = 0; len < 40; len++) {
      if (len === 29) continue
      const bytes = DIGEST_REQUEST.slice()
      bytes[3] = len
      expectDecodeError(() => decodeCertificateRequest(bytes))
    }
  })

  it('decodes the fizz headerless request once the RFC 9261 header is added', () => {
    const body = hex(fizz.headerlessRequestTwoSchemes)
    const r = decodeCertificateRequest(handshake(13, body))
    expect(new TextDecoder().decode(r.context)).to.equal('0123456789abcdefghij')
    expect(r.signatureAlgorithms).to.deep.equal([0x0403, 0x0804])
    // and our encoder reproduces fizz's bytes after the 4-byte header
    const out = encodeCertificateRequest({ context: r.context, signatureAlgorithms: [0x0403, 0x0804] })
    expect(toHex(out.subarray(4))).to.equal(fizz.headerlessRequestTwoSchemes)
    const one = encodeCertificateRequest({ context: r.context, signatureAlgorithms: [0x0403] })
    expect(toHex(one.subarray(4))).to.equal(fizz.authenticatorTest.request)
  })

  it('rejects the fizz headerless request as an RFC 9261 request', () => {
    expectDecodeError(() => decodeCertificateRequest(hex(fizz.headerlessRequestTwoSchemes)))
  })

  it('returns views of the input for context and extension data', () => {
    const r = decodeCertificateRequest(DIGEST_REQUEST)
    expect(r.context.buffer).to.equal(DIGEST_REQUEST.buffer)
    expect(r.context.byteOffset).to.equal(5)
    expect(r.raw).to.equal(DIGEST_REQUEST)
  })

  describe('encoder refuses impossible requests (ERR_SC_USAGE)', () => {
    const base = { context: CTX16, signatureAlgorithms: [0x0403] }
    it('no signature schemes', () => expectUsageError(() => encodeCertificateRequest({ ...base, signatureAlgorithms: [] })))
    it('empty signature_algorithms_cert', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, signatureAlgorithmsCert: [] })))
    it('a context of 256 bytes', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, context: new Uint8Array(256) })))
    it('a handshake type other than 13 or 17', () => {
      for (const type of [0, 11, 14, 20, 256]) expectUsageError(() => encodeCertificateRequest({ ...base, type }))
    })
    it('server_name in a type 13 request', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, serverName: 'example.com' })))
    it('an empty certificate_authorities list', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, certificateAuthorities: [] })))
    it('an empty DistinguishedName', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, certificateAuthorities: [new Uint8Array()] })))
    it('an empty OID in oid_filters', () =>
      expectUsageError(() =>
        encodeCertificateRequest({ ...base, oidFilters: [{ oid: new Uint8Array(), values: new Uint8Array() }] }),
      ))
    it('an extra extension that duplicates a known one', () =>
      expectUsageError(() =>
        encodeCertificateRequest({ ...base, extraExtensions: [{ type: ExtensionType.signature_algorithms, data: hex('00020403') }] }),
      ))
    it('two extra extensions of the same type', () =>
      expectUsageError(() =>
        encodeCertificateRequest({
          ...base,
          extraExtensions: [
            { type: 0xfafa, data: new Uint8Array() },
            { type: 0xfafa, data: new Uint8Array() },
          ],
        }),
      ))
    it('a scheme list too long for its 2-byte length', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, signatureAlgorithms: new Array<number>(32768).fill(0x0403) })))
    it('an extension longer than 65535 bytes', () =>
      expectUsageError(() =>
        encodeCertificateRequest({ ...base, extraExtensions: [{ type: 0xfafa, data: new Uint8Array(0x10000) }] }),
      ))
    it('a scheme codepoint outside uint16', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, signatureAlgorithms: [0x10403] })))
    it('an extension type outside uint16', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, extraExtensions: [{ type: -1, data: new Uint8Array() }] })))
    it('an empty server_name host name', () =>
      expectUsageError(() => encodeCertificateRequest({ ...base, type: 17, serverName: '' })))
  })
})
