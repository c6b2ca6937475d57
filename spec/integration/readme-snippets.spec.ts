/**
 * The README's snippets run as written (issue 10 item 2). Each snippet lives between
 * `// README:begin <id>` and `// README:end` in examples/readme/*.ts (type-checked with the
 * specs); here we check that README.md holds exactly that text (imports spelled with the package
 * name) and then drive the snippet's server with the client kinds that broke it before: a plain
 * HTTP/2 client, HTTP/1.1, our extension client. Editing a snippet in one place only fails here.
 */
import { expect } from 'chai'
import { readFileSync, readdirSync } from 'node:fs'
import type http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import * as api from '../../lib/index.js'
import type { ServerCertificateEvent } from '../../lib/index.js'
import { extensionClient, h2Request, http1Request, plainH2 } from './bad-input/clients.js'

const ROOT = new URL('../../', import.meta.url)
const README = readFileSync(new URL('README.md', ROOT), 'utf8')
const FIXTURES = new URL('examples/readme/', ROOT)

/** Removes the common leading indentation of the non-empty lines. */
function dedent(lines: readonly string[]): string {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length)
  const n = indents.length ? Math.min(...indents) : 0
  return lines.map((l) => l.slice(n)).join('\n')
}

/** Marked regions of one fixture file, per id (several regions of an id are joined by a blank line). */
function regions(text: string): Map<string, string> {
  const parts = new Map<string, string[]>()
  let id: string | undefined
  let buf: string[] = []
  for (const line of text.split('\n')) {
    const begin = /^\s*\/\/ README:begin (\S+)/.exec(line)
    if (begin) {
      id = begin[1]!
      buf = []
    } else if (/^\s*\/\/ README:end/.test(line)) {
      if (id === undefined) throw new Error('README:end without begin')
      parts.set(id, [...(parts.get(id) ?? []), dedent(buf).replace(/^\n+|\n+$/g, '')])
      id = undefined
    } else if (id !== undefined) {
      buf.push(line)
    }
  }
  const out = new Map<string, string>()
  for (const [k, v] of parts) {
    out.set(k, v.join('\n\n').replaceAll("'../../lib/index.js'", "'h2-secondary-certs'").replaceAll("'../../lib/fastify.js'", "'h2-secondary-certs/fastify'"))
  }
  return out
}

/** The ```ts blocks of the README, trimmed. */
function readmeBlocks(): string[] {
  return [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\n+$/, ''))
}

/** Names imported from the package (either entry point) in the README's blocks. */
function importedNames(): string[] {
  const names = new Set<string>()
  for (const m of README.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'h2-secondary-certs(?:\/errors)?'/g)) {
    for (const n of m[1]!.split(',')) if (n.trim()) names.add(n.trim().replace(/^type\s+/, ''))
  }
  return [...names]
}

describe('README snippets run as written', function () {
  this.timeout(20000)

  const snippets = new Map<string, string>()
  for (const f of readdirSync(FIXTURES)) {
    if (!f.endsWith('.ts')) continue
    for (const [id, text] of regions(readFileSync(new URL(f, FIXTURES), 'utf8'))) snippets.set(id, text)
  }

  it('has a fixture for the server, client, route protection and Fastify snippets', () => {
    expect([...snippets.keys()].sort()).to.include.members(['fastify', 'http2-client', 'http2-server', 'route-protection'])
  })

  for (const [id, text] of snippets) {
    it(`README.md holds the ${id} snippet verbatim`, () => {
      expect(readmeBlocks(), `README block for ${id}`).to.include(text)
    })
  }

  it('exports every name the README imports from the package', () => {
    const indexText = ['lib/index.ts', 'lib/server.ts', 'lib/client.ts', 'lib/errors.ts']
      .map((p) => readFileSync(new URL(p, ROOT), 'utf8'))
      .join('\n')
    const missing = importedNames().filter((n) => !(n in api) && !new RegExp(`export type \\{[^}]*\\b${n}\\b`).test(indexText))
    expect(missing).to.deep.equal([])
  })

  describe('the HTTP/2 server snippet', () => {
    let server: http2.Http2SecureServer
    let port: number
    let pki: Awaited<typeof import('../../examples/readme/setup.js')>['pki']
    const sessions: http2.ClientHttp2Session[] = []

    before(async () => {
      ;({ server } = await import('../../examples/readme/http2-server.js'))
      ;({ pki } = await import('../../examples/readme/setup.js'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      port = (server.address() as AddressInfo).port
    })

    after(async () => {
      for (const s of sessions) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })

    it('answers a plain HTTP/2 client (native path) with 403 instead of crashing', async () => {
      const c = plainH2(port, pki.caPem)
      sessions.push(c)
      const r = await h2Request(c, '/')
      expect(r.status).to.equal(403)
      expect(r.body).to.match(/needs HTTP\/2 secondary certificates/)
    })

    it('asks an extension client for a device and a user', async () => {
      const c = extensionClient(port, pki)
      sessions.push(c)
      const r = await h2Request(c, '/')
      expect(r.status).to.equal(200)
      expect(JSON.parse(r.body)).to.deep.equal(['identity', 'identity'])
    })

    it('the HTTP/2 client snippet connects to it and sees the secondary server certificate', async () => {
      const { readmeClient } = await import('../../examples/readme/http2-client.js')
      const logged: unknown[][] = []
      const c = readmeClient(`https://localhost:${port}`, (...args) => logged.push(args))
      sessions.push(c)
      c.on('error', () => {})
      expect((await h2Request(c, '/')).status).to.equal(200)
      expect(logged).to.deep.equal([[true, ['other.localhost']]])
    })
  })

  describe('the route protection snippet', () => {
    let server: http2.Http2SecureServer
    let port: number
    let pki: Awaited<typeof import('../../examples/readme/setup.js')>['pki']
    const sessions: http2.ClientHttp2Session[] = []

    before(async () => {
      ;({ server } = await import('../../examples/readme/route-protection.js'))
      ;({ pki } = await import('../../examples/readme/setup.js'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      port = (server.address() as AddressInfo).port
    })

    after(async () => {
      for (const s of sessions) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })

    it('lets the test PKI device and user in', async () => {
      const c = extensionClient(port, pki)
      sessions.push(c)
      const r = await h2Request(c, '/')
      expect(r.status, r.body).to.equal(200)
      expect(r.body).to.equal('welcome')
    })

    it('answers HTTP/1.1 with 403 problem+json naming HTTP/2 secondary certificates', async () => {
      const r = await http1Request(port, pki.caPem, '/')
      expect(r.status).to.equal(403)
      expect(r.type).to.contain('application/problem+json')
      expect(JSON.parse(r.body).detail).to.match(/this route needs HTTP\/2 secondary certificates/)
    })

    it('answers a plain HTTP/2 client with 403 not-supported', async () => {
      const c = plainH2(port, pki.caPem)
      sessions.push(c)
      const r = await h2Request(c, '/')
      expect(r.status).to.equal(403)
      expect(JSON.parse(r.body).missing[0].reason).to.equal('not-supported')
    })
  })

  describe('the Fastify snippet', () => {
    let app: Awaited<typeof import('../../examples/readme/fastify.js')>['app']
    let port: number
    let pki: Awaited<typeof import('../../examples/readme/setup.js')>['pki']
    const sessions: http2.ClientHttp2Session[] = []

    before(async () => {
      ;({ app } = await import('../../examples/readme/fastify.js'))
      ;({ pki } = await import('../../examples/readme/setup.js'))
      await app.listen({ port: 0, host: '127.0.0.1' })
      port = (app.server.address() as AddressInfo).port
    })

    after(async () => {
      for (const s of sessions) s.destroy()
      await app.close()
    })

    it('serves /whoami to a device and a user', async () => {
      const c = extensionClient(port, pki)
      sessions.push(c)
      const r = await h2Request(c, '/whoami')
      expect(r.status, r.body).to.equal(200)
      expect(JSON.parse(r.body).identities.map((i: string[]) => i[0])).to.deep.equal(['device', 'user'])
    })

    it('answers a plain HTTP/2 client with 403 problem+json', async () => {
      const c = plainH2(port, pki.caPem)
      sessions.push(c)
      const r = await h2Request(c, '/whoami')
      expect(r.status).to.equal(403)
      expect(r.type).to.contain('application/problem+json')
    })
  })
})

// The client snippet's listener is typed: `ev` is a ServerCertificateEvent.
export type SnippetEvent = ServerCertificateEvent
