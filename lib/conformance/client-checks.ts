/**
 * Checks of a CLIENT under test (digest http2-secondary-certs §1, §2, §3.2, §3.3; RFC 9261 §4-§5):
 * our raw-frame server gives each client connection one check: it sends its SETTINGS for that
 * check, then a request list or a SERVER_CERTIFICATE broken in one way (or a valid one), and
 * judges the client's reaction.
 */
import { ExportedAuthenticators } from '../ea/authenticators.js'
import type { Codepoints } from '../config.js'
import { nodeCrypto } from '../crypto/node-provider.js'
import { encodeCertificateRequest } from '../wire/tls/certificate-request.js'
import { TLS13_SCHEMES } from '../wire/tls/signature-scheme.js'
import { FrameType, SETTINGS_MAX_FRAME_SIZE, encodeRequestList, encodeVarint } from './raw-peer.js'
import type { Frame, RawPeer } from './raw-peer.js'
import { connectionKeys, forgeAuthenticator, subjectOf } from './forge.js'
import type { ForgeCredential } from './forge.js'
import { FRAME_SIZE_ERROR, PROTOCOL_ERROR, describeReaction, expectGoaway, fail, hexCode, pass, reaction, skip, sleep } from './common.js'
import type { Outcome } from './common.js'

export interface ClientCtx {
  readonly cp: Codepoints
  readonly timeoutMs: number
  /** What SERVER_CERTIFICATE checks present (the tester's server credential). */
  readonly serverCredential: ForgeCredential
}

export interface ClientCheck {
  readonly check: string
  readonly section: string
  readonly description: string
  /** The tester server's SETTINGS on this check's connection. Default: both settings = 1. */
  readonly serverSettings?: (cp: Codepoints) => [number, number][]
  run(p: RawPeer, ctx: ClientCtx): Promise<Outcome>
}

const limitOf = (p: RawPeer, cp: Codepoints): number => p.settings.get(cp.settingClientCertAuth) ?? 0
const notAdvertised = (what: string): Outcome => skip(`client did not advertise ${what}`)

/** A fresh type-13 request with every TLS 1.3 scheme (RFC 9261 §4). */
function newRequest(context: Uint8Array = nodeCrypto.randomBytes(32)): Uint8Array {
  return encodeCertificateRequest({ context, signatureAlgorithms: TLS13_SCHEMES })
}

function sendRequests(p: RawPeer, ctx: ClientCtx, payload: Uint8Array, streamId = 0): void {
  p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, streamId, payload)
}

/** The client's next CLIENT_CERTIFICATE (not in `seen`) or its GOAWAY. */
async function nextAnswer(p: RawPeer, ctx: ClientCtx, seen: ReadonlySet<Frame> = new Set()): Promise<Frame | string> {
  try {
    const f = await p.waitFor((x) => (x.type === ctx.cp.frameClientCertificate && !seen.has(x)) || x.type === FrameType.GOAWAY, ctx.timeoutMs, 'CLIENT_CERTIFICATE')
    if (f.type === FrameType.GOAWAY) return `GOAWAY ${hexCode(f.payload.readUInt32BE(4))} instead of an answer`
    return f
  } catch (e) {
    return (e as Error).message
  }
}

/** Expects a connection error with `code`; an answer to the bad input is named in the failure. */
async function expectRejected(p: RawPeer, ctx: ClientCtx, ...codes: number[]): Promise<Outcome> {
  const g = await reaction(p, ctx.timeoutMs)
  const answered = p.frames.some((f) => f.type === ctx.cp.frameClientCertificate)
  const o = expectGoaway(g, ...codes)
  return o.result === 'fail' && answered ? fail(`${o.detail}; the client answered instead`) : o
}

const validServerAuthenticator = (p: RawPeer, ctx: ClientCtx, tamperSignature = false): Uint8Array =>
  forgeAuthenticator(connectionKeys(p.socket), { credential: ctx.serverCredential, creator: 'server', tamperSignature })

/** Context of a full authenticator (the Certificate message's first field), else undefined. */
function answerContext(a: Uint8Array): string | undefined {
  if (a[0] !== 11 || a.length < 5) return undefined
  return Buffer.from(a.subarray(5, 5 + a[4]!)).toString('hex')
}

const requestsOnly = (cp: Codepoints): [number, number][] => [[cp.settingClientCertAuth, 1]]

export const CLIENT_CHECKS: readonly ClientCheck[] = [
  {
    check: 'settings-values',
    section: 'SERVER -02 §4.1; CLIENT -00 §3.1',
    description: "the client's SETTINGS_HTTP_SERVER_CERT_AUTH is 0 or 1; SETTINGS_HTTP_CLIENT_CERT_AUTH is its credential count",
    async run(p, ctx) {
      const v = p.settings.get(ctx.cp.settingServerCertAuth)
      if (v !== undefined && v !== 0 && v !== 1) return fail(`SETTINGS_HTTP_SERVER_CERT_AUTH = ${v} (MUST be 0 or 1)`)
      return pass(`client ${hexCode(ctx.cp.settingServerCertAuth)}=${v ?? 0}, ${hexCode(ctx.cp.settingClientCertAuth)}=${limitOf(p, ctx.cp)}`)
    },
  },
  {
    check: 'request-answered',
    section: 'CLIENT -00 §4, §4.2; RFC 9261 §5.1-§5.2',
    description: 'a valid request is answered on stream 0 with an authenticator that validates with the client labels',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const ea = ExportedAuthenticators.fromTlsSocket(p.socket, { role: 'server' })
      const r = ea.request()
      sendRequests(p, ctx, encodeRequestList([r]))
      const f = await nextAnswer(p, ctx)
      if (typeof f === 'string') return fail(f)
      if (f.streamId !== 0) return fail(`answer on stream ${f.streamId}`)
      const v = ea.validate(f.payload, { request: r })
      if (v.kind === 'invalid') return fail(`answer does not validate: ${v.reason}`)
      return pass(v.kind === 'identity' ? `identity ${subjectOf(v.chain[0]!)}` : 'declined (valid empty authenticator)')
    },
  },
  {
    check: 'no-unrequested-answers',
    section: 'CLIENT -00 §4.2; digest §3.1',
    description: 'CLIENT_CERTIFICATE only answers requests: none before a request, exactly one for one request',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const quietMs = Math.min(250, Math.floor(ctx.timeoutMs / 4))
      const answers = (): number => p.frames.filter((f) => f.type === ctx.cp.frameClientCertificate).length
      await sleep(quietMs)
      if (answers() > 0) return fail(`${answers()} CLIENT_CERTIFICATE frame(s) before any request (a server treats it as a connection error)`)
      sendRequests(p, ctx, encodeRequestList([newRequest()]))
      const f = await nextAnswer(p, ctx)
      if (typeof f === 'string') return fail(f)
      await sleep(quietMs)
      if (answers() > 1) return fail(`${answers()} CLIENT_CERTIFICATE frames for one request`)
      return pass(`one answer to one request, none unasked (watched ${quietMs} ms before and after)`)
    },
  },
  {
    check: 'answers-in-order',
    section: 'CLIENT -00 §4.2; digest §3.1 (FIFO)',
    description: 'two requests are answered in the order received',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 2) return skip(`client limit ${limitOf(p, ctx.cp)} < 2: order cannot be seen`)
      const reqs = [newRequest(), newRequest()]
      sendRequests(p, ctx, encodeRequestList(reqs))
      const seen = new Set<Frame>()
      const order: number[] = []
      const keys = connectionKeys(p.socket)
      for (let i = 0; i < 2; i++) {
        const f = await nextAnswer(p, ctx, seen)
        if (typeof f === 'string') return fail(`answer ${i + 1}: ${f}`)
        seen.add(f)
        const c = answerContext(f.payload)
        let which = c === undefined ? -1 : reqs.findIndex((r) => Buffer.from(r.subarray(5, 5 + r[4]!)).toString('hex') === c)
        if (c === undefined) {
          // An empty authenticator names no context: match it by its MAC under either label set.
          which = reqs.findIndex((request) =>
            (['client', 'server'] as const).some((creator) => Buffer.from(forgeAuthenticator(keys, { request, creator })).equals(f.payload)),
          )
        }
        order.push(which)
      }
      if (order[0] === 0 && order[1] === 1) return pass('answered request 1, then request 2')
      return fail(`answers matched requests ${order.map((i) => (i < 0 ? '?' : String(i + 1))).join(', ')} (expected 1, 2)`)
    },
  },
  {
    check: 'exceeds-client-limit',
    section: 'CLIENT -00 §4.1.4',
    description: 'more outstanding requests than SETTINGS_HTTP_CLIENT_CERT_AUTH allows is a connection error',
    async run(p, ctx) {
      const n = limitOf(p, ctx.cp)
      if (n < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      if (n > 64) return skip(`client limit ${n} too large to exceed cheaply`)
      sendRequests(p, ctx, encodeRequestList(Array.from({ length: n + 1 }, () => newRequest())))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'requests-on-stream',
    section: 'CLIENT -00 §4.1.1',
    description: 'AUTHENTICATOR_REQUESTS on a stream other than 0 is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      sendRequests(p, ctx, encodeRequestList([newRequest()]), 1)
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'empty-request-list',
    section: 'CLIENT -00 §4.1',
    description: 'an AUTHENTICATOR_REQUESTS frame with no request is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      sendRequests(p, ctx, new Uint8Array(0))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'truncated-varint',
    section: 'CLIENT -00 §4.1.1; RFC 9000 §16',
    description: 'a request list ending in a truncated varint is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      sendRequests(p, ctx, Buffer.concat([encodeRequestList([newRequest()]), Buffer.from([0x80, 0x00])]))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'length-past-end',
    section: 'CLIENT -00 §4.1, §4.1.1',
    description: "a request whose length runs past the frame's end is a connection error",
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const r = newRequest()
      sendRequests(p, ctx, Buffer.concat([encodeVarint(r.length + 40), r]))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'not-a-certificate-request',
    section: 'CLIENT -00 §4.1; RFC 9261 §4',
    description: 'a request entry that is not a CertificateRequest (a Finished message) is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      sendRequests(p, ctx, encodeRequestList([Buffer.concat([Buffer.from([0x14, 0, 0, 32]), Buffer.alloc(32, 0x5a)])]))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'duplicated-context',
    section: 'RFC 9261 §4; CLIENT -00 §4.1',
    description: 'a request reusing the context of an earlier request on the connection is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const context = nodeCrypto.randomBytes(32)
      sendRequests(p, ctx, encodeRequestList([newRequest(context)]))
      const first = await nextAnswer(p, ctx)
      if (typeof first === 'string') return fail(`first request: ${first}`)
      sendRequests(p, ctx, encodeRequestList([encodeCertificateRequest({ context, signatureAlgorithms: [0x0403, 0x0804, 0x0807] })]))
      const g = await reaction(p, ctx.timeoutMs)
      const answers = p.frames.filter((f) => f.type === ctx.cp.frameClientCertificate).length
      const o = expectGoaway(g, PROTOCOL_ERROR)
      return o.result === 'fail' && answers > 1 ? fail(`${o.detail}; the reused context was answered`) : o
    },
  },
  {
    check: 'no-signature-algorithms',
    section: 'RFC 8446 §4.3.2; RFC 9261 §4',
    description: 'a request without signature_algorithms is a connection error',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const context = nodeCrypto.randomBytes(32)
      // context<0..255> then extensions<2..2^16-1> holding one unknown, empty extension.
      const body = Buffer.concat([Buffer.from([32]), context, Buffer.from([0, 4, 0x7a, 0x7a, 0, 0])])
      const req = Buffer.concat([Buffer.from([13, 0, 0, body.length]), body])
      sendRequests(p, ctx, encodeRequestList([req]))
      return expectRejected(p, ctx, PROTOCOL_ERROR)
    },
  },
  {
    check: 'requests-before-negotiation',
    section: 'CLIENT -00 §3.1',
    description: 'AUTHENTICATOR_REQUESTS from a server that did not advertise SETTINGS_HTTP_CLIENT_CERT_AUTH: PROTOCOL_ERROR or ignored, never answered',
    serverSettings: (cp) => [[cp.settingServerCertAuth, 1]],
    async run(p, ctx) {
      sendRequests(p, ctx, encodeRequestList([newRequest()]))
      const g = await reaction(p, ctx.timeoutMs)
      if (p.frames.some((f) => f.type === ctx.cp.frameClientCertificate)) return fail('the client answered a request the server was not allowed to send')
      if (typeof g === 'object') return expectGoaway(g, PROTOCOL_ERROR)
      return g === 'closed' ? fail(describeReaction(g)) : pass('ignored; not answered')
    },
  },
  {
    check: 'type-17-request',
    section: 'CLIENT -00 §4.1.3 vs RFC 9261 §4 (digest §2.1.1)',
    description: 'a ClientCertificateRequest (type 17) from a server: rejected with PROTOCOL_ERROR (RFC 9261 reading) or answered validly (draft wording)',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const r17 = encodeCertificateRequest({ type: 17, context: nodeCrypto.randomBytes(32), signatureAlgorithms: TLS13_SCHEMES })
      sendRequests(p, ctx, encodeRequestList([r17]))
      const f = await nextAnswer(p, ctx)
      if (typeof f === 'string') {
        if (p.goaway) {
          return p.goaway.code === PROTOCOL_ERROR ? pass('rejected with GOAWAY 0x1 (RFC 9261 reading: servers send type 13)') : fail(`GOAWAY ${hexCode(p.goaway.code)} (expected PROTOCOL_ERROR or an answer)`)
        }
        return fail(`neither answered nor rejected: ${f}`)
      }
      const ea = ExportedAuthenticators.fromTlsSocket(p.socket, { role: 'server', acceptType17FromServer: true })
      ea.receiveRequest(r17)
      const v = ea.validate(f.payload, { request: r17 })
      return v.kind === 'invalid' ? fail(`answer does not validate: ${v.reason}`) : pass(`accepted type 17 (draft wording), answered: ${v.kind}`)
    },
  },
  {
    check: 'invalid-server-certificate',
    section: 'SERVER -02 §5.3, §6.1',
    description: 'a SERVER_CERTIFICATE whose signature is wrong is a SERVER_CERTIFICATE_INVALID connection error',
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, validServerAuthenticator(p, ctx, true))
      return expectGoaway(await reaction(p, ctx.timeoutMs), ctx.cp.errorServerCertificateInvalid)
    },
  },
  {
    check: 'server-certificate-tampered-finished',
    section: 'SERVER -02 §5.3, §6.1; RFC 9261 §5.2.3',
    description: 'a SERVER_CERTIFICATE whose Finished MAC is wrong (signature valid) is a SERVER_CERTIFICATE_INVALID connection error',
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      const a = forgeAuthenticator(connectionKeys(p.socket), { credential: ctx.serverCredential, creator: 'server', tamperFinished: true })
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, a)
      return expectGoaway(await reaction(p, ctx.timeoutMs), ctx.cp.errorServerCertificateInvalid)
    },
  },
  {
    check: 'server-certificate-on-stream',
    section: 'SERVER -02 §5.1',
    description: 'a valid SERVER_CERTIFICATE on a stream other than 0 is a PROTOCOL_ERROR connection error',
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 1, validServerAuthenticator(p, ctx))
      return expectGoaway(await reaction(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'server-certificate-unnegotiated',
    section: 'CLIENT -00 §4.2; SERVER -02 §3.1',
    description: 'a valid SERVER_CERTIFICATE from a server that did not advertise SETTINGS_HTTP_SERVER_CERT_AUTH is a PROTOCOL_ERROR',
    serverSettings: requestsOnly,
    async run(p, ctx) {
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, validServerAuthenticator(p, ctx))
      return expectGoaway(await reaction(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'server-certificate-replayed',
    section: 'RFC 9261 §5.2.1, §7.4; SERVER -02 §5.3 (digest §3.2)',
    description: 'the same valid SERVER_CERTIFICATE twice: the second is a connection error',
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      const a = validServerAuthenticator(p, ctx)
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, a)
      const first = await reaction(p, 150)
      if (typeof first === 'object') return fail(`the first, valid SERVER_CERTIFICATE was rejected: ${describeReaction(first)}`)
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, a)
      return expectGoaway(await reaction(p, ctx.timeoutMs), ctx.cp.errorServerCertificateInvalid, PROTOCOL_ERROR)
    },
  },
  {
    check: 'oversized-frame',
    section: 'RFC 9113 §4.2',
    description: "a SERVER_CERTIFICATE above the client's SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR",
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      const max = p.settings.get(SETTINGS_MAX_FRAME_SIZE) ?? 16384
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, new Uint8Array(max + 1))
      return expectGoaway(await reaction(p, ctx.timeoutMs), FRAME_SIZE_ERROR)
    },
  },
]
