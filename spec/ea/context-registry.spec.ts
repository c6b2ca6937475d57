import { expect } from 'chai'
import fc from 'fast-check'
import { ContextRegistry } from '../../lib/ea/context-registry.js'

const key = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

/** Runs a random sequence of reads and writes against the registry and a plain Map. */
function agreesWithMap(make: () => ContextRegistry): void {
  fc.assert(
    fc.property(
      // Short contexts collide on purpose (many repeats of the same bytes); up to 255 bytes (RFC 9261 §4).
      fc.array(
        fc.tuple(
          fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 2 }), fc.uint8Array({ minLength: 0, maxLength: 255 })),
          fc.integer({ min: 1, max: 7 }),
          fc.boolean(),
        ),
        { minLength: 1, maxLength: 200 },
      ),
      (ops) => {
        const r = make()
        const ref = new Map<string, number>()
        for (const [ctx, bits, write] of ops) {
          if (write) {
            r.set(ctx, bits)
            ref.set(key(ctx), bits)
          }
          expect(r.get(ctx)).to.equal(ref.get(key(ctx)) ?? 0)
        }
        expect(r.size).to.equal(ref.size)
        for (const [k, v] of ref) expect(r.get(Buffer.from(k, 'latin1'))).to.equal(v)
      },
    ),
    { numRuns: 120 },
  )
}

describe('ea/context-registry (RFC 9261 §4 context bookkeeping)', () => {
  it('answers exactly as a Map keyed by the bytes, for random contexts of 0–255 bytes', () => {
    agreesWithMap(() => new ContextRegistry(0x1234567))
  })

  it('stays exact when every context has the same hash (all go through the overflow map)', () => {
    agreesWithMap(() => new ContextRegistry(0, () => 0))
  })

  it('stays exact when hashes collide by length only', () => {
    agreesWithMap(() => new ContextRegistry(0, (c) => c.length))
  })

  it('keeps its own copy: changing the caller\'s bytes afterwards changes nothing', () => {
    const r = new ContextRegistry(7)
    const c = Uint8Array.from([1, 2, 3, 4])
    r.set(c, 1)
    c[0] = 9
    expect(r.get(Uint8Array.from([1, 2, 3, 4]))).to.equal(1)
    expect(r.get(c)).to.equal(0)
  })

  it('tells the empty context apart from any other and holds thousands of 32-byte contexts', () => {
    const r = new ContextRegistry(99)
    r.set(new Uint8Array(0), 4)
    const all: Uint8Array[] = []
    for (let i = 0; i < 5000; i++) {
      const c = new Uint8Array(32)
      new DataView(c.buffer).setUint32(0, i * 2654435761)
      new DataView(c.buffer).setUint32(28, i)
      all.push(c)
      r.set(c, 1 + (i % 7))
    }
    expect(r.get(new Uint8Array(0))).to.equal(4)
    expect(r.get(new Uint8Array(1))).to.equal(0)
    all.forEach((c, i) => expect(r.get(c)).to.equal(1 + (i % 7)))
    expect(r.size).to.equal(5001)
  })
})
