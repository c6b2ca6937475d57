/**
 * The hot-path decoders (issue 14 item 4) against the reference decoders they front: on valid
 * inputs and on every kind of damage, both give deep-equal results or the same DecodeError
 * (structure, offset and detail). The fast paths return `undefined` at any anomaly and hand the
 * input to the reference, so a difference here means the fast path accepted something the
 * reference rejects, or decoded it differently.
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { DecodeError } from '../../../lib/errors.js'
import { decodeAuthenticator, decodeAuthenticatorReference, scanAuthenticator } from '../../../lib/wire/tls/authenticator.js'
import type { Authenticator } from '../../../lib/wire/tls/authenticator.js'
import {
  decodeCertificateRequest,
  decodeCertificateRequestReference,
  encodeCertificateRequest,
  scanPlainRequest,
} from '../../../lib/wire/tls/certificate-request.js'
import type { CertificateRequestInit } from '../../../lib/wire/tls/certificate-request.js'
import { encodeCertificate } from '../../../lib/wire/tls/certificate.js'
import { encodeCertificateVerify } from '../../../lib/wire/tls/certificate-verify.js'
import { encodeFinished } from '../../../lib/wire/tls/finished.js'
import { decodeSignatureSchemeList } from '../../../lib/wire/tls/extensions.js'
import { ByteReader } from '../../../lib/wire/byte-reader.js'

const RUNS = 1500

type Outcome = { ok: unknown } | { error: { structure: string; offset: number; detail: string } }

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: fn() }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
    return { error: { structure: e.structure, offset: e.offset, detail: e.detail } }
  }
}

const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength })
const u16 = fc.integer({ min: 0, max: 0xffff })
const extensions = (maxLength: number) =>
  fc.uniqueArray(fc.record({ type: u16, data: bytes(0, 24) }), { maxLength, selector: (e) => e.type })

/** Valid authenticators, full (Certificate || CertificateVerify || Finished) and empty. */
const fullAuthenticator = fc
  .record({
    context: bytes(0, 64),
    entries: fc.array(fc.record({ certData: bytes(1, 80), extensions: extensions(3) }), { maxLength: 4 }),
    algorithm: u16,
    signature: bytes(0, 120),
    verifyData: bytes(0, 64),
  })
  .map(({ context, entries, algorithm, signature, verifyData }) => {
    const c = encodeCertificate({ context, entries })
    const v = encodeCertificateVerify({ algorithm, signature })
    const f = encodeFinished({ verifyData })
    const out = new Uint8Array(c.length + v.length + f.length)
    out.set(c, 0)
    out.set(v, c.length)
    out.set(f, c.length + v.length)
    return out
  })
const emptyAuthenticator = bytes(0, 64).map((verifyData) => encodeFinished({ verifyData }))
const authenticator = fc.oneof(fullAuthenticator, emptyAuthenticator)

/** Damage of every kind: flipped bytes, truncation, extra bytes, a length field moved by ±1..3. */
function damaged(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      b: valid,
      kind: fc.constantFrom('flip', 'truncate', 'append', 'nudge', 'splice'),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      delta: fc.constantFrom(-3, -2, -1, 1, 2, 3),
      extra: bytes(1, 6),
    })
    .map(({ b, kind, at, value, delta, extra }) => {
      const out = new Uint8Array(b)
      if (out.length === 0) return extra
      const i = at % out.length
      switch (kind) {
        case 'flip':
          out[i] = value
          return out
        case 'truncate':
          return out.subarray(0, i)
        case 'append': {
          const longer = new Uint8Array(out.length + extra.length)
          longer.set(out)
          longer.set(extra, out.length)
          return longer
        }
        case 'nudge':
          out[i] = (out[i]! + delta) & 0xff
          return out
        default: {
          const spliced = new Uint8Array(out.length + extra.length)
          spliced.set(out.subarray(0, i))
          spliced.set(extra, i)
          spliced.set(out.subarray(i), i + extra.length)
          return spliced
        }
      }
    })
}

const requestInit: fc.Arbitrary<CertificateRequestInit> = fc
  .record({
    type: fc.constantFrom(13, 17),
    context: bytes(0, 64),
    signatureAlgorithms: fc.array(u16, { minLength: 1, maxLength: 12 }),
    statusRequest: fc.boolean(),
    signedCertificateTimestamp: fc.boolean(),
    certificateAuthorities: fc.option(fc.array(bytes(1, 30), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    extraExtensions: fc.uniqueArray(
      fc.record({ type: u16.filter((t) => ![0, 5, 13, 18, 47, 48, 50].includes(t)), data: bytes(0, 20) }),
      { maxLength: 20, selector: (e) => e.type },
    ),
  })
  .map((r) => {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v
    return out as unknown as CertificateRequestInit
  })
const request = requestInit.map((init) => encodeCertificateRequest(init))

describe('wire/tls/fast-decoders', () => {
  it('decodeAuthenticator equals the reference decoder on valid authenticators', () => {
    fc.assert(
      fc.property(authenticator, (b) => {
        const fast = outcome(() => decodeAuthenticator(b))
        expect(fast).to.have.property('ok')
        expect(fast).to.deep.equal(outcome(() => decodeAuthenticatorReference(b)))
      }),
      { numRuns: RUNS },
    )
  })

  it('decodeAuthenticator equals the reference decoder on damaged authenticators (results and errors)', () => {
    let errors = 0
    fc.assert(
      fc.property(damaged(authenticator), (b) => {
        const fast = outcome(() => decodeAuthenticator(b))
        if ('error' in fast) errors++
        expect(fast).to.deep.equal(outcome(() => decodeAuthenticatorReference(b)))
      }),
      { numRuns: RUNS * 2 },
    )
    // The damage must actually reach the error paths, or this test proves nothing.
    expect(errors).to.be.greaterThan(RUNS / 2)
  })

  it('scanAuthenticator (the validator\'s decoder) gives the reference fields and message offsets, or its error', () => {
    const scanOf = (a: Authenticator): unknown =>
      a.kind === 'empty'
        ? { kind: 'empty', verifyData: a.finished.verifyData }
        : {
            kind: 'full',
            context: a.certificate.context,
            entries: a.certificate.entries,
            algorithm: a.certificateVerify.algorithm,
            certificateEnd: a.rawCertificate.length,
            verifyEnd: a.rawCertificate.length + a.rawCertificateVerify.length,
          }
    fc.assert(
      fc.property(fc.oneof(authenticator, damaged(authenticator)), (b) => {
        const ref = outcome(() => decodeAuthenticatorReference(b))
        expect(outcome(() => scanAuthenticator(b))).to.deep.equal(outcome(() => scanOf(decodeAuthenticatorReference(b))))
        // The offsets locate the signature and the Finished's verify_data exactly.
        if ('ok' in ref && (ref.ok as Authenticator).kind === 'full') {
          const a = ref.ok as Authenticator & { kind: 'full' }
          const s = scanAuthenticator(b) as { certificateEnd: number; verifyEnd: number }
          expect(b.subarray(s.certificateEnd + 8, s.verifyEnd)).to.deep.equal(a.certificateVerify.signature)
          expect(b.subarray(s.verifyEnd + 4)).to.deep.equal(a.finished.verifyData)
        }
      }),
      { numRuns: RUNS * 2 },
    )
  })

  it('decodeAuthenticator: an entry with more than 16 extensions and a late duplicate goes to the reference error', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ type: 100 + i, data: new Uint8Array([i]) }))
    const ok = encodeCertificate({ context: new Uint8Array(1), entries: [{ certData: new Uint8Array([0x30]), extensions: many }] })
    const rest = [...encodeCertificateVerify({ algorithm: 0x0403, signature: new Uint8Array(8) }), ...encodeFinished({ verifyData: new Uint8Array(48) })]
    const good = new Uint8Array([...ok, ...rest])
    expect(outcome(() => decodeAuthenticator(good))).to.deep.equal(outcome(() => decodeAuthenticatorReference(good)))
    // Make extension 20 repeat the type of extension 1: offsets of the type fields are fixed.
    const dup = new Uint8Array(good)
    const firstType = 4 + 1 + 1 + 3 + 3 + 1 + 2
    const lastType = firstType + 19 * 5
    dup[lastType] = dup[firstType]!
    dup[lastType + 1] = dup[firstType + 1]!
    const r = outcome(() => decodeAuthenticator(dup))
    expect(r).to.have.property('error')
    expect(r).to.deep.equal(outcome(() => decodeAuthenticatorReference(dup)))
  })

  it('decodeCertificateRequest equals the reference decoder on valid requests, for each accepted type set', () => {
    fc.assert(
      fc.property(request, fc.constantFrom([13], [17], [13, 17]), (b, accept) => {
        expect(outcome(() => decodeCertificateRequest(b, accept))).to.deep.equal(
          outcome(() => decodeCertificateRequestReference(b, accept)),
        )
      }),
      { numRuns: RUNS },
    )
  })

  it('decodeCertificateRequest equals the reference decoder on damaged requests (results and errors)', () => {
    let errors = 0
    fc.assert(
      fc.property(damaged(request), (b) => {
        const fast = outcome(() => decodeCertificateRequest(b))
        if ('error' in fast) errors++
        expect(fast).to.deep.equal(outcome(() => decodeCertificateRequestReference(b)))
      }),
      { numRuns: RUNS * 2 },
    )
    expect(errors).to.be.greaterThan(RUNS / 2)
  })

  it('decodeCertificateRequest equals the reference decoder on hand-made framing edge cases', () => {
    const cases: number[][] = [
      [13, 0, 0, 3, 0, 0, 0], // empty extension block (needs >= 2 bytes)
      [13, 0, 0, 4, 0, 0, 1, 0], // extension block of length 1
      [13, 0, 0, 1, 0], // no extension block at all
      [13, 0, 0, 1, 5], // context longer than the body
      [13, 0, 0, 0], // empty body
      [13, 0, 0], // short header
      [17, 0, 0, 9, 0, 0, 6, 0, 13, 0, 2, 4, 3], // signature_algorithms data shorter than its length
      [13, 0, 0, 11, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3, 9], // trailing byte after the block
      [13, 0, 0, 15, 0, 0, 12, 0, 13, 0, 4, 0, 2, 4, 3, 0, 13, 0, 4, 0, 2, 4, 3], // duplicate type, block too long
      [13, 0, 0, 19, 0, 0, 16, 0, 13, 0, 4, 0, 2, 4, 3, 0, 13, 0, 4, 0, 2, 4, 3], // duplicate signature_algorithms
      [13, 0, 0, 10, 0, 0, 7, 0, 13, 0, 3, 0, 1, 4], // odd scheme list
      [11, 0, 0, 10, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3], // not a request type
    ]
    for (const c of cases) {
      const b = new Uint8Array(c)
      const ref = outcome(() => decodeCertificateRequestReference(b))
      expect(outcome(() => decodeCertificateRequest(b)), `input ${c.join(',')}`).to.deep.equal(ref)
    }
  })

  it('scanPlainRequest: what it accepts decodes in full to the same fields; it accepts every plain request', () => {
    // A plain request: only signature_algorithms (what request() makes by default).
    const plain = fc
      .record({ type: fc.constantFrom(13, 17), context: bytes(0, 255), signatureAlgorithms: fc.array(u16, { minLength: 1, maxLength: 40 }) })
      .map((init) => encodeCertificateRequest(init))
    let accepted = 0
    const check = (b: Uint8Array, accept: readonly number[], mustAccept: boolean): void => {
      const p = scanPlainRequest(b, accept)
      const full = outcome(() => decodeCertificateRequestReference(b, accept))
      if (mustAccept) expect(p, 'plain request not accepted').to.not.equal(undefined)
      if (p === undefined) return
      accepted++
      expect(full).to.have.property('ok')
      const req = (full as { ok: ReturnType<typeof decodeCertificateRequestReference> }).ok
      expect(req.extensions.map((e) => e.type)).to.deep.equal([13])
      expect(p.type).to.equal(req.type)
      expect(b.subarray(p.contextStart, p.contextStart + p.contextLength)).to.deep.equal(req.context)
      const schemes: number[] = []
      for (let i = p.schemesStart; i < p.schemesEnd; i += 2) schemes.push((b[i]! << 8) | b[i + 1]!)
      expect(schemes).to.deep.equal(req.signatureAlgorithms)
      expect(req.signatureAlgorithmsCert ?? req.certificateAuthorities ?? req.oidFilters ?? req.serverName).to.equal(undefined)
      expect(req.statusRequest || req.signedCertificateTimestamp).to.equal(false)
    }
    fc.assert(fc.property(plain, fc.constantFrom([13, 17]), (b, accept) => check(b, accept, true)), { numRuns: RUNS })
    fc.assert(
      fc.property(fc.oneof(damaged(plain), damaged(request), request), fc.constantFrom([13], [17], [13, 17]), (b, accept) =>
        check(b, accept, false),
      ),
      { numRuns: RUNS * 2 },
    )
    expect(accepted).to.be.greaterThan(RUNS)
  })

  it('decodeSignatureSchemeList: the fast path equals the reader on valid and damaged lists', () => {
    const reference = (d: Uint8Array): number[] => {
      const r = new ByteReader(d, 'X', 7)
      const list = r.subReader(2, 2, 0xfffe, 'supported_signature_algorithms', 'X')
      if (list.remaining % 2 !== 0) list.fail('odd length signature scheme list')
      const out: number[] = []
      while (!list.isAtEnd) out.push(list.u16('SignatureScheme'))
      r.end()
      return out
    }
    fc.assert(
      fc.property(fc.array(u16, { maxLength: 30 }), fc.integer({ min: -2, max: 2 }), fc.integer({ min: -1, max: 1 }), (list, lenDelta, sizeDelta) => {
        const d = new Uint8Array(Math.max(0, 2 + list.length * 2 + sizeDelta))
        const n = list.length * 2 + lenDelta
        d[0] = (n >>> 8) & 0xff
        if (d.length > 1) d[1] = n & 0xff
        for (let i = 0; i < list.length && 3 + 2 * i < d.length; i++) {
          d[2 + 2 * i] = list[i]! >>> 8
          d[3 + 2 * i] = list[i]! & 0xff
        }
        expect(outcome(() => decodeSignatureSchemeList(d, 7, 'X'))).to.deep.equal(outcome(() => reference(d)))
      }),
      { numRuns: RUNS },
    )
  })
})
