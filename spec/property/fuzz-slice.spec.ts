import { expect } from 'chai'
import { buildCorpus } from '../../interop/fuzz/corpus.js'
import type { Corpus } from '../../interop/fuzz/corpus.js'
import { buildTargets, OracleViolation } from '../../interop/fuzz/targets.js'
import type { Target } from '../../interop/fuzz/targets.js'
import { generate, runFuzz } from '../../interop/fuzz/engine.js'
import { mutate, sameBytes } from '../../interop/fuzz/mutators.js'
import { Rng } from '../../interop/fuzz/rng.js'

/** The fixed-seed slice of `npm run fuzz` that runs with every `npm test`. */
const SEED = 0x9261
const SLICE = 20000

describe('property/fuzz-slice', function () {
  this.timeout(30000)
  let corpus: Corpus
  let targets: Target[]

  before(async () => {
    corpus = await buildCorpus()
    targets = buildTargets(corpus)
  })

  it('builds a corpus whose valid authenticators validate (so "no mutation validates" means something)', () => {
    // buildCorpus throws when a seed answer does not validate; reaching here is the check.
    expect(corpus.pairs.length).to.be.greaterThan(1)
    expect(corpus.authenticators.some((s) => s.name.includes('empty'))).to.equal(true)
    expect(corpus.authenticators.some((s) => s.name.includes('full'))).to.equal(true)
    expect(corpus.requests.some((s) => s.bytes[0] === 13)).to.equal(true)
    expect(corpus.requests.some((s) => s.bytes[0] === 17)).to.equal(true)
  })

  it('generates the same mutation schedule for the same seed and index', () => {
    const a = generate(targets, SEED, 1234)
    const b = generate(targets, SEED, 1234)
    expect(a.target.name).to.equal(b.target.name)
    expect(a.ops).to.deep.equal(b.ops)
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).to.equal(true)
  })

  it('never returns the seed itself as a mutation', () => {
    const rng = new Rng(1)
    for (const s of corpus.authenticators) {
      for (let i = 0; i < 50; i++) expect(sameBytes(mutate(rng, s, corpus.authenticators).bytes, s.bytes)).to.equal(false)
    }
  })

  it(`runs ${SLICE} mutated inputs through every target with no crash, hang or broken invariant`, () => {
    const r = runFuzz({ targets, seed: SEED, count: SLICE, slowMs: 1000, timeLimitMs: 20000 })
    const summary = r.findings.map((f) => `${f.kind} ${f.target} #${f.index}: ${f.message}`)
    expect(summary).to.deep.equal([])
    expect(r.timedOut, 'slice did not finish in time').to.equal(false)
    expect(r.inputs).to.equal(SLICE)
    for (const t of targets) {
      const s = r.stats[t.name]!
      expect(s.inputs, t.name).to.be.greaterThan(SLICE / targets.length - 2)
      expect(s.rejected + s.accepted, t.name).to.equal(s.inputs)
    }
    // Mutations reach past the framing: every decoder accepts some mutated inputs.
    for (const name of ['decodeCertificateRequest', 'decodeAuthenticator', 'decodeAuthenticatorRequests', 'splitHandshakeMessages']) {
      expect(r.stats[name]!.accepted, name).to.be.greaterThan(0)
    }
    // And no mutated authenticator validated anywhere.
    for (const name of ['validate(answer)', 'validate(request)', 'validate(spontaneous)']) {
      expect(r.stats[name]!.accepted, name).to.equal(0)
    }
  })

  it('reports an untyped exception from a target as a finding', () => {
    const boom: Target = {
      name: 'boom',
      seeds: corpus.requests,
      allowedCodes: new Set(['ERR_SC_DECODE']),
      run() {
        throw new TypeError('not a typed error')
      },
    }
    const r = runFuzz({ targets: [boom], seed: 1, count: 3 })
    expect(r.findings.map((f) => f.kind)).to.deep.equal(['exception', 'exception', 'exception'])
    expect(r.findings[0]!.message).to.match(/TypeError/)
  })

  it('reports a broken invariant, times a once-slow input again before reporting it, and counts typed errors as rejected', () => {
    let n = 0
    const mixed: Target = {
      name: 'mixed',
      seeds: corpus.requests,
      allowedCodes: new Set(['ERR_SC_DECODE']),
      run() {
        n++
        if (n === 1) throw new OracleViolation('invariant')
        if (n === 2) {
          const until = Date.now() + 30
          while (Date.now() < until);
          return 'accepted'
        }
        throw Object.assign(new Error('typed'), { code: 'ERR_SC_DECODE' })
      },
    }
    const r = runFuzz({ targets: [mixed], seed: 1, count: 3, slowMs: 20 })
    // The slow input is timed again (n = 3, 4: typed errors, fast) and so not confirmed.
    expect(r.findings.map((f) => f.kind)).to.deep.equal(['oracle'])
    expect(r.stats.mixed!.retimed).to.equal(1)
    expect(r.stats.mixed!.rejected).to.equal(1)
  })

  it('reports an input that is slow every time it runs', () => {
    const slow: Target = {
      name: 'slow',
      seeds: corpus.requests,
      allowedCodes: new Set(),
      run() {
        const until = Date.now() + 25
        while (Date.now() < until);
        return 'accepted'
      },
    }
    const r = runFuzz({ targets: [slow], seed: 1, count: 1, slowMs: 20 })
    expect(r.findings.map((f) => f.kind)).to.deep.equal(['slow'])
  })
})
