/**
 * The bad-input matrix of issue 10 (items 2 and 6): every server surface × every client kind.
 * Each cell expects a clear answer (a status with a body naming why, or the connection refused or
 * closed), the server process alive, and a good extension connection opened *before* the bad
 * client still served afterwards. With BAD_INPUT_MATRIX_OUT=<file> the answers are written there
 * as JSON (the matrix in /work/notes/trust.md comes from such a run).
 */
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import type { FastifyInstance, RawServerBase } from 'fastify'
import { attachSecondaryCerts, createSecureServer } from '../../../lib/server.js'
import { fastifySecondaryCerts } from '../../../lib/fastify.js'
import { createCertificatePolicy } from '../../../lib/policy/certificate-policy.js'
import { requireIdentities, requireIdentitiesOnStream } from '../../../lib/binding/require-identities.js'
import type { IdentityRequirement } from '../../../lib/binding/require-identities.js'
import { writeTestPki } from '../../../lib/pki/test-pki.js'
import type { TestPki } from '../../../lib/pki/test-pki.js'
import { testPki } from '../../support/pki.js'
import {
  closeMidBody,
  closeMidBodyHttp1,
  closeMidExchange,
  closeMidHandshake,
  extensionClient,
  h2Request,
  http1Request,
  plainH2,
  randomGarbage,
  tls12,
} from './clients.js'

const BIN = fileURLToPath(new URL('../../../bin/h2sc.js', import.meta.url))

/** A running server surface. */
interface Surface {
  readonly port: number
  /** The route that needs a device and a user (or, for plain `serve`, asks for them). */
  readonly protectedPath: string
  /** False once the server process died (child surfaces); in-process ones crash mocha instead. */
  alive(): boolean
  close(): Promise<void>
}

type SurfaceName = 'compat+guard' | 'stream+guard' | 'attachSecondaryCerts' | 'fastify' | 'h2sc serve' | 'h2sc serve --require'

const NEEDS_HTTP2 = /this route needs HTTP\/2 secondary certificates/

function requirement(pki: TestPki): IdentityRequirement {
  return {
    needs: [{ label: 'device' }, { label: 'user' }],
    policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }),
    requestAnchors: [pki.caPem],
    timeoutMs: 3000,
  }
}

function compatHandler(pki: TestPki): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => Promise<void> {
  const guard = requireIdentities(requirement(pki))
  return async (req, res) => {
    if (req.url === '/protected') {
      if (!(await guard(req, res))) return
      res.end('welcome\n')
      return
    }
    res.end('public\n')
  }
}

function tracked(server: http2.Http2SecureServer): () => Promise<void> {
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s: import('node:net').Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
}

async function listen(server: http2.Http2SecureServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return (server.address() as AddressInfo).port
}

async function startSurface(name: SurfaceName, pki: TestPki, dir: string, children: ChildProcess[]): Promise<Surface> {
  const { keyPem: key, chainPem: cert } = pki.server
  switch (name) {
    case 'compat+guard': {
      const handler = compatHandler(pki)
      const server = createSecureServer({ key, cert, allowHTTP1: true, minVersion: 'TLSv1.2' }, (req, res) => void handler(req, res))
      const close = tracked(server)
      return { port: await listen(server), protectedPath: '/protected', alive: () => true, close }
    }
    case 'stream+guard': {
      const guard = requireIdentitiesOnStream(requirement(pki))
      const server = createSecureServer({ key, cert })
      server.on('stream', (stream, headers) => {
        void (async () => {
          if (headers[':path'] === '/protected' && !(await guard(stream))) return
          if (stream.destroyed) return
          stream.respond({ ':status': 200 })
          stream.end(headers[':path'] === '/protected' ? 'welcome\n' : 'public\n')
        })()
      })
      const close = tracked(server)
      return { port: await listen(server), protectedPath: '/protected', alive: () => true, close }
    }
    case 'attachSecondaryCerts': {
      const handler = compatHandler(pki)
      const server = http2.createSecureServer({ key, cert, allowHTTP1: true, minVersion: 'TLSv1.2' }, (req, res) => void handler(req, res))
      attachSecondaryCerts(server)
      const close = tracked(server)
      return { port: await listen(server), protectedPath: '/protected', alive: () => true, close }
    }
    case 'fastify': {
      const app = Fastify({ http2: true, https: { key, cert, allowHTTP1: true } }) as unknown as FastifyInstance<RawServerBase>
      await app.register(fastifySecondaryCerts, {
        policy: createCertificatePolicy({ anchors: [pki.caPem], preset: 'frank' }),
        requestAnchors: [pki.caPem],
        timeoutMs: 3000,
      })
      app.get('/', async () => 'public\n')
      app.route({ method: ['GET', 'POST'], url: '/protected', config: { requireIdentities: ['device', 'user'] }, handler: async () => 'welcome\n' })
      await app.listen({ port: 0, host: '127.0.0.1' })
      const port = (app.server.address() as AddressInfo).port
      return { port, protectedPath: '/protected', alive: () => true, close: () => app.close() }
    }
    case 'h2sc serve':
    case 'h2sc serve --require': {
      const args = ['serve', '--port', '0', '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server-key.pem'), '--ca', join(dir, 'ca.pem'), '--request', 'device,user', '--timeout-ms', '3000']
      if (name === 'h2sc serve --require') args.push('--require', 'device,user')
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(child)
      let exited = false
      child.on('exit', () => (exited = true))
      const port = await new Promise<number>((resolve, reject) => {
        let out = ''
        let err = ''
        const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20000)
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)
          if (m) {
            clearTimeout(t)
            resolve(Number(m[1]))
          }
        })
        child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
      })
      return {
        port,
        protectedPath: name === 'h2sc serve' ? '/whoami' : '/protected',
        alive: () => !exited,
        close: async () => {
          if (exited) return
          const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
          child.kill('SIGTERM')
          await gone
        },
      }
    }
  }
}

type ClientKind = 'HTTP/1.1' | 'plain HTTP/2' | 'extension' | 'TLS 1.2' | 'random bytes' | 'close mid-handshake' | 'close mid-exchange' | 'close mid-body'

/** What each surface lets HTTP/1.1 and TLS 1.2 do (configuration of the surface, not the library). */
const SPEAKS_HTTP1: Record<SurfaceName, boolean> = {
  'compat+guard': true,
  'stream+guard': false,
  attachSecondaryCerts: true,
  fastify: true,
  'h2sc serve': true,
  'h2sc serve --require': true,
}
const ALLOWS_TLS12: Record<SurfaceName, boolean> = {
  'compat+guard': true,
  'stream+guard': false,
  attachSecondaryCerts: true,
  fastify: true,
  'h2sc serve': false,
  'h2sc serve --require': false,
}

/** Runs one client kind against a surface and checks its answer; returns the matrix text. */
async function cell(name: SurfaceName, s: Surface, kind: ClientKind, pki: TestPki): Promise<string> {
  const enforced = name !== 'h2sc serve'
  const ca = pki.caPem
  switch (kind) {
    case 'HTTP/1.1': {
      if (!SPEAKS_HTTP1[name]) {
        const r = await http1Request(s.port, ca, '/').then(
          (a) => `${a.status}`,
          (e: NodeJS.ErrnoException) => `refused: ${e.code ?? e.message}`,
        )
        expect(r).to.match(/^refused/)
        return `${r} (no allowHTTP1)`
      }
      const pub = await http1Request(s.port, ca, '/')
      expect(pub.status).to.equal(200)
      const prot = await http1Request(s.port, ca, s.protectedPath)
      if (enforced) {
        expect(prot.status).to.equal(403)
        expect(prot.type).to.contain('application/problem+json')
        expect(JSON.parse(prot.body).detail).to.match(NEEDS_HTTP2)
        // A second request on a fresh HTTP/1.1 connection is answered the same way.
        expect((await http1Request(s.port, ca, s.protectedPath)).status).to.equal(403)
      } else {
        expect(prot.status).to.equal(200)
        expect(JSON.parse(prot.body).identities).to.deep.equal([])
      }
      return `public ${pub.status}; ${s.protectedPath} ${prot.status} ${prot.type.split(';')[0]}`
    }
    case 'plain HTTP/2': {
      const c = plainH2(s.port, ca)
      try {
        const pub = await h2Request(c, '/')
        expect(pub.status).to.equal(200)
        const prot = await h2Request(c, s.protectedPath)
        if (enforced) {
          expect(prot.status).to.equal(403)
          expect(JSON.parse(prot.body).missing.map((m: { reason: string }) => m.reason)).to.deep.equal(['not-supported', 'not-supported'])
        } else {
          expect(prot.status).to.equal(200)
        }
        return `public ${pub.status}; ${s.protectedPath} ${prot.status}`
      } finally {
        c.destroy()
      }
    }
    case 'extension': {
      const c = extensionClient(s.port, pki)
      try {
        const prot = await h2Request(c, s.protectedPath)
        expect(prot.status).to.equal(200)
        return `${s.protectedPath} ${prot.status}`
      } finally {
        c.destroy()
      }
    }
    case 'TLS 1.2': {
      const r = await tls12(s.port, ca, s.protectedPath)
      if (!ALLOWS_TLS12[name]) {
        expect(r).to.match(/^refused/)
        return `${r} (TLS 1.3 minimum)`
      }
      // TLS 1.2 connections never get the extension: protected routes answer 403.
      expect(r).to.equal(enforced ? '403' : '200')
      return `h2 over TLS 1.2: ${s.protectedPath} ${r}`
    }
    case 'random bytes': {
      const r = await randomGarbage(s.port)
      expect(r).to.match(/^closed by server/)
      return r
    }
    case 'close mid-handshake': {
      const r = await closeMidHandshake(s.port)
      expect(r).to.match(/^closed/)
      return r
    }
    case 'close mid-exchange': {
      const r = await closeMidExchange(s.port, pki, s.protectedPath)
      expect(r).to.equal('asked, then closed by client')
      return r
    }
    case 'close mid-body': {
      const results: string[] = []
      const c = extensionClient(s.port, pki)
      results.push(`h2: ${await closeMidBody(c, s.protectedPath)}`)
      if (SPEAKS_HTTP1[name]) results.push(`HTTP/1.1: ${await closeMidBodyHttp1(s.port, ca, s.protectedPath)}`)
      return results.join('; ')
    }
  }
}

const SURFACES: readonly SurfaceName[] = ['compat+guard', 'stream+guard', 'attachSecondaryCerts', 'fastify', 'h2sc serve', 'h2sc serve --require']
const KINDS: readonly ClientKind[] = ['HTTP/1.1', 'plain HTTP/2', 'extension', 'TLS 1.2', 'random bytes', 'close mid-handshake', 'close mid-exchange', 'close mid-body']

describe('integration: bad input against every server surface (issue 10)', function () {
  this.timeout(60000)
  let pki: TestPki
  let dir: string
  const children: ChildProcess[] = []
  const matrix: Record<string, Record<string, string>> = {}

  before(async () => {
    pki = await testPki('p256')
    dir = mkdtempSync(join(tmpdir(), 'h2sc-bad-input-'))
    await writeTestPki(pki, dir)
  })

  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    const out = process.env['BAD_INPUT_MATRIX_OUT']
    if (out) writeFileSync(out, JSON.stringify(matrix, null, 2) + '\n')
  })

  for (const name of SURFACES) {
    describe(name, () => {
      let surface: Surface
      let good: http2.ClientHttp2Session

      before(async () => {
        surface = await startSurface(name, pki, dir, children)
        matrix[name] = {}
      })

      after(async () => {
        await surface.close()
      })

      beforeEach(async () => {
        // The good connection is open (and authenticated) before the bad client arrives.
        good = extensionClient(surface.port, pki)
        expect((await h2Request(good, surface.protectedPath)).status).to.equal(200)
      })

      afterEach(() => {
        good.destroy()
      })

      for (const kind of KINDS) {
        it(`answers a ${kind} client clearly and keeps serving others`, async () => {
          const answer = await cell(name, surface, kind, pki)
          matrix[name]![kind] = answer
          expect(surface.alive(), 'server process alive').to.equal(true)
          // The connection opened before the bad client is untouched.
          expect((await h2Request(good, surface.protectedPath)).status).to.equal(200)
          // And a new one is served.
          const fresh = extensionClient(surface.port, pki)
          try {
            expect((await h2Request(fresh, '/')).status).to.equal(200)
          } finally {
            fresh.destroy()
          }
        })
      }
    })
  }
})
