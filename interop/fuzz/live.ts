/**
 * Live fuzz phase: mutated extension frames over real TLS 1.3 connections to a server in its own
 * process. Each bad connection must end with GOAWAY or a close (or, for frames whose header was
 * mutated into something the extension does not own, keep answering PING); meanwhile a control
 * connection made with the library keeps authenticating and getting answers, and at the end the
 * server process is alive, serves a fresh connection and has closed every bad session.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type http2 from 'node:http2'
import { connect } from '../../lib/client.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import type { Credential } from '../../lib/ea/authenticators.js'
import { createTestPki } from '../../lib/pki/test-pki.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { connectRaw, decodeRequestList, encodeFrame, encodePing, extensionSettings, FrameType, Flag } from '../../lib/conformance/raw-peer.js'
import type { Frame, RawPeer } from '../../lib/conformance/raw-peer.js'
import { handshakeLengths } from './corpus.js'
import { mutate } from './mutators.js'
import type { Seed } from './mutators.js'
import { Rng } from './rng.js'
import { inputSeed } from './engine.js'

export const LIVE_KINDS = ['unsolicited-certificate', 'mutated-answer', 'requests-from-client', 'server-certificate-from-client', 'mutated-frame'] as const
export type LiveKind = (typeof LIVE_KINDS)[number]

export interface LiveOptions {
  readonly seed: number
  readonly count: number
  readonly timeLimitMs: number
  readonly concurrency?: number
  readonly onFinding?: (f: LiveFinding) => void
  readonly log?: (line: string) => void
}

export interface LiveFinding {
  readonly kind: LiveKind | 'control' | 'server'
  readonly index: number
  readonly message: string
  readonly frameHex?: string
}

export interface LiveResult {
  readonly connections: number
  readonly perKind: Record<string, { connections: number; goaway: number; closed: number; pingAck: number; incomplete: number; findings: number }>
  readonly goawayCodes: Record<string, number>
  readonly control: { sent: number; ok: number; failed: number }
  readonly serverAlive: boolean
  readonly openSessionsAfter: number
  readonly findings: LiveFinding[]
  readonly elapsedMs: number
  readonly timedOut: boolean
}

interface ServerHandle {
  readonly child: ChildProcess
  readonly port: number
  stats(): Promise<{ counters: Record<string, unknown> & { openSessions: number }; heapUsed: number; gc: boolean; cpu: { user: number; system: number } }>
  stop(): Promise<void>
}

/** Forks interop/fuzz/live-server.ts and starts it with `pki`'s server credential. */
export async function startServerProcess(pki: TestPki, extra: { maxSessionMemory?: number; requestTimeoutMs?: number } = {}): Promise<ServerHandle> {
  const child = fork(fileURLToPath(new URL('./live-server.ts', import.meta.url)), [], {
    // H2SC_SERVER_CPU_PROF=dir writes a V8 CPU profile of the server process there on exit.
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.H2SC_SERVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.H2SC_SERVER_CPU_PROF}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const onMsg = (m: { type: string; port?: number }): void => {
      if (m.type === 'listening') {
        child.off('message', onMsg)
        resolve(m.port!)
      }
    }
    child.on('message', onMsg)
    child.once('exit', (code) => reject(new Error(`server process exited early (${code})`)))
    child.send({ type: 'start', keyPem: pki.server.keyPem, certPem: pki.server.chainPem, caPem: pki.caPem, ...extra })
  })
  return {
    child,
    port,
    stats() {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null || !child.connected) return reject(new Error('server process is gone'))
        const onMsg = (m: { type: string }): void => {
          if (m.type !== 'stats') return
          child.off('message', onMsg)
          resolve(m as never)
        }
        child.on('message', onMsg)
        child.send({ type: 'stats' })
      })
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.disconnect()
      const t = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(t)
    },
  }
}

type Ending = 'goaway' | 'closed' | 'ping-ack' | 'timeout'

/** Waits for the first of: GOAWAY, close, PING ACK (when `pingData` given), timeout. */
function ending(peer: RawPeer, timeoutMs: number, pingData?: Buffer): Promise<Ending> {
  if (peer.goaway) return Promise.resolve('goaway')
  if (peer.closed) return Promise.resolve('closed')
  return new Promise((resolve) => {
    const done = (e: Ending): void => {
      clearTimeout(timer)
      peer.off('frame', onFrame)
      peer.off('closed', onClosed)
      resolve(e)
    }
    const onFrame = (f: Frame): void => {
      if (f.type === FrameType.GOAWAY) done('goaway')
      else if (pingData && f.type === FrameType.PING && f.flags & Flag.ACK && f.payload.equals(pingData)) done('ping-ack')
    }
    const onClosed = (): void => done('closed')
    const timer = setTimeout(() => done('timeout'), timeoutMs)
    peer.on('frame', onFrame)
    peer.once('closed', onClosed)
  })
}

/** True when `bytes`, read as HTTP/2 frames, ends inside a frame (the server waits for more). */
function endsInsideFrame(bytes: Uint8Array): boolean {
  let o = 0
  while (o < bytes.length) {
    if (bytes.length - o < 9) return true
    const len = (bytes[o]! << 16) | (bytes[o + 1]! << 8) | bytes[o + 2]!
    if (bytes.length - o - 9 < len) return true
    o += 9 + len
  }
  return false
}

function seedOf(name: string, bytes: Uint8Array): Seed {
  return { name, bytes, lengths: handshakeLengths(bytes), varints: [] }
}

/** Runs the live phase. */
export async function runLive(o: LiveOptions): Promise<LiveResult> {
  const t0 = performance.now()
  const log = o.log ?? (() => {})
  const pki = await createTestPki({ keyType: 'p256' })
  const server = await startServerProcess(pki)
  const cp = DEFAULT_CODEPOINTS
  const user: Credential = { chain: pki.user.chainDer, key: nodeCrypto.importPrivateKey(pki.user.keyPem) }
  const findings: LiveFinding[] = []
  const finding = (f: LiveFinding): void => {
    findings.push(f)
    o.onFinding?.(f)
  }
  const perKind: LiveResult['perKind'] = {}
  for (const k of LIVE_KINDS) perKind[k] = { connections: 0, goaway: 0, closed: 0, pingAck: 0, incomplete: 0, findings: 0 }
  const goawayCodes: Record<string, number> = {}

  // Material for payload mutations: an answer from a scratch connection (its context is foreign
  // to later connections, which is one more reason for the server to refuse it), a request list.
  const scratch = await connectRaw({ port: server.port, ca: pki.caPem })
  await scratch.waitForSettings()
  scratch.sendGet(1, '/auth?timeout=500')
  const reqFrame = await scratch.waitFor((f) => f.type === cp.frameAuthenticatorRequests, 5000, 'AUTHENTICATOR_REQUESTS')
  const scratchReq = decodeRequestList(reqFrame.payload)[0]!
  const scratchAnswer = scratch.ea().authenticate({ request: scratchReq, credential: user })
  scratch.close()
  const answerSeeds = [seedOf('answer', scratchAnswer), seedOf('empty', scratch.ea().emptyAuthenticator(scratchReq))]
  const listSeed: Seed = { name: 'requests', bytes: reqFrame.payload, lengths: handshakeLengths(reqFrame.payload, 1), varints: [0] }

  // Control connection: the library client, authenticating and fetching throughout.
  const control = { sent: 0, ok: 0, failed: 0 }
  const ctlSession = connect(`https://127.0.0.1:${server.port}`, {
    ca: pki.caPem,
    servername: 'localhost',
    secondaryCerts: { credentials: [{ label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem }] },
  })
  ctlSession.on('error', (e) => finding({ kind: 'control', index: -1, message: `control session error: ${String(e)}` }))
  let stopControl = false
  const controlLoop = (async () => {
    let k = 0
    while (!stopControl) {
      const path = k++ % 4 === 0 ? '/auth' : '/'
      control.sent++
      try {
        const r = await request(ctlSession, path, 10000)
        if (r.status === 200) control.ok++
        else {
          control.failed++
          finding({ kind: 'control', index: k, message: `control ${path} answered ${r.status} ${r.body}` })
        }
      } catch (e) {
        control.failed++
        finding({ kind: 'control', index: k, message: `control ${path} failed: ${String(e)}` })
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  })()

  let next = 0
  let timedOut = false
  const one = async (i: number): Promise<void> => {
    const rng = new Rng(inputSeed(o.seed ^ 0x11fe, i))
    const kind = LIVE_KINDS[i % LIVE_KINDS.length]!
    const st = perKind[kind]!
    st.connections++
    let peer: RawPeer | undefined
    let sent: Uint8Array = new Uint8Array(0)
    try {
      peer = await connectRaw({ port: server.port, ca: pki.caPem, settings: extensionSettings(rng.pick([1, 2])) })
      await peer.waitForSettings()
      let pingData: Buffer | undefined
      switch (kind) {
        case 'unsolicited-certificate':
          sent = encodeFrame(cp.frameClientCertificate, 0, 0, mutate(rng, rng.pick(answerSeeds), answerSeeds).bytes)
          break
        case 'mutated-answer': {
          peer.sendGet(1, '/auth')
          const f = await peer.waitFor((x) => x.type === cp.frameAuthenticatorRequests, 5000, 'AUTHENTICATOR_REQUESTS')
          const req = decodeRequestList(f.payload)[0]!
          const answer = rng.chance(0.8) ? peer.ea().authenticate({ request: req, credential: user }) : peer.ea().emptyAuthenticator(req)
          sent = encodeFrame(cp.frameClientCertificate, 0, 0, mutate(rng, seedOf('live-answer', answer), answerSeeds).bytes)
          break
        }
        case 'requests-from-client':
          sent = encodeFrame(cp.frameAuthenticatorRequests, 0, 0, mutate(rng, listSeed, [listSeed]).bytes)
          break
        case 'server-certificate-from-client':
          sent = encodeFrame(cp.frameServerCertificate, 0, 0, mutate(rng, rng.pick(answerSeeds), answerSeeds).bytes)
          break
        case 'mutated-frame': {
          const base = encodeFrame(rng.pick([cp.frameClientCertificate, cp.frameAuthenticatorRequests, cp.frameServerCertificate]), 0, 0, rng.pick(answerSeeds).bytes)
          const s: Seed = { name: 'frame', bytes: base, lengths: [{ offset: 0, width: 3 }, ...handshakeLengths(base, 9)], varints: [] }
          // Mutate only the header half of the time, anywhere otherwise.
          let m = mutate(rng, s, [s]).bytes
          if (rng.chance(0.5)) {
            const h = base.slice()
            const at = rng.int(9)
            h[at] = rng.chance(0.5) ? rng.u32() & 0xff : h[at]! ^ (1 << rng.int(8))
            m = h
          }
          sent = m
          pingData = Buffer.from(rng.bytes(8))
          break
        }
      }
      peer.write(sent)
      if (pingData) peer.write(encodePing(pingData))
      const e = await ending(peer, 4000, pingData)
      if (e === 'goaway') {
        st.goaway++
        const code = peer.goaway?.code ?? -1
        goawayCodes[`0x${code.toString(16)}`] = (goawayCodes[`0x${code.toString(16)}`] ?? 0) + 1
      } else if (e === 'closed') st.closed++
      else if (e === 'ping-ack' && kind === 'mutated-frame') st.pingAck++
      else if (e === 'timeout' && kind === 'mutated-frame' && endsInsideFrame(sent)) st.incomplete++
      else {
        st.findings++
        finding({ kind, index: i, message: `bad connection ended with '${e}' (no GOAWAY, no close)`, frameHex: Buffer.from(sent).toString('hex') })
      }
    } catch (e) {
      st.findings++
      finding({ kind, index: i, message: `live connection failed before the verdict: ${String(e)}`, frameHex: Buffer.from(sent).toString('hex') })
    } finally {
      peer?.close()
    }
  }
  const workers: Promise<void>[] = []
  for (let w = 0; w < (o.concurrency ?? 8); w++) {
    workers.push(
      (async () => {
        while (next < o.count) {
          if (performance.now() - t0 > o.timeLimitMs) {
            timedOut = true
            return
          }
          const i = next++
          await one(i)
          if ((i + 1) % 500 === 0) log(`  live: ${i + 1} connections`)
        }
      })(),
    )
  }
  await Promise.all(workers)
  stopControl = true
  await controlLoop
  ctlSession.close()

  // The server process must be alive and serve a fresh connection (device + user).
  let serverAlive = server.child.exitCode === null
  if (!serverAlive) finding({ kind: 'server', index: -1, message: `server process exited with ${server.child.exitCode}` })
  if (serverAlive) {
    const fresh = connect(`https://127.0.0.1:${server.port}`, {
      ca: pki.caPem,
      servername: 'localhost',
      secondaryCerts: {
        credentials: [
          { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
          { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
        ],
      },
    })
    fresh.on('error', () => {})
    try {
      const r = await request(fresh, '/device-user', 10000)
      if (r.status !== 200) throw new Error(`answered ${r.status} ${r.body}`)
    } catch (e) {
      serverAlive = false
      finding({ kind: 'server', index: -1, message: `fresh connection after the live phase failed: ${String(e)}` })
    }
    fresh.close()
  }
  // Every bad session must be gone once its GOAWAY grace has passed.
  let openSessionsAfter = -1
  for (let k = 0; k < 20; k++) {
    await new Promise((r) => setTimeout(r, 250))
    try {
      openSessionsAfter = (await server.stats()).counters.openSessions
    } catch {
      break
    }
    if (openSessionsAfter === 0) break
  }
  if (openSessionsAfter !== 0) finding({ kind: 'server', index: -1, message: `${openSessionsAfter} sessions still open on the server after the live phase` })
  await server.stop()
  const connections = Object.values(perKind).reduce((n, k) => n + k.connections, 0)
  return { connections, perKind, goawayCodes, control, serverAlive, openSessionsAfter, findings, elapsedMs: performance.now() - t0, timedOut }
}

/** One GET with a deadline. */
export function request(session: http2.ClientHttp2Session, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': path })
    const chunks: Buffer[] = []
    let status = 0
    const timer = setTimeout(() => {
      s.close()
      reject(new Error(`no answer to ${path} in ${timeoutMs} ms`))
    }, timeoutMs)
    s.on('response', (h) => (status = Number(h[':status'])))
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('end', () => {
      clearTimeout(timer)
      resolve({ status, body: Buffer.concat(chunks).toString() })
    })
    s.on('close', () => {
      clearTimeout(timer)
      if (s.rstCode) reject(new Error(`stream reset with code ${s.rstCode}`))
      else if (!status) reject(new Error('stream closed without a response'))
    })
    s.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}
