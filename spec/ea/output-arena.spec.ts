import { expect } from 'chai'
import { BLOCK_MAX, OutputArena, POOLED_MAX } from '../../lib/ea/output-arena.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { createTestPki } from '../../lib/pki/test-pki.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'

/** Whether two views share any byte of the same ArrayBuffer. */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer) return false
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
}

describe('OutputArena (issue 14: authenticator outputs of one connection)', () => {
  it('gives the first output a buffer of its own, later ones views of a shared block', () => {
    const arena = new OutputArena()
    const first = arena.alloc(1190)
    expect(first.byteOffset).to.equal(0)
    expect(first.buffer.byteLength).to.equal(1190)
    const second = arena.alloc(1190)
    const third = arena.alloc(1190)
    expect(second.buffer).to.equal(third.buffer)
    expect(second.buffer).to.not.equal(first.buffer)
    expect(overlap(second, third)).to.equal(false)
    expect(second.length).to.equal(1190)
    expect(third.length).to.equal(1190)
  })

  it('hands out zero-filled, non-overlapping views, blocks never above BLOCK_MAX', () => {
    const arena = new OutputArena()
    const views: Uint8Array[] = []
    for (let i = 0; i < 200; i++) {
      const n = 1 + ((i * 977) % 3000)
      const v = arena.alloc(n)
      expect(v.length).to.equal(n)
      expect(v.every((x) => x === 0)).to.equal(true)
      expect(v.buffer.byteLength).to.be.at.most(Math.max(BLOCK_MAX, n))
      v.fill(0xa5)
      views.push(v)
    }
    for (let i = 0; i < views.length; i++) {
      for (let j = i + 1; j < views.length; j++) expect(overlap(views[i]!, views[j]!), `${i} vs ${j}`).to.equal(false)
    }
    expect(views.every((v) => v.every((x) => x === 0xa5))).to.equal(true)
  })

  it('gives outputs above POOLED_MAX (ML-DSA chains) buffers of their own', () => {
    const arena = new OutputArena()
    arena.alloc(100)
    arena.alloc(100)
    const big = arena.alloc(POOLED_MAX + 1)
    expect(big.byteOffset).to.equal(0)
    expect(big.buffer.byteLength).to.equal(POOLED_MAX + 1)
  })

  it('never shares a buffer between two connections; every shared output still validates', async () => {
    const pki = await createTestPki({ keyType: 'p256' })
    const cred = { chain: pki.user.chainDer, key: nodeCrypto.importPrivateKey(pki.user.keyPem) }
    const pair = (): { server: ExportedAuthenticators; client: ExportedAuthenticators } => {
      const exporter = fakeExporter()
      return {
        server: new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider: nodeCrypto }),
        client: new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider: nodeCrypto }),
      }
    }
    const a = pair()
    const b = pair()
    const outs: { conn: string; auth: Uint8Array; request: Uint8Array; server: ExportedAuthenticators }[] = []
    for (let i = 0; i < 30; i++) {
      for (const [name, c] of [['a', a], ['b', b]] as const) {
        const request = c.server.request({ signatureAlgorithms: [0x0403] })
        outs.push({ conn: name, auth: c.client.authenticate({ request, credential: cred }), request, server: c.server })
      }
    }
    for (const x of outs) {
      for (const y of outs) {
        if (x.conn !== y.conn) expect(x.auth.buffer).to.not.equal(y.auth.buffer)
        else if (x !== y) expect(overlap(x.auth, y.auth)).to.equal(false)
      }
    }
    // Some outputs did come from a shared block (the arena is in use), and all of them validate.
    expect(outs.filter((x) => x.auth.byteOffset > 0).length).to.be.greaterThan(20)
    for (const x of outs) expect(x.server.validate(x.auth, { request: x.request }).kind).to.equal('identity')
  })
})
