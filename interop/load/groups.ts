/**
 * Connection groups of the load run and the fault specs. Each slot runs connections one after
 * another until `until`; every request ends in exactly one bucket: answered (a status), refused
 * (a stream or session error with a reason: RST_STREAM code, GOAWAY) or lost (no outcome within
 * its deadline). Fault slots check their own expected outcome:
 *
 * - vanish: the peer asks for /device-user, receives AUTHENTICATOR_REQUESTS (CLIENT -00 §4.1.1),
 *   then destroys its socket; half the time after answering only the first request.
 * - silent: the peer receives the request and never answers; the server's timeout must answer
 *   504 on that stream, and the connection must still answer PING afterwards.
 * - flood: the peer sends a burst of CLIENT_CERTIFICATE frames (unsolicited, or after one valid
 *   answer); the server must end that connection with GOAWAY(PROTOCOL_ERROR) and close it.
 */
import http2 from 'node:http2'
import { connect } from '../../lib/client.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import type { Credential } from '../../lib/ea/authenticators.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { connectRaw, decodeRequestList, encodeFrame, encodePing, extensionSettings, Flag, FrameType, responseStatus } from '../../lib/conformance/raw-peer.js'
import type { RawPeer } from '../../lib/conformance/raw-peer.js'

export interface GroupStats {
  connections: number
  sent: number
  /** Answered with the status the group expects (200; 504 for silent). */
  answered: number
  /** Answered with another status. */
  unexpected: number
  /** Ended by a stream/session error with a reason. */
  refused: number
  /** No outcome within the deadline. */
  lost: number
  /** Fault slots: connections that behaved as the fault requires / did not. */
  expectedOk: number
  expectedFail: number
  /** Identities obtained (auth group). */
  identities: number
  reasons: Record<string, number>
  /** Latencies (ms) of identity requests, for percentiles. */
  latencies: number[]
}

export function newGroupStats(): GroupStats {
  return { connections: 0, sent: 0, answered: 0, unexpected: 0, refused: 0, lost: 0, expectedOk: 0, expectedFail: 0, identities: 0, reasons: {}, latencies: [] }
}

function reason(s: GroupStats, r: string): void {
  s.reasons[r] = (s.reasons[r] ?? 0) + 1
}

export interface LoadTarget {
  readonly port: number
  readonly pki: TestPki
}

export type RequestOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'lost' }

/** One GET, classified. Never rejects. */
export function fetchOutcome(session: http2.ClientHttp2Session, path: string, deadlineMs: number): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    let settled = false
    const done = (o: RequestOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(o)
    }
    const timer = setTimeout(() => {
      done({ kind: 'lost' })
      try {
        s?.close(http2.constants.NGHTTP2_CANCEL)
      } catch {
        // already gone
      }
    }, deadlineMs)
    let s: http2.ClientHttp2Stream | undefined
    try {
      s = session.request({ ':path': path })
    } catch (e) {
      done({ kind: 'refused', reason: (e as { code?: string }).code ?? String(e) })
      return
    }
    const chunks: Buffer[] = []
    let status = 0
    s.on('response', (h) => (status = Number(h[':status'])))
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('end', () => done({ kind: 'answered', status, body: Buffer.concat(chunks).toString() }))
    s.on('error', (e) => done({ kind: 'refused', reason: (e as { code?: string }).code ?? 'stream error' }))
    s.on('close', () => {
      if (status && !s!.rstCode) return
      done({ kind: 'refused', reason: s!.rstCode ? `RST_STREAM ${s!.rstCode}` : 'closed without a response' })
    })
  })
}

function tally(s: GroupStats, o: RequestOutcome, expectStatus = 200): void {
  s.sent++
  if (o.kind === 'answered') {
    if (o.status === expectStatus) s.answered++
    else {
      s.unexpected++
      reason(s, `status ${o.status} ${o.body.slice(0, 40)}`)
    }
  } else if (o.kind === 'refused') {
    s.refused++
    reason(s, o.reason)
  } else s.lost++
}

function closeSession(s: http2.ClientHttp2Session): Promise<void> {
  if (s.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.destroy()
      resolve()
    }, 3000)
    s.close(() => {
      clearTimeout(t)
      resolve()
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface AuthSlotOptions {
  readonly cyclesPerConnection?: number
  readonly deadlineMs?: number
}

/**
 * A library client with device and user credentials (N = 2): each cycle asks for both
 * identities on one stream while four plain and holding streams run beside it.
 */
export async function runAuthSlot(t: LoadTarget, s: GroupStats, until: number, o: AuthSlotOptions = {}): Promise<void> {
  const cycles = o.cyclesPerConnection ?? 5
  const deadline = o.deadlineMs ?? 20000
  while (Date.now() < until) {
    const session = connect(`https://127.0.0.1:${t.port}`, {
      ca: t.pki.caPem,
      servername: 'localhost',
      secondaryCerts: {
        credentialLimit: 2,
        credentials: [
          { label: 'user', cert: t.pki.user.chainPem, key: t.pki.user.keyPem },
          { label: 'device', cert: t.pki.device.chainPem, key: t.pki.device.keyPem },
        ],
      },
    })
    session.on('error', (e) => reason(s, `session error ${(e as { code?: string }).code ?? String(e)}`))
    s.connections++
    for (let c = 0; c < cycles && Date.now() < until; c++) {
      const t0 = performance.now()
      const auth = fetchOutcome(session, '/device-user', deadline).then((r) => {
        if (r.kind === 'answered' && r.status === 200) {
          s.identities += 2
          s.latencies.push(performance.now() - t0)
        }
        return r
      })
      const others = ['/', '/hold?ms=20', '/', '/hold?ms=5'].map((p) => fetchOutcome(session, p, deadline))
      for (const r of await Promise.all([auth, ...others])) tally(s, r)
    }
    await closeSession(session)
  }
}

/** Plain HTTP/2 clients (no extension: Node's native path), four requests per cycle. */
export async function runControlSlot(t: LoadTarget, s: GroupStats, until: number): Promise<void> {
  while (Date.now() < until) {
    const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca: t.pki.caPem, servername: 'localhost' })
    session.on('error', (e) => reason(s, `session error ${(e as { code?: string }).code ?? String(e)}`))
    s.connections++
    for (let c = 0; c < 10 && Date.now() < until; c++) {
      const rs = await Promise.all(['/', '/', '/hold?ms=10', '/'].map((p) => fetchOutcome(session, p, 15000)))
      for (const r of rs) tally(s, r)
    }
    await closeSession(session)
  }
}

function credential(pki: TestPki, which: 'device' | 'user'): Credential {
  return { chain: pki[which].chainDer, key: nodeCrypto.importPrivateKey(pki[which].keyPem) }
}

async function rawPeer(t: LoadTarget, n: number): Promise<RawPeer> {
  const p = await connectRaw({ port: t.port, ca: t.pki.caPem, settings: extensionSettings(n) })
  p.socket.on('error', () => {})
  await p.waitForSettings(10000)
  return p
}

/** Peers that vanish mid-exchange. */
export async function runVanishSlot(t: LoadTarget, s: GroupStats, until: number, pause = 20): Promise<void> {
  const device = credential(t.pki, 'device')
  let k = 0
  while (Date.now() < until) {
    s.connections++
    let peer: RawPeer | undefined
    try {
      peer = await rawPeer(t, 2)
      peer.sendGet(1, '/device-user')
      s.sent++
      const f = await peer.waitFor((x) => x.type === DEFAULT_CODEPOINTS.frameAuthenticatorRequests, 10000, 'AUTHENTICATOR_REQUESTS')
      const reqs = decodeRequestList(f.payload)
      if (k++ % 2 === 1 && reqs[0]) {
        // Answer the first (device) request, then vanish before the second.
        const a = peer.ea().authenticate({ request: reqs[0], credential: device })
        peer.write(encodeFrame(DEFAULT_CODEPOINTS.frameClientCertificate, 0, 0, a))
        reason(s, 'vanished after one answer')
      } else reason(s, 'vanished before answering')
      // The request is deliberately abandoned by this peer: neither answered nor lost.
      s.expectedOk++
    } catch (e) {
      s.expectedFail++
      reason(s, `vanish setup failed: ${String(e)}`)
    } finally {
      peer?.close()
    }
    await sleep(pause)
  }
}

/** Peers that never answer: the server must time out and answer 504; the connection stays usable. */
export async function runSilentSlot(t: LoadTarget, s: GroupStats, until: number, timeoutMs = 1500): Promise<void> {
  while (Date.now() < until) {
    s.connections++
    let peer: RawPeer | undefined
    try {
      peer = await rawPeer(t, 1)
      peer.sendGet(1, `/auth?timeout=${timeoutMs}`)
      await peer.waitFor((x) => x.type === DEFAULT_CODEPOINTS.frameAuthenticatorRequests, 10000, 'AUTHENTICATOR_REQUESTS')
      let outcome: RequestOutcome
      try {
        const h = await peer.waitForHeaders(1, timeoutMs + 10000)
        outcome = { kind: 'answered', status: responseStatus(h) ?? -1, body: '' }
      } catch (e) {
        outcome = peer.goaway || peer.closed ? { kind: 'refused', reason: `connection ended: ${String(e)}` } : { kind: 'lost' }
      }
      tally(s, outcome, 504)
      // Still alive after the timeout: PING is answered.
      const data = Buffer.from('silent!!')
      peer.write(encodePing(data))
      await peer.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(data), 5000, 'PING ACK')
      if (outcome.kind === 'answered' && outcome.status === 504) s.expectedOk++
      else s.expectedFail++
    } catch (e) {
      s.expectedFail++
      reason(s, `silent peer: ${String(e)}`)
    } finally {
      peer?.close()
    }
  }
}

/** Peers that flood CLIENT_CERTIFICATE frames: GOAWAY(PROTOCOL_ERROR) and close, that connection only. */
export async function runFloodSlot(t: LoadTarget, s: GroupStats, until: number, frames = 2000, pause = 50): Promise<void> {
  const user = credential(t.pki, 'user')
  let k = 0
  while (Date.now() < until) {
    s.connections++
    let peer: RawPeer | undefined
    try {
      peer = await rawPeer(t, 1)
      let junk: Uint8Array
      if (k++ % 2 === 1) {
        peer.sendGet(1, '/auth')
        const f = await peer.waitFor((x) => x.type === DEFAULT_CODEPOINTS.frameAuthenticatorRequests, 10000, 'AUTHENTICATOR_REQUESTS')
        // One valid answer first, then the same bytes again and again.
        junk = peer.ea().authenticate({ request: decodeRequestList(f.payload)[0]!, credential: user })
        reason(s, 'flood after a valid answer')
      } else {
        junk = new Uint8Array(512).fill(0x0b)
        reason(s, 'unsolicited flood')
      }
      const one = encodeFrame(DEFAULT_CODEPOINTS.frameClientCertificate, 0, 0, junk)
      const burst = Buffer.concat(Array.from({ length: 100 }, () => one))
      for (let i = 0; i < frames / 100 && !peer.closed; i++) {
        peer.write(burst)
        await sleep(0)
      }
      const ended = await peer.waitForClose(10000)
      const code = peer.goaway?.code
      if (code === 0x1 && ended) s.expectedOk++
      else {
        s.expectedFail++
        reason(s, `flood ended with GOAWAY ${String(code)}, closed ${ended}`)
      }
    } catch (e) {
      s.expectedFail++
      reason(s, `flood peer: ${String(e)}`)
    } finally {
      peer?.close()
    }
    await sleep(pause)
  }
}

/** p-th percentile (0..100) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const a = [...xs].sort((x, y) => x - y)
  return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]!
}
