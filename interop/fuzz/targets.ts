/**
 * Fuzz targets: every decoder that reads peer bytes, the RFC 9261 §7.4 validator, the frame
 * splitter of the interposer and the I/O-free state machines (CLIENT -00 §4, SERVER -02 §3.2).
 *
 * A target returns 'accepted' or 'rejected' (a typed error it is allowed to throw, an `invalid`
 * verdict, a GOAWAY action) and throws `OracleViolation` when an invariant breaks. Anything else
 * thrown is a finding for the engine.
 */
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import type { Verdict } from '../../lib/ea/authenticators.js'
import { ServerState } from '../../lib/proto/server-state.js'
import type { ServerAction } from '../../lib/proto/server-state.js'
import { ClientState } from '../../lib/proto/client-state.js'
import type { ClientAction } from '../../lib/proto/client-state.js'
import { decodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import { splitHandshakeMessages } from '../../lib/wire/tls/handshake.js'
import { decodeAuthenticatorRequests } from '../../lib/wire/h2/authenticator-requests-frame.js'
import { decodeFrameHeader } from '../../lib/wire/h2/frame-header.js'
import type { FrameHeader } from '../../lib/wire/h2/frame-header.js'
import { FrameSplitter } from '../../lib/wire/h2/frame-splitter.js'
import type { Corpus, Pair } from './corpus.js'
import { sameBytes } from './mutators.js'
import type { Seed } from './mutators.js'
import type { Rng } from './rng.js'

/** An invariant of a target did not hold (a finding, not a crash). */
export class OracleViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OracleViolation'
  }
}

export type Outcome = 'accepted' | 'rejected'

/** One fuzz target. */
export interface Target {
  readonly name: string
  readonly seeds: readonly Seed[]
  /** Error codes the target may throw (anything else is a finding). */
  readonly allowedCodes: ReadonlySet<string>
  /** Runs one mutated input derived from `seeds[seedIndex]`. */
  run(input: Uint8Array, seedIndex: number, rng: Rng): Outcome
}

const DECODE = new Set(['ERR_SC_DECODE'])
const NOTHING = new Set<string>()

function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new OracleViolation(message)
}

function checkVerdict(v: Verdict): void {
  check(typeof v === 'object' && v !== null, 'validate returned no verdict')
  check(v.kind === 'identity' || v.kind === 'declined' || v.kind === 'invalid', `unknown verdict kind ${String((v as { kind?: unknown }).kind)}`)
  if (v.kind === 'invalid') {
    check(v.error?.code === 'ERR_SC_AUTHENTICATOR_INVALID', `invalid verdict carries error code ${String(v.error?.code)}`)
    check(typeof v.reason === 'string' && v.reason === v.error.reason, 'invalid verdict reason mismatch')
  }
}

function anyEqual(input: Uint8Array, list: readonly Uint8Array[]): boolean {
  return list.some((x) => sameBytes(x, input))
}

/** Builds every target over a corpus. */
export function buildTargets(corpus: Corpus): Target[] {
  const cp = corpus.codepoints
  const targets: Target[] = []

  targets.push({
    name: 'decodeCertificateRequest',
    seeds: corpus.requests,
    allowedCodes: DECODE,
    run(input) {
      const r = decodeCertificateRequest(input)
      check(r.type === 13 || r.type === 17, `decoded request of type ${r.type}`)
      check(r.context.length <= 255, 'context longer than 255')
      check(r.signatureAlgorithms.length > 0, 'request without signature_algorithms decoded')
      check(r.raw.length === input.length, 'raw does not cover the input')
      return 'accepted'
    },
  })

  targets.push({
    name: 'decodeAuthenticator',
    seeds: corpus.authenticators,
    allowedCodes: DECODE,
    run(input) {
      const a = decodeAuthenticator(input)
      const total = a.kind === 'full' ? a.rawCertificate.length + a.rawCertificateVerify.length + a.rawFinished.length : a.rawFinished.length
      check(total === input.length, `authenticator messages cover ${total} of ${input.length} bytes`)
      return 'accepted'
    },
  })

  targets.push({
    name: 'decodeAuthenticatorRequests',
    seeds: corpus.requestLists,
    allowedCodes: DECODE,
    run(input) {
      const list = decodeAuthenticatorRequests(input)
      check(list.length > 0, 'empty request list decoded')
      let sum = 0
      for (const r of list) {
        check(r.length > 0, 'zero-length request decoded')
        sum += r.length
      }
      check(sum < input.length, 'requests cover more than the payload')
      return 'accepted'
    },
  })

  targets.push({
    name: 'decodeFrameHeader',
    seeds: corpus.frames,
    allowedCodes: DECODE,
    run(input, _i, rng) {
      const offset = rng.chance(0.8) ? 0 : rng.range(-2, input.length + 2)
      const h = decodeFrameHeader(input, offset)
      check(offset >= 0 && input.length - offset >= 9, `decoded a header at ${offset} of ${input.length} bytes`)
      check(h.length >= 0 && h.length <= 0xffffff && h.type <= 0xff && h.flags <= 0xff, 'field out of range')
      check(h.streamId >= 0 && h.streamId <= 0x7fffffff, `stream id ${h.streamId} out of range`)
      return 'accepted'
    },
  })

  targets.push({
    name: 'splitHandshakeMessages',
    seeds: [...corpus.requests, ...corpus.authenticators],
    allowedCodes: DECODE,
    run(input) {
      const msgs = splitHandshakeMessages(input)
      let at = 0
      for (const m of msgs) {
        check(m.offset === at, `message at ${m.offset}, expected ${at}`)
        check(m.raw.length === m.body.length + 4, 'raw/body length mismatch')
        at += m.raw.length
      }
      check(at === input.length, 'messages do not cover the input')
      return 'accepted'
    },
  })

  // RFC 9261 §7.2 get context, on requests and authenticators alike.
  const getContextEa = new ExportedAuthenticators({ role: 'client', exporter: corpus.pairs[0]!.exporter, hash: corpus.pairs[0]!.hash })
  targets.push({
    name: 'getContext',
    seeds: [...corpus.requests, ...corpus.authenticators],
    allowedCodes: DECODE,
    run(input) {
      const c = getContextEa.getContext(input)
      check(c === null || (c instanceof Uint8Array && c.length <= 255), 'context of an impossible length')
      return 'accepted'
    },
  })

  // A client receiving a server's request (type 13 only, fresh context required; RFC 9261 §4).
  const receiveEa = new ExportedAuthenticators({ role: 'client', exporter: corpus.pairs[0]!.exporter, hash: corpus.pairs[0]!.hash })
  targets.push({
    name: 'receiveRequest',
    seeds: corpus.requests,
    allowedCodes: new Set(['ERR_SC_DECODE', 'ERR_SC_AUTHENTICATOR_INVALID']),
    run(input) {
      const r = receiveEa.receiveRequest(input)
      check(r.type === 13, `a client accepted a type ${r.type} request`)
      return 'accepted'
    },
  })

  const streams = [...corpus.clientStreams, ...corpus.serverStreams]
  const prefaced = streams.map((_, i) => i < corpus.clientStreams.length)
  targets.push({
    name: 'FrameSplitter',
    seeds: streams,
    allowedCodes: NOTHING,
    run(input, i, rng) {
      const expectPreface = prefaced[i]!
      const maxExtractBytes = rng.pick([0, 64, 4096, 65536])
      const whole = split(input, [input.length], expectPreface, maxExtractBytes, cp)
      const cuts: number[] = []
      let left = input.length
      while (left > 0) {
        const k = Math.min(left, rng.chance(0.5) ? rng.range(1, 12) : rng.range(1, 600))
        cuts.push(k)
        left -= k
      }
      const chunked = split(input, cuts, expectPreface, maxExtractBytes, cp)
      check(whole.log === chunked.log, 'chunking changed what the splitter reported')
      check(sameBytes(whole.pass, chunked.pass), 'chunking changed the passed-through bytes')
      // Reconstruction: pass-through + re-encoded extracted frames is the input (reserved bit
      // of an extracted frame's stream id excepted, RFC 9113 §4.1), minus held trailing bytes.
      const rebuilt = whole.rebuilt
      check(rebuilt.length <= input.length, 'splitter produced more bytes than it was given')
      for (let k = 0; k < rebuilt.length; k++) {
        if (rebuilt[k] === input[k]) continue
        check(whole.reservedAt.has(k) && (input[k]! & 0x7f) === rebuilt[k], `byte ${k} changed by the splitter`)
      }
      if (whole.atBoundary) check(rebuilt.length === input.length, 'bytes lost at a frame boundary')
      else check(input.length - rebuilt.length <= 9 + maxExtractBytes, `${input.length - rebuilt.length} bytes unaccounted`)
      return whole.extracted > 0 ? 'accepted' : 'rejected'
    },
  })

  for (const p of corpus.pairs) addPairTargets(targets, p, corpus)
  return mergeByName(targets)
}

/** Targets per simulated connection are merged so counts are per function, not per key type. */
function mergeByName(targets: Target[]): Target[] {
  const byName = new Map<string, Target[]>()
  for (const t of targets) byName.set(t.name, [...(byName.get(t.name) ?? []), t])
  return [...byName.entries()].map(([name, ts]) => {
    if (ts.length === 1) return ts[0]!
    const seeds: Seed[] = []
    const owner: { t: Target; i: number }[] = []
    for (const t of ts) t.seeds.forEach((s, i) => (seeds.push(s), owner.push({ t, i })))
    return {
      name,
      seeds,
      allowedCodes: ts[0]!.allowedCodes,
      run(input: Uint8Array, i: number, rng: Rng): Outcome {
        const o = owner[i]!
        return o.t.run(input, o.i, rng)
      },
    }
  })
}

function split(input: Uint8Array, cuts: readonly number[], expectPreface: boolean, maxExtractBytes: number, cp: Corpus['codepoints']) {
  const parts: string[] = []
  const passChunks: Uint8Array[] = []
  const rebuiltChunks: Uint8Array[] = []
  const reservedAt = new Set<number>()
  let rebuiltLength = 0
  let extracted = 0
  let passRun = 0
  const flushPass = (): void => {
    if (passRun > 0) parts.push(`P${passRun}`)
    passRun = 0
  }
  const headerBytes = (h: FrameHeader): Uint8Array => {
    const b = new Uint8Array(9)
    b[0] = h.length >>> 16
    b[1] = (h.length >>> 8) & 0xff
    b[2] = h.length & 0xff
    b[3] = h.type
    b[4] = h.flags
    b[5] = (h.streamId >>> 24) & 0x7f
    b[6] = (h.streamId >>> 16) & 0xff
    b[7] = (h.streamId >>> 8) & 0xff
    b[8] = h.streamId & 0xff
    return b
  }
  const s = new FrameSplitter(
    {
      passThrough(bytes) {
        check(bytes.length > 0, 'empty passThrough')
        passRun += bytes.length
        passChunks.push(bytes.slice())
        rebuiltChunks.push(bytes.slice())
        rebuiltLength += bytes.length
      },
      extracted(header, payload) {
        check(payload.length === header.length, `extracted payload ${payload.length} != header length ${header.length}`)
        check(payload.length <= maxExtractBytes, 'extracted a frame above maxExtractBytes')
        check(header.type === cp.frameAuthenticatorRequests || header.type === cp.frameClientCertificate || header.type === cp.frameServerCertificate, 'extracted a frame of another type')
        flushPass()
        parts.push(`X${header.type}/${header.flags}/${header.streamId}/${Buffer.from(payload).toString('hex')}`)
        extracted++
        reservedAt.add(rebuiltLength + 5)
        rebuiltChunks.push(headerBytes(header), payload)
        rebuiltLength += 9 + payload.length
      },
      oversized(header) {
        check(header.length > maxExtractBytes, 'oversized report below the limit')
        flushPass()
        parts.push(`O${header.type}/${header.length}`)
      },
      observed(header, payload) {
        check(header.type === 0x4, 'observed a frame of an unobserved type')
        check(payload.length === header.length, 'observed payload length mismatch')
        flushPass()
        parts.push(`S${Buffer.from(payload).toString('hex')}`)
      },
    },
    { expectPreface, extractTypes: new Set([cp.frameAuthenticatorRequests, cp.frameClientCertificate, cp.frameServerCertificate]), maxExtractBytes, observeTypes: new Set([0x4]) },
  )
  let at = 0
  for (const k of cuts) {
    s.push(input.subarray(at, at + k))
    at += k
  }
  flushPass()
  return {
    log: parts.join(' '),
    pass: Uint8Array.from(Buffer.concat(passChunks)),
    rebuilt: Uint8Array.from(Buffer.concat(rebuiltChunks)),
    reservedAt,
    atBoundary: s.isAtFrameBoundary,
    extracted,
  }
}

function addPairTargets(targets: Target[], p: Pair, corpus: Corpus): void {
  const cp = corpus.codepoints
  const fresh = (role: 'server' | 'client'): ExportedAuthenticators => new ExportedAuthenticators({ role, exporter: p.exporter, hash: p.hash })
  const serverEa = fresh('server')
  const clientEa = fresh('client')
  const answers = p.answers
  const validFor = (request: Uint8Array): Uint8Array[] => answers.filter((a) => sameBytes(a.request, request)).map((a) => a.bytes)
  const answerSeeds = corpus.authenticators.filter((s) => s.name.startsWith(`${p.label}/answer-`))
  const spontaneousSeeds = corpus.authenticators.filter((s) => s.name.startsWith(`${p.label}/spontaneous-`))
  const requestSeeds = corpus.requests.filter((s) => s.name.startsWith(`${p.label}/request-`)).slice(0, p.requests.length)
  const listSeeds = corpus.requestLists.filter((s) => s.name.startsWith(`${p.label}/`))

  // RFC 9261 §7.4 on a client answer: a verdict, never a throw; no mutation validates.
  targets.push({
    name: 'validate(answer)',
    seeds: answerSeeds,
    allowedCodes: NOTHING,
    run(input, i) {
      const request = answers[i]!.request
      const legit = anyEqual(input, validFor(request))
      const v = (legit ? fresh('server') : serverEa).validate(input, { request })
      checkVerdict(v)
      if (v.kind !== 'invalid') check(legit, `a mutated authenticator validated as ${v.kind}`)
      return v.kind === 'invalid' ? 'rejected' : 'accepted'
    },
  })

  // The same with the request mutated and the answer intact: the transcript covers the request.
  targets.push({
    name: 'validate(request)',
    seeds: requestSeeds,
    allowedCodes: NOTHING,
    run(input, i) {
      const answer = answers[i]!
      const legit = sameBytes(input, answer.request)
      const v = (legit ? fresh('server') : serverEa).validate(answer.bytes, { request: input })
      checkVerdict(v)
      if (v.kind !== 'invalid') check(legit, `an authenticator validated against a mutated request as ${v.kind}`)
      return v.kind === 'invalid' ? 'rejected' : 'accepted'
    },
  })

  // Spontaneous server authenticators (SERVER -02 §3.2), validated without a request.
  targets.push({
    name: 'validate(spontaneous)',
    seeds: spontaneousSeeds,
    allowedCodes: NOTHING,
    run(input) {
      const legit = anyEqual(input, p.spontaneous)
      const v = (legit ? fresh('client') : clientEa).validate(input)
      checkVerdict(v)
      if (v.kind !== 'invalid') check(legit, `a mutated spontaneous authenticator validated as ${v.kind}`)
      return v.kind === 'invalid' ? 'rejected' : 'accepted'
    },
  })

  // ServerState.onFrame with a mutated CLIENT_CERTIFICATE (CLIENT -00 §4.2) answering the head.
  targets.push({
    name: 'ServerState.onFrame',
    seeds: answerSeeds,
    allowedCodes: NOTHING,
    run(input, i, rng) {
      const request = answers[i]!.request
      const legit = anyEqual(input, validFor(request))
      const small = rng.chance(0.05)
      const state = new ServerState({
        ea: legit ? fresh('server') : serverEa,
        codepoints: cp,
        clientCertAuth: true,
        serverCertAuth: true,
        maxAuthenticatorBytes: small ? 256 : 65536,
      })
      const negotiated = rng.chance(0.93)
      state.onPeerSettings(negotiated ? [[cp.settingClientCertAuth, rng.pick([1, 2, 3])], [cp.settingServerCertAuth, 1]] : rng.chance(0.5) ? [] : [[cp.settingClientCertAuth, 0]])
      const sent = state.requestAuthenticators([{ id: 1, bytes: request }])
      checkServerActions(sent)
      const r = rng.int(100)
      const type = r < 85 ? cp.frameClientCertificate : r < 90 ? cp.frameAuthenticatorRequests : r < 95 ? cp.frameServerCertificate : rng.int(256)
      const stream = rng.chance(0.95) ? 0 : rng.range(1, 0x7fffffff)
      const actions = state.onFrame(type, stream, input)
      checkServerActions(actions)
      let accepted = true
      for (const a of actions) {
        if (a.kind === 'goaway') accepted = false
        if (a.kind === 'result') {
          checkVerdict(a.verdict)
          check(a.id === 1, `result for unknown id ${a.id}`)
          if (a.verdict.kind !== 'invalid') check(legit, `ServerState accepted a mutated answer as ${a.verdict.kind}`)
        }
      }
      const closed = state.isClosed
      check(closed === !accepted, 'a GOAWAY action did not close the state (or closed without one)')
      if (closed) check(state.onFrame(cp.frameClientCertificate, 0, input).length === 0, 'a closed ServerState acted on input')
      else {
        // A second answer with nothing outstanding (N may allow more, but none was requested).
        const again = state.onFrame(cp.frameClientCertificate, 0, input)
        checkServerActions(again)
        if (type === cp.frameClientCertificate && stream === 0) {
          check(again.some((a) => a.kind === 'goaway'), 'unsolicited CLIENT_CERTIFICATE was not a violation')
        }
      }
      return accepted ? 'accepted' : 'rejected'
    },
  })

  // ClientState.onFrame with mutated AUTHENTICATOR_REQUESTS and SERVER_CERTIFICATE payloads.
  const clientSeeds = [...listSeeds, ...spontaneousSeeds]
  targets.push({
    name: 'ClientState.onFrame',
    seeds: clientSeeds,
    allowedCodes: NOTHING,
    run(input, i, rng) {
      const isList = i < listSeeds.length
      const legit = !isList && anyEqual(input, p.spontaneous)
      const n = rng.pick([1, 2, 4])
      const state = new ClientState({ ea: fresh('client'), codepoints: cp, clientCertAuth: n, serverCertAuth: true, maxAuthenticatorBytes: rng.chance(0.05) ? 256 : 65536 })
      if (rng.chance(0.95)) state.onPeerSettings([[cp.settingClientCertAuth, 1], [cp.settingServerCertAuth, 1], [0x5, rng.pick([16384, 65536])]])
      const r = rng.int(100)
      const type = r < 92 ? (isList ? cp.frameAuthenticatorRequests : cp.frameServerCertificate) : r < 96 ? cp.frameClientCertificate : rng.int(256)
      const stream = rng.chance(0.96) ? 0 : rng.range(1, 0x7fffffff)
      const actions = state.onFrame(type, stream, input)
      checkClientActions(actions)
      let accepted = true
      for (const a of actions) {
        if (a.kind === 'goaway') accepted = false
        if (a.kind === 'server-certificate') check(legit, 'ClientState accepted a mutated SERVER_CERTIFICATE')
        if (a.kind === 'requests') {
          check(a.items.length > 0 && a.items.length <= n, `${a.items.length} requests with N=${n}`)
          // Answer every request, some with a credential, in a random order: frames must leave
          // in request order, one per request (CLIENT -00 §4.1.4).
          const order = a.items.map((x) => x.id)
          for (let k = order.length - 1; k > 0; k--) {
            const j = rng.int(k + 1)
            ;[order[k], order[j]] = [order[j]!, order[k]!]
          }
          let sends = 0
          for (const id of order) {
            const out = state.answer(id, rng.chance(0.3) ? rng.pick(p.credentials) : null)
            checkClientActions(out)
            sends += out.filter((x) => x.kind === 'send').length
          }
          check(sends === a.items.length, `${sends} answers sent for ${a.items.length} requests`)
          check(state.outstandingCount === 0, 'answered requests still outstanding')
        }
      }
      check(state.isClosed === !accepted, 'GOAWAY and closed state disagree')
      return accepted ? 'accepted' : 'rejected'
    },
  })
}

function checkServerActions(actions: readonly ServerAction[]): void {
  check(Array.isArray(actions), 'actions is not an array')
  for (const a of actions) {
    check(a.kind === 'send' || a.kind === 'goaway' || a.kind === 'result', `unknown server action ${String((a as { kind?: unknown }).kind)}`)
    if (a.kind === 'goaway') checkGoaway(a.error)
    if (a.kind === 'send') check(a.payload instanceof Uint8Array && a.payload.length > 0, 'send with an empty payload')
  }
}

function checkClientActions(actions: readonly ClientAction[]): void {
  check(Array.isArray(actions), 'actions is not an array')
  const kinds = ['send', 'goaway', 'requests', 'server-certificate', 'declined-instead']
  for (const a of actions) {
    check(kinds.includes(a.kind), `unknown client action ${String((a as { kind?: unknown }).kind)}`)
    if (a.kind === 'goaway') checkGoaway(a.error)
    if (a.kind === 'send') check(a.payload instanceof Uint8Array && a.payload.length > 0, 'send with an empty payload')
  }
}

function checkGoaway(e: { code?: unknown; http2Code?: unknown }): void {
  check(e?.code === 'ERR_SC_PROTOCOL', `GOAWAY error code ${String(e?.code)}`)
  check(typeof e.http2Code === 'number' && Number.isInteger(e.http2Code) && e.http2Code >= 0, 'GOAWAY without an HTTP/2 code')
}
