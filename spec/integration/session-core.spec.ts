/**
 * Issue 9 items 4–7 on real TLS 1.3 connections and real node:http2 sessions:
 * - after our connection-error GOAWAY nothing else is written and the connection closes, and
 *   requests held for identities fail locally with the ProtocolError (server and client);
 * - violations reach the client application as 'error' (ProtocolError) on streams and session, and
 *   a peer's GOAWAY right after our CLIENT_CERTIFICATE surfaces with `remote: true`;
 * - attach misuse is refused with ERR_SC_USAGE;
 * - interposed client streams emit 'response' before the first 'data', as plain ones do.
 */
import { expect } from 'chai'
import http2 from 'node:http2'
import { createSecureServer, attachSecondaryCerts, sessionCerts } from '../../lib/server.js'
import { connect, clientCerts } from '../../lib/client.js'
import type { ProtocolError } from '../../lib/errors.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { testPki } from '../support/pki.js'
import { closeServer, connected, listen, trackSessions } from '../../interop/support/h2.js'
import { Ext, FrameType, H2Error, decodeRequestList, encodeRequestList, listenRaw, connectRaw } from '../../lib/conformance/raw-peer.js'
import type { Frame, RawPeer, RawServer } from '../../lib/conformance/raw-peer.js'
import { loadCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/h2sc.js', import.meta.url))

/** Frames of `peer` received after its first GOAWAY (there must be none). */
function framesAfterGoaway(peer: RawPeer): Frame[] {
  const i = peer.frames.findIndex((f) => f.type === FrameType.GOAWAY)
  return i < 0 ? [] : peer.frames.slice(i + 1)
}

function describeFrames(frames: readonly Frame[]): string {
  return frames.map((f) => `type 0x${f.type.toString(16)} stream ${f.streamId}`).join(', ')
}

describe('integration/session-core (issue 9 items 4-7)', function () {
  this.timeout(10000)
  let pki: TestPki

  before(async () => {
    pki = await testPki('p256')
  })

  describe('server: close after a connection error', () => {
    let server: http2.Http2SecureServer
    let sessions: Set<http2.Http2Session>
    let raw: RawPeer | undefined
    let held: { code?: string; violation?: string; http2Code?: number }[]

    beforeEach(async () => {
      held = []
      server = createSecureServer(
        { key: pki.server.keyPem, cert: pki.server.chainPem, secondaryCerts: { requestTimeoutMs: 3000 } },
        (req, res) => {
          const ctl = sessionCerts(req)
          if (!ctl) return void res.end('plain')
          ctl.requestIdentities([{ label: 'user' }]).then(
            () => res.end('ok'),
            (e: ProtocolError) => {
              held.push({ code: e.code, violation: e.violation, http2Code: e.http2Code })
              // The application tries to answer; nothing may reach the wire after the GOAWAY.
              if (!res.stream.destroyed) res.writeHead(403).end(String(e.code))
            },
          )
        },
      )
      server.on('sessionError', () => {})
      sessions = trackSessions(server)
      await listen(server)
    })

    afterEach(async () => {
      raw?.close()
      raw = undefined
      await closeServer(server, sessions)
    })

    it('writes nothing after GOAWAY(PROTOCOL_ERROR) for a bad authenticator, closes, and fails the held request', async () => {
      const port = (server.address() as { port: number }).port
      raw = await connectRaw({ port, ca: pki.caPem })
      await raw.waitForSettings()
      raw.sendGet(1, '/held')
      const f = await raw.waitFor((x) => x.type === Ext.AUTHENTICATOR_REQUESTS, 3000, 'AUTHENTICATOR_REQUESTS')
      const [request] = decodeRequestList(f.payload)
      const ea = raw.ea()
      ea.receiveRequest(request!)
      const auth = ea.authenticate({ request: request!, credential: loadCredential({ cert: pki.user.chainPem, key: pki.user.keyPem }, nodeCrypto, 'user') })
      const bad = new Uint8Array(auth)
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff // Finished no longer matches
      raw.sendFrame(Ext.CLIENT_CERTIFICATE, 0, 0, bad)
      const g = await raw.waitForGoaway(3000)
      expect(g.code).to.equal(H2Error.PROTOCOL_ERROR)
      expect(g.lastStreamId, 'Last-Stream-ID names the request stream').to.equal(1)
      expect(await raw.waitForClose(2000), 'connection closed after GOAWAY').to.equal(true)
      expect(framesAfterGoaway(raw), describeFrames(framesAfterGoaway(raw))).to.deep.equal([])
      expect(raw.frames.some((x) => x.type === FrameType.HEADERS && x.streamId === 1), 'no response HEADERS for the held request').to.equal(false)
      expect(held).to.deep.equal([{ code: 'ERR_SC_PROTOCOL', violation: 'client-authenticator-invalid', http2Code: H2Error.PROTOCOL_ERROR }])
      expect(server.listening).to.equal(true)
    })
  })

  describe('client: violations reach the application', () => {
    let rs: RawServer
    const clients: http2.ClientHttp2Session[] = []

    afterEach(async () => {
      for (const c of clients.splice(0)) if (!c.destroyed) c.destroy()
      if (rs) await rs.close()
    })

    function ours(): http2.ClientHttp2Session {
      const s = connect(`https://127.0.0.1:${rs.port}`, {
        ca: pki.caPem,
        servername: 'localhost',
        secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] },
      })
      clients.push(s)
      return s
    }

    /** Streams' and session's events until the session closes. */
    function record(session: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream) {
      const seen = { response: false, data: 0, streamError: undefined as ProtocolError | undefined, sessionError: undefined as ProtocolError | undefined }
      stream.on('response', () => (seen.response = true))
      stream.on('data', (c: Buffer) => (seen.data += c.length))
      stream.on('error', (e: ProtocolError) => (seen.streamError = e))
      session.on('error', (e: ProtocolError) => (seen.sessionError = e))
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
      return { seen, closed }
    }

    it('a violation destroys the in-flight stream and the session with the ProtocolError; nothing written after our GOAWAY', async () => {
      rs = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, autoRespond: false })
      const session = ours()
      await connected(session)
      const p = await rs.peer(0)
      await p.waitForSettings()
      const stream = session.request({ ':path': '/slow' })
      stream.end()
      const { seen, closed } = record(session, stream)
      await p.waitForHeaders(1)
      // AUTHENTICATOR_REQUESTS on stream 3: a connection error (CLIENT -00 §4.1.1).
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 3, encodeRequestList([p.ea().request()]))
      await closed
      expect(seen.response, "no 'response' for a stream the violation ended").to.equal(false)
      expect(seen.streamError?.code).to.equal('ERR_SC_PROTOCOL')
      expect(seen.streamError?.violation).to.equal('authenticator-requests-on-stream')
      expect(seen.streamError?.http2Code).to.equal(H2Error.PROTOCOL_ERROR)
      expect(seen.streamError?.remote).to.equal(false)
      expect(seen.sessionError?.code).to.equal('ERR_SC_PROTOCOL')
      const g = await p.waitForGoaway(2000)
      expect(g.code).to.equal(H2Error.PROTOCOL_ERROR)
      expect(await p.waitForClose(2000)).to.equal(true)
      expect(framesAfterGoaway(p), describeFrames(framesAfterGoaway(p))).to.deep.equal([])
      expect(clientCerts(session)!.closedError).to.equal(seen.streamError)
    })

    it("a peer's GOAWAY right after our CLIENT_CERTIFICATE surfaces as a remote ProtocolError", async () => {
      rs = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, autoRespond: false })
      const session = ours()
      await connected(session)
      const p = await rs.peer(0)
      await p.waitForSettings()
      const stream = session.request({ ':path': '/ask' })
      stream.end()
      const { seen, closed } = record(session, stream)
      await p.waitForHeaders(1)
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([p.ea().request()]))
      await p.waitFor((f) => f.type === Ext.CLIENT_CERTIFICATE, 3000, 'CLIENT_CERTIFICATE')
      p.write(Buffer.from([0, 0, 8, FrameType.GOAWAY, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, H2Error.PROTOCOL_ERROR]))
      await closed
      expect(seen.streamError?.code).to.equal('ERR_SC_PROTOCOL')
      expect(seen.streamError?.remote).to.equal(true)
      expect(seen.streamError?.violation).to.equal('client-authenticator-invalid')
      expect(seen.streamError?.http2Code).to.equal(H2Error.PROTOCOL_ERROR)
      expect(seen.sessionError?.remote).to.equal(true)
    })

    it('h2sc request prints the violation (name, code, section) on one line and exits non-zero', async function () {
      this.timeout(40000)
      rs = await listenRaw({
        key: pki.server.keyPem,
        cert: pki.server.chainPem,
        autoRespond: false,
        onPeer: (p) => {
          void p.waitForHeaders(1, 20000).then(
            () => p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 3, encodeRequestList([p.ea().request()])),
            () => {},
          )
        },
      })
      const dir = mkdtempSync(join(tmpdir(), 'h2sc-violation-'))
      try {
        writeFileSync(join(dir, 'ca.pem'), pki.caPem)
        // Not spawnSync: the raw server runs in this process and must keep answering.
        const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [BIN, 'request', `https://localhost:${rs.port}/`, '--ca', join(dir, 'ca.pem'), '--timeout-ms', '10000'], {
            stdio: ['ignore', 'pipe', 'pipe'],
          })
          let stdout = ''
          let stderr = ''
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
          const timer = setTimeout(() => child.kill('SIGKILL'), 35000)
          child.on('close', (status) => {
            clearTimeout(timer)
            resolve({ status, stdout, stderr })
          })
        })
        expect(r.status, r.stderr).to.equal(1)
        const lines = r.stderr.trim().split('\n')
        expect(lines, r.stderr).to.have.length(1)
        expect(lines[0]).to.match(/^h2sc: protocol violation authenticator-requests-on-stream \(PROTOCOL_ERROR 0x1, CLIENT -00 §4\.1\.1\), detected here: /)
        expect(r.stdout).to.not.match(/status: 0/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('a peer GOAWAY(NO_ERROR) is not a violation', async () => {
      rs = await listenRaw({ key: pki.server.keyPem, cert: pki.server.chainPem, autoRespond: false })
      const session = ours()
      await connected(session)
      const p = await rs.peer(0)
      await p.waitForSettings()
      const violations: ProtocolError[] = []
      clientCerts(session)!.on('violation', (e: ProtocolError) => violations.push(e))
      p.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([p.ea().request()]))
      await p.waitFor((f) => f.type === Ext.CLIENT_CERTIFICATE, 3000, 'CLIENT_CERTIFICATE')
      p.write(Buffer.from([0, 0, 8, FrameType.GOAWAY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
      await new Promise<void>((resolve) => session.once('close', () => resolve()))
      expect(violations).to.deep.equal([])
    })
  })

  describe('attach misuse is refused (ERR_SC_USAGE)', () => {
    const opts = (): http2.SecureServerOptions => ({ key: pki.server.keyPem, cert: pki.server.chainPem })

    it('a second attach', () => {
      const s = http2.createSecureServer(opts())
      attachSecondaryCerts(s)
      expect(() => attachSecondaryCerts(s)).to.throw(/already attached/).with.property('code', 'ERR_SC_USAGE')
    })

    it('an attach to a server from our createSecureServer', () => {
      const s = createSecureServer(opts())
      expect(() => attachSecondaryCerts(s)).to.throw(/already attached/).with.property('code', 'ERR_SC_USAGE')
    })

    it('an attach after listen', async () => {
      const s = http2.createSecureServer(opts())
      await listen(s)
      try {
        expect(() => attachSecondaryCerts(s)).to.throw(/before server.listen/).with.property('code', 'ERR_SC_USAGE')
      } finally {
        await new Promise<void>((r) => s.close(() => r()))
      }
    })

    it('an attach to an h2c server', () => {
      const s = http2.createServer() as unknown as http2.Http2SecureServer
      expect(() => attachSecondaryCerts(s)).to.throw(/h2c/).with.property('code', 'ERR_SC_USAGE')
    })

    it('an attach to a server limited to TLS 1.2, and createSecureServer with maxVersion TLSv1.2', () => {
      const s = http2.createSecureServer({ ...opts(), maxVersion: 'TLSv1.2' })
      expect(() => attachSecondaryCerts(s)).to.throw(/TLS 1.3/).with.property('code', 'ERR_SC_USAGE')
      expect(() => createSecureServer({ ...opts(), maxVersion: 'TLSv1.2' })).to.throw(/TLS 1.3/).with.property('code', 'ERR_SC_USAGE')
    })
  })

  describe("client stream event order: 'response' before 'data', as on plain node:http2", () => {
    let server: http2.Http2SecureServer
    let sessions: Set<http2.Http2Session>
    let port: number

    before(async () => {
      server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, (req, res) => {
        const n = Number(new URL(req.url, 'https://x').searchParams.get('n') ?? '12')
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        res.end(Buffer.alloc(n, 0x61))
      })
      sessions = trackSessions(server)
      port = await listen(server)
    })

    after(async () => {
      await closeServer(server, sessions)
    })

    async function sequence(session: http2.ClientHttp2Session, n: number): Promise<string[]> {
      const events: string[] = []
      const s = session.request({ ':path': `/?n=${n}` })
      s.end()
      s.on('response', () => events.push('response'))
      s.on('data', () => {
        if (events.at(-1) !== 'data') events.push('data')
      })
      await new Promise<void>((resolve, reject) => {
        s.on('end', () => resolve())
        s.on('error', reject)
      })
      events.push('end')
      return events
    }

    for (const n of [12, 65536, 1_000_000]) {
      it(`for a ${n}-byte body the sequence equals the plain connection's`, async () => {
        const plain = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
        const ext = connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, servername: 'localhost' })
        try {
          await Promise.all([connected(plain), connected(ext)])
          const a = await sequence(plain, n)
          const b = await sequence(ext, n)
          expect(a).to.deep.equal(['response', 'data', 'end'])
          expect(b).to.deep.equal(a)
        } finally {
          plain.destroy()
          ext.destroy()
        }
      })
    }
  })
})
