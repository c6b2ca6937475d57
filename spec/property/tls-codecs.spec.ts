import { expect } from 'chai'
import fc from 'fast-check'
import { ByteReader } from '../../lib/wire/byte-reader.js'
import { ByteWriter } from '../../lib/wire/byte-writer.js'
import { decodeVarint, encodeVarint, varintSize } from '../../lib/wire/varint.js'
import { decodeCertificateRequest, encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import type { CertificateRequest, CertificateRequestInit } from '../../lib/wire/tls/certificate-request.js'
import { decodeCertificate, encodeCertificate } from '../../lib/wire/tls/certificate.js'
import type { Certificate } from '../../lib/wire/tls/certificate.js'
import { decodeCertificateVerify, encodeCertificateVerify } from '../../lib/wire/tls/certificate-verify.js'
import { decodeFinished, encodeFinished } from '../../lib/wire/tls/finished.js'
import { authenticatorContext, decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
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
} from '../../lib/wire/tls/extensions.js'
import type { Extension } from '../../lib/wire/tls/extensions.js'
import { cat, toHex } from '../support/hex.js'

// Fixed seed: failures are reproducible; counts keep the whole file at about a second.
const SEED = 0x9261
const RUNS = 1000

const KNOWN_REQUEST_EXTENSIONS = new Set([0x0000, 0x0005, 0x000d, 0x0012, 0x002f, 0x0030, 0x0032])

const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength })
const u16 = fc.integer({ min: 0, max: 0xffff })
const schemes = fc.array(u16, { minLength: 1, maxLength: 24 })
const extensions = (maxLength: number, exclude: ReadonlySet<number> = new Set()) =>
  fc.uniqueArray(
    fc.record({ type: u16.filter((t) => !exclude.has(t)), data: bytes(0, 40) }),
    { maxLength, selector: (e) => e.type },
  )

const requestInit: fc.Arbitrary<CertificateRequestInit> = fc
  .record({
    type: fc.constantFrom(13, 17),
    context: bytes(0, 255),
    signatureAlgorithms: schemes,
    signatureAlgorithmsCert: fc.option(schemes, { nil: undefined }),
    certificateAuthorities: fc.option(fc.array(bytes(1, 60), { minLength: 1, maxLength: 4 }), { nil: undefined }),
    oidFilters: fc.option(fc.array(fc.record({ oid: bytes(1, 20), values: bytes(0, 30) }), { maxLength: 3 }), { nil: undefined }),
    statusRequest: fc.boolean(),
    signedCertificateTimestamp: fc.boolean(),
    serverName: fc.option(fc.domain(), { nil: undefined }),
    extraExtensions: extensions(4, KNOWN_REQUEST_EXTENSIONS),
  })
  .map((r) => {
    // server_name exists only in type 17 requests; drop undefined optionals (exactOptionalPropertyTypes)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) if (v !== undefined && !(k === 'serverName' && r.type !== 17)) out[k] = v
    return out as unknown as CertificateRequestInit
  })

const certificate: fc.Arbitrary<Certificate> = fc.record({
  context: bytes(0, 255),
  entries: fc.array(fc.record({ certData: bytes(1, 120), extensions: extensions(4) }), { maxLength: 4 }),
})

const hexExts = (exts: readonly Extension[]) => exts.map((e) => [e.type, toHex(e.data)])

/** The encoder input that reproduces a decoded request: known fields, then the unknown ones as they came. */
function initOf(r: CertificateRequest): CertificateRequestInit {
  const init: Record<string, unknown> = {
    type: r.type,
    context: r.context,
    signatureAlgorithms: r.signatureAlgorithms,
    statusRequest: r.statusRequest,
    signedCertificateTimestamp: r.signedCertificateTimestamp,
    extraExtensions: r.extensions.filter((e) => !KNOWN_REQUEST_EXTENSIONS.has(e.type)),
  }
  if (r.signatureAlgorithmsCert) init['signatureAlgorithmsCert'] = r.signatureAlgorithmsCert
  if (r.certificateAuthorities) init['certificateAuthorities'] = r.certificateAuthorities
  if (r.oidFilters) init['oidFilters'] = r.oidFilters
  if (r.serverName?.[0] !== undefined) init['serverName'] = r.serverName[0]
  return init as unknown as CertificateRequestInit
}

describe('property: TLS codecs round-trip', () => {
  it('CertificateRequest (types 13/17): decode∘encode keeps every field, encode∘decode keeps every byte', () => {
    fc.assert(
      fc.property(requestInit, (init) => {
        const wire = encodeCertificateRequest(init)
        const r = decodeCertificateRequest(wire)
        expect(r.type).to.equal(init.type)
        expect(toHex(r.context)).to.equal(toHex(init.context))
        expect(r.signatureAlgorithms).to.deep.equal(init.signatureAlgorithms)
        expect(r.signatureAlgorithmsCert).to.deep.equal(init.signatureAlgorithmsCert)
        expect(r.certificateAuthorities?.map(toHex)).to.deep.equal(init.certificateAuthorities?.map(toHex))
        expect(r.oidFilters?.map((f) => [toHex(f.oid), toHex(f.values)])).to.deep.equal(
          init.oidFilters?.map((f) => [toHex(f.oid), toHex(f.values)]),
        )
        expect(r.statusRequest).to.equal(init.statusRequest ?? false)
        expect(r.signedCertificateTimestamp).to.equal(init.signedCertificateTimestamp ?? false)
        expect(r.serverName).to.deep.equal(init.serverName === undefined ? undefined : [init.serverName])
        expect(hexExts(r.extensions.filter((e) => !KNOWN_REQUEST_EXTENSIONS.has(e.type)))).to.deep.equal(
          hexExts(init.extraExtensions ?? []),
        )
        expect(toHex(encodeCertificateRequest(initOf(r)))).to.equal(toHex(wire))
      }),
      { seed: SEED, numRuns: RUNS },
    )
  })

  it('Certificate: decode∘encode and encode∘decode are identities', () => {
    fc.assert(
      fc.property(certificate, (c) => {
        const wire = encodeCertificate(c)
        const d = decodeCertificate(wire)
        expect(toHex(d.context)).to.equal(toHex(c.context))
        expect(d.entries.map((e) => [toHex(e.certData), hexExts(e.extensions)])).to.deep.equal(
          c.entries.map((e) => [toHex(e.certData), hexExts(e.extensions)]),
        )
        expect(toHex(encodeCertificate(d))).to.equal(toHex(wire))
      }),
      { seed: SEED, numRuns: RUNS },
    )
  })

  it('CertificateVerify and Finished round-trip', () => {
    fc.assert(
      fc.property(u16, bytes(0, 600), bytes(0, 64), (algorithm, signature, verifyData) => {
        const cv = decodeCertificateVerify(encodeCertificateVerify({ algorithm, signature }))
        expect(cv.algorithm).to.equal(algorithm)
        expect(toHex(cv.signature)).to.equal(toHex(signature))
        expect(toHex(decodeFinished(encodeFinished({ verifyData })).verifyData)).to.equal(toHex(verifyData))
      }),
      { seed: SEED, numRuns: RUNS },
    )
  })

  it('an encoded authenticator splits back into its three messages, and an empty one into its Finished', () => {
    fc.assert(
      fc.property(certificate, u16, bytes(0, 200), bytes(0, 64), (c, algorithm, signature, verifyData) => {
        const parts = [encodeCertificate(c), encodeCertificateVerify({ algorithm, signature }), encodeFinished({ verifyData })] as const
        const a = decodeAuthenticator(cat(...parts))
        if (a.kind !== 'full') throw new Error('expected full')
        expect([a.rawCertificate, a.rawCertificateVerify, a.rawFinished].map(toHex)).to.deep.equal(parts.map(toHex))
        expect(toHex(authenticatorContext(cat(...parts))!)).to.equal(toHex(c.context))
        const e = decodeAuthenticator(parts[2])
        expect(e.kind).to.equal('empty')
      }),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('varint: every safe integer round-trips in the shortest form, and longer forms decode too', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 0, max: 16383 }),
      fc.integer({ min: 0, max: 2 ** 30 - 1 }),
      fc.maxSafeNat(),
    )
    fc.assert(
      fc.property(value, fc.constantFrom(1, 2, 4, 8), (v, wider) => {
        const enc = encodeVarint(v)
        expect(enc.length).to.equal(varintSize(v))
        expect(decodeVarint(enc, 0)).to.deep.equal({ value: v, size: enc.length })
        const size = Math.max(wider, enc.length)
        const long = new Uint8Array(size)
        for (let i = size - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) long[i] = x % 256
        long[0]! |= { 1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0 }[size]!
        expect(decodeVarint(cat(new Uint8Array([0xff]), long), 1)).to.deep.equal({ value: v, size })
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('extension blocks and the request extension bodies round-trip', () => {
    fc.assert(
      fc.property(
        extensions(8),
        schemes,
        fc.array(bytes(1, 40), { minLength: 1, maxLength: 5 }),
        fc.array(fc.record({ oid: bytes(1, 30), values: bytes(0, 30) }), { maxLength: 4 }),
        fc.domain(),
        (exts, sch, names, filters, host) => {
          const w = new ByteWriter()
          writeExtensions(w, exts)
          const r = new ByteReader(w.finish(), 'X')
          expect(hexExts(readExtensions(r, 0, 'X'))).to.deep.equal(hexExts(exts))
          r.end()
          expect(decodeSignatureSchemeList(encodeSignatureSchemeList(sch), 0, 'S')).to.deep.equal(sch)
          expect(decodeCertificateAuthorities(encodeCertificateAuthorities(names), 0, 'C').map(toHex)).to.deep.equal(names.map(toHex))
          expect(decodeOidFilters(encodeOidFilters(filters), 0, 'O').map((f) => [toHex(f.oid), toHex(f.values)])).to.deep.equal(
            filters.map((f) => [toHex(f.oid), toHex(f.values)]),
          )
          expect(decodeServerNameList(encodeServerNameList([host]), 0, 'N')).to.deep.equal([host])
        },
      ),
      { seed: SEED, numRuns: RUNS },
    )
  })
})
