/**
 * Conformance mode for other implementations (issue 5 item 3), in the spirit of h2spec:
 *
 * - `runConformanceServer(url)` connects to a third-party server with a raw-frame client and runs
 *   the server-side checks of the error table and ordering rules (digest http2-secondary-certs
 *   §3), one fresh connection per check.
 * - `runConformanceClient(port)` runs a deliberately misbehaving raw-frame server; each client
 *   connection that arrives gets the next check, and the client's reaction is reported.
 *
 * Every result names the draft section it tests. Codepoints default to digest §5 and can be
 * overridden to match the implementation under test.
 */
import { X509Certificate } from 'node:crypto'
import { resolveCodepoints } from '../config.js'
import type { Codepoints } from '../config.js'
import { loadCredential } from '../binding/credentials.js'
import { nodeCrypto } from '../crypto/node-provider.js'
import { createTestPki } from '../pki/test-pki.js'
import { encodeCertificateRequest } from '../wire/tls/certificate-request.js'
import {
  FrameType,
  H2Error,
  SETTINGS_MAX_FRAME_SIZE,
  connectRaw,
  decodeRequestList,
  encodeRequestList,
  encodeResponse200,
  listenRaw,
} from './raw-peer.js'
import type { Frame, GoawayInfo, RawPeer } from './raw-peer.js'

/** One check's outcome. `skipped`: the peer did not advertise what the check needs. */
export interface ConformanceResult {
  readonly check: string
  readonly section: string
  readonly result: 'pass' | 'fail' | 'skipped'
  readonly detail: string
}

export interface ConformanceServerOptions {
  /** Trust anchor (PEM) for the server certificate; without it the certificate is not verified. */
  readonly ca?: string
  /** SNI and :authority. Default: the URL's host name. */
  readonly servername?: string
  /** A path that makes the server ask for client identities. Default '/whoami'. */
  readonly requestPath?: string
  /** Credential used for valid answers (PEM). Default: a freshly generated P-256 one. */
  readonly credential?: { readonly cert: string; readonly key: string }
  /** Per-check wait. Default 3000 ms. */
  readonly timeoutMs?: number
  readonly codepoints?: Partial<Codepoints>
  /** Restrict to these check names. */
  readonly only?: readonly string[]
}

export interface ConformanceClientOptions {
  /** Server certificate chain and key (PEM) the misbehaving server presents. */
  readonly cert: string
  readonly key: string
  /** Credential for SERVER_CERTIFICATE checks. Default: the TLS certificate and key. */
  readonly serverCredential?: { readonly cert: string; readonly key: string }
  /** Called once listening (useful with port 0). */
  readonly onListening?: (port: number) => void
  /** Called after each check. */
  readonly onResult?: (r: ConformanceResult) => void
  /** Per-check wait. Default 3000 ms. */
  readonly timeoutMs?: number
  /** Overall limit for all clients to have connected. Default 60 000 ms. */
  readonly totalTimeoutMs?: number
  readonly codepoints?: Partial<Codepoints>
  readonly only?: readonly string[]
}

const PROTOCOL_ERROR = H2Error.PROTOCOL_ERROR
const hexCode = (c: number): string => `0x${c.toString(16)}`

/** An authenticator with one byte of its last message (the Finished MAC) flipped. */
function corruptLastByte(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(a)
  out[out.length - 1] = out[out.length - 1]! ^ 0x01
  return out
}

/** Flips a byte inside the CertificateVerify signature of a full authenticator. */
function corruptSignature(auth: Uint8Array): Uint8Array {
  const out = new Uint8Array(auth)
  const certLen = (out[1]! << 16) | (out[2]! << 8) | out[3]!
  out[4 + certLen + 10] = out[4 + certLen + 10]! ^ 0x01
  return out
}

async function goawayOrNot(p: RawPeer, ms: number): Promise<GoawayInfo | 'closed' | 'none'> {
  try {
    return await p.waitForGoaway(ms)
  } catch {
    return p.closed ? 'closed' : 'none'
  }
}

function describe(g: GoawayInfo | 'closed' | 'none'): string {
  return g === 'closed' ? 'connection closed without GOAWAY' : g === 'none' ? 'no reaction' : `GOAWAY ${hexCode(g.code)}${g.debug ? ` (${g.debug})` : ''}`
}

// ------------------------------------------------------------------------------------------------
// Server checks

interface ServerCheck {
  readonly check: string
  readonly section: string
  run(ctx: ServerCtx): Promise<Omit<ConformanceResult, 'check' | 'section'>>
}

interface ServerCtx {
  readonly cp: Codepoints
  readonly timeoutMs: number
  readonly path: string
  readonly authority: string
  open(settings: readonly (readonly [number, number])[]): Promise<RawPeer>
  credential(): Promise<ReturnType<typeof loadCredential>>
}

const expectCode = (g: GoawayInfo | 'closed' | 'none', code: number): Omit<ConformanceResult, 'check' | 'section'> =>
  typeof g === 'object' && g.code === code ? { result: 'pass', detail: describe(g) } : { result: 'fail', detail: `expected GOAWAY ${hexCode(code)}, got ${describe(g)}` }

/** Sends GET path and waits for the server's first AUTHENTICATOR_REQUESTS. */
async function solicit(ctx: ServerCtx, p: RawPeer): Promise<{ frame: Frame; requests: Uint8Array[] } | string> {
  p.sendGet(1, ctx.path, ctx.authority)
  try {
    const frame = await p.waitFor((f) => f.type === ctx.cp.frameAuthenticatorRequests, ctx.timeoutMs, 'AUTHENTICATOR_REQUESTS')
    return { frame, requests: decodeRequestList(frame.payload) }
  } catch (e) {
    return `server did not ask for an identity after GET ${ctx.path}: ${(e as Error).message}`
  }
}

const both = (cp: Codepoints, n: number): [number, number][] => [
  [cp.settingClientCertAuth, n],
  [cp.settingServerCertAuth, 1],
]

const SERVER_CHECKS: readonly ServerCheck[] = [
  {
    check: 'unsolicited-client-certificate',
    section: 'CLIENT -00 §4.2',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, Buffer.concat([Buffer.from([0x14, 0, 0, 48]), Buffer.alloc(48)]))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'client-certificate-on-stream',
    section: 'SERVER -02 §5.1; CLIENT -00 §4.2',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 1, new Uint8Array(52))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'authenticator-requests-to-server',
    section: 'CLIENT -00 §4.1.1',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList([p.ea().request()]))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'server-certificate-from-client',
    section: 'SERVER -02 §3.2',
    async run(ctx) {
      if (ctx.cp.frameServerCertificate === ctx.cp.frameClientCertificate) {
        return { result: 'skipped', detail: 'shared frame type mode: direction decides' }
      }
      const p = await ctx.open(both(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, new Uint8Array(100))
      const g = await goawayOrNot(p, ctx.timeoutMs)
      // MUST close; the draft names no code (digest §3.3: we use PROTOCOL_ERROR).
      if (typeof g === 'object') return { result: 'pass', detail: `${describe(g)}${g.code === PROTOCOL_ERROR ? '' : ' (draft names no code)'}` }
      return g === 'closed' ? { result: 'pass', detail: describe(g) } : { result: 'fail', detail: 'connection stayed open (SERVER -02 §3.2: MUST close)' }
    },
  },
  {
    check: 'frame-before-negotiation',
    section: 'CLIENT -00 §3.1',
    async run(ctx) {
      // Advertise only server cert auth: client certificate frames are not negotiated.
      const p = await ctx.open([[ctx.cp.settingServerCertAuth, 1]])
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, new Uint8Array(52))
      const g = await goawayOrNot(p, Math.min(ctx.timeoutMs, 1500))
      if (typeof g === 'object') return expectCode(g, PROTOCOL_ERROR)
      if (g === 'closed') return { result: 'fail', detail: describe(g) }
      // Not specified by the draft: ignoring it as an unknown frame (RFC 9113 §5.5) is acceptable
      // if the connection keeps working.
      p.sendGet(1, '/', ctx.authority)
      try {
        await p.waitForHeaders(1, ctx.timeoutMs)
        return { result: 'pass', detail: 'ignored (RFC 9113 §5.5); connection still serves requests' }
      } catch (e) {
        return { result: 'fail', detail: `no GOAWAY and the connection stopped working: ${(e as Error).message}` }
      }
    },
  },
  {
    check: 'oversized-extension-frame',
    section: 'RFC 9113 §4.2',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 1))
      const max = p.settings.get(SETTINGS_MAX_FRAME_SIZE) ?? 16384
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, new Uint8Array(max + 1))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), H2Error.FRAME_SIZE_ERROR)
    },
  },
  {
    check: 'declining',
    section: 'CLIENT -00 §4, §4.2; RFC 9261 §5.2.4',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 2))
      const got = await solicit(ctx, p)
      if (typeof got === 'string') return { result: 'fail', detail: got }
      const ea = p.ea()
      let declined = 0
      const answer = (reqs: Uint8Array[]): void => {
        for (const r of reqs) {
          ea.receiveRequest(r)
          p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, ea.authenticate({ request: r }))
          declined++
        }
      }
      answer(got.requests)
      // Decline replenished requests too, until the response arrives.
      p.on('frame', (f: Frame) => {
        if (f.type === ctx.cp.frameAuthenticatorRequests && f !== got.frame) answer(decodeRequestList(f.payload))
      })
      try {
        await p.waitForHeaders(1, ctx.timeoutMs + 2000)
      } catch (e) {
        return { result: 'fail', detail: `after ${declined} empty authenticator(s): ${(e as Error).message}` }
      }
      if (p.goaway) return { result: 'fail', detail: `declining ended the connection: GOAWAY ${hexCode(p.goaway.code)}` }
      return { result: 'pass', detail: `${declined} request(s) declined; response received, connection open` }
    },
  },
  {
    check: 'outstanding-limit',
    section: 'CLIENT -00 §4.1.4',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 1))
      const got = await solicit(ctx, p)
      if (typeof got === 'string') return { result: 'fail', detail: got }
      const ea = p.ea()
      let frames = 0
      let violation: string | undefined
      const onFrame = (f: Frame): void => {
        if (f.type !== ctx.cp.frameAuthenticatorRequests) return
        frames++
        const reqs = decodeRequestList(f.payload)
        if (reqs.length > 1) violation = `a frame carried ${reqs.length} requests with N = 1`
        // Outstanding is 0 here (we answer each frame at once), so one request may come.
        for (const r of reqs) {
          ea.receiveRequest(r)
          p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, ea.authenticate({ request: r }))
        }
      }
      onFrame(got.frame)
      p.on('frame', (f: Frame) => {
        if (f !== got.frame) onFrame(f)
      })
      try {
        await p.waitForHeaders(1, ctx.timeoutMs + 2000)
      } catch {
        // The server may keep waiting for identities it does not get; only the limit matters here.
      }
      if (violation) return { result: 'fail', detail: violation }
      return { result: 'pass', detail: `${frames} AUTHENTICATOR_REQUESTS frame(s), never more than 1 outstanding` }
    },
  },
  {
    check: 'invalid-authenticator',
    section: 'CLIENT -00 §4.2.1; RFC 9261 §7.4 (digest §2.4)',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 2))
      const got = await solicit(ctx, p)
      if (typeof got === 'string') return { result: 'fail', detail: got }
      const ea = p.ea()
      const r = got.requests[0]!
      ea.receiveRequest(r)
      const cred = await ctx.credential()
      let auth: Uint8Array
      try {
        auth = corruptSignature(ea.authenticate({ request: r, credential: cred }))
      } catch {
        auth = corruptLastByte(ea.emptyAuthenticator(r)) // no usable scheme: a bad empty one
      }
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, auth)
      const g = await goawayOrNot(p, ctx.timeoutMs)
      if (typeof g === 'object') return { result: 'pass', detail: `${describe(g)}${g.code === PROTOCOL_ERROR ? '' : ' (the draft names no code; PROTOCOL_ERROR recommended)'}` }
      return { result: 'fail', detail: `invalid authenticator not treated as a connection error: ${describe(g)}` }
    },
  },
  {
    check: 'replayed-authenticator',
    section: 'CLIENT -00 §5.2; RFC 9261 §5.2.1, §7.4',
    async run(ctx) {
      const p = await ctx.open(both(ctx.cp, 2))
      const got = await solicit(ctx, p)
      if (typeof got === 'string') return { result: 'fail', detail: got }
      const ea = p.ea()
      for (const r of got.requests) ea.receiveRequest(r)
      const cred = await ctx.credential()
      let auth: Uint8Array
      try {
        auth = ea.authenticate({ request: got.requests[0]!, credential: cred })
      } catch (e) {
        return { result: 'skipped', detail: `no offered scheme fits the test credential: ${(e as Error).message}` }
      }
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, auth)
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, auth)
      const g = await goawayOrNot(p, ctx.timeoutMs)
      if (typeof g === 'object') return { result: 'pass', detail: `replay rejected: ${describe(g)}` }
      return { result: 'fail', detail: `replayed authenticator not rejected: ${describe(g)}` }
    },
  },
]

/** Names and sections of the server-side checks. */
export const SERVER_CHECK_NAMES: readonly { readonly check: string; readonly section: string }[] = SERVER_CHECKS.map(({ check, section }) => ({ check, section }))

/**
 * Runs every server-side check against `url` (an https URL of an HTTP/2 server that implements
 * the drafts), one fresh TLS 1.3 connection each.
 */
export async function runConformanceServer(url: string, opts: ConformanceServerOptions = {}): Promise<ConformanceResult[]> {
  const u = new URL(url)
  const cp = resolveCodepoints(opts.codepoints)
  const timeoutMs = opts.timeoutMs ?? 3000
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const port = Number(u.port || 443)
  const servername = opts.servername ?? (/^[\d.]+$/.test(host) || host.includes(':') ? 'localhost' : host)
  const peers: RawPeer[] = []
  let cred: Promise<ReturnType<typeof loadCredential>> | undefined
  const ctx: ServerCtx = {
    cp,
    timeoutMs,
    path: opts.requestPath ?? '/whoami',
    authority: opts.servername ?? u.host,
    async open(settings) {
      const p = await connectRaw({ port, host, servername, settings, ...(opts.ca ? { ca: opts.ca } : {}) })
      peers.push(p)
      await p.waitForSettings(timeoutMs)
      return p
    },
    credential() {
      cred ??= (async () => {
        if (opts.credential) return loadCredential(opts.credential, nodeCrypto, 'conformance')
        const pki = await createTestPki({ keyType: 'p256' })
        return loadCredential({ cert: pki.user.chainPem, key: pki.user.keyPem }, nodeCrypto, 'conformance')
      })()
      return cred
    },
  }
  const results: ConformanceResult[] = []
  for (const c of SERVER_CHECKS) {
    if (opts.only && !opts.only.includes(c.check)) continue
    let r: Omit<ConformanceResult, 'check' | 'section'>
    try {
      r = await c.run(ctx)
    } catch (e) {
      r = { result: 'fail', detail: `error: ${(e as Error).message}` }
    }
    results.push({ check: c.check, section: c.section, ...r })
    for (const p of peers.splice(0)) p.close()
  }
  return results
}

// ------------------------------------------------------------------------------------------------
// Client checks

interface ClientCheck {
  readonly check: string
  readonly section: string
  run(p: RawPeer, ctx: ClientCtx): Promise<Omit<ConformanceResult, 'check' | 'section'>>
}

interface ClientCtx {
  readonly cp: Codepoints
  readonly timeoutMs: number
  credential(): ReturnType<typeof loadCredential>
}

const limitOf = (p: RawPeer, cp: Codepoints): number => p.settings.get(cp.settingClientCertAuth) ?? 0

const notAdvertised = (what: string): Omit<ConformanceResult, 'check' | 'section'> => ({ result: 'skipped', detail: `client did not advertise ${what}` })

const CLIENT_CHECKS: readonly ClientCheck[] = [
  {
    check: 'request-answered',
    section: 'CLIENT -00 §4, §4.2; RFC 9261 §5.2',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const r = p.ea().request()
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList([r]))
      try {
        const f = await p.waitFor((x) => x.type === ctx.cp.frameClientCertificate || x.type === FrameType.GOAWAY, ctx.timeoutMs, 'CLIENT_CERTIFICATE')
        if (f.type === FrameType.GOAWAY) return { result: 'fail', detail: `GOAWAY ${hexCode(f.payload.readUInt32BE(4))} instead of an answer` }
        if (f.streamId !== 0) return { result: 'fail', detail: `answer on stream ${f.streamId}` }
        const v = p.ea().validate(f.payload, { request: r })
        if (v.kind === 'invalid') return { result: 'fail', detail: `answer does not validate: ${v.reason}` }
        return { result: 'pass', detail: v.kind === 'identity' ? `identity ${new X509Certificate(v.chain[0]!).subject.replace(/\n/g, ', ')}` : 'declined (valid empty authenticator)' }
      } catch (e) {
        return { result: 'fail', detail: (e as Error).message }
      }
    },
  },
  {
    check: 'exceeds-client-limit',
    section: 'CLIENT -00 §4.1.4',
    async run(p, ctx) {
      const n = limitOf(p, ctx.cp)
      if (n < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      if (n > 64) return { result: 'skipped', detail: `client limit ${n} too large to exceed cheaply` }
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList(Array.from({ length: n + 1 }, () => p.ea().request())))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'requests-on-stream',
    section: 'CLIENT -00 §4.1.1',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 1, encodeRequestList([p.ea().request()]))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'malformed-request-list',
    section: 'CLIENT -00 §4.1, §4.1.1',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const r = p.ea().request()
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList([r]).subarray(0, r.length - 3))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'empty-request-list',
    section: 'CLIENT -00 §4.1',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0)
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'invalid-server-certificate',
    section: 'SERVER -02 §5.3, §6.1',
    async run(p, ctx) {
      if (!p.settings.get(ctx.cp.settingServerCertAuth)) return notAdvertised('SETTINGS_HTTP_SERVER_CERT_AUTH')
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, corruptSignature(p.ea().authenticate({ credential: ctx.credential() })))
      return expectCode(await goawayOrNot(p, ctx.timeoutMs), ctx.cp.errorServerCertificateInvalid)
    },
  },
  {
    check: 'type-17-request',
    section: 'CLIENT -00 §4.1.3 (vs RFC 9261 §4; digest §2.1.1)',
    async run(p, ctx) {
      if (limitOf(p, ctx.cp) < 1) return notAdvertised('SETTINGS_HTTP_CLIENT_CERT_AUTH')
      const r17 = encodeCertificateRequest({
        type: 17,
        context: nodeCrypto.randomBytes(32),
        signatureAlgorithms: [0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b],
      })
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList([r17]))
      try {
        const f = await p.waitFor((x) => x.type === ctx.cp.frameClientCertificate || x.type === FrameType.GOAWAY, ctx.timeoutMs, 'an answer or GOAWAY')
        if (f.type === FrameType.GOAWAY) {
          const code = f.payload.readUInt32BE(4)
          return code === PROTOCOL_ERROR
            ? { result: 'pass', detail: 'rejected with GOAWAY 0x1 (RFC 9261 reading: servers send type 13)' }
            : { result: 'fail', detail: `GOAWAY ${hexCode(code)} (expected PROTOCOL_ERROR or an answer)` }
        }
        const v = p.ea().validate(f.payload, { request: r17 })
        return v.kind === 'invalid' ? { result: 'fail', detail: `answer does not validate: ${v.reason}` } : { result: 'pass', detail: `accepted type 17 (draft wording), answered: ${v.kind}` }
      } catch (e) {
        return { result: 'fail', detail: `neither answered nor rejected: ${(e as Error).message}` }
      }
    },
  },
]

/** Names and sections of the client-side checks (one client connection each, in this order). */
export const CLIENT_CHECK_NAMES: readonly { readonly check: string; readonly section: string }[] = CLIENT_CHECKS.map(({ check, section }) => ({ check, section }))

/**
 * Runs the misbehaving server on 127.0.0.1:`port` (0: any) until one client connection per
 * check has been judged (or `totalTimeoutMs` passed: the rest fail with "no connection").
 */
export async function runConformanceClient(port: number, opts: ConformanceClientOptions): Promise<ConformanceResult[]> {
  const cp = resolveCodepoints(opts.codepoints)
  const timeoutMs = opts.timeoutMs ?? 3000
  const checks = CLIENT_CHECKS.filter((c) => !opts.only || opts.only.includes(c.check))
  const sc = opts.serverCredential ?? { cert: opts.cert, key: opts.key }
  const credential = loadCredential(sc, nodeCrypto, 'conformance-server')
  const ctx: ClientCtx = { cp, timeoutMs, credential: () => credential }
  const results: (ConformanceResult | undefined)[] = checks.map(() => undefined)
  let next = 0
  let finish: () => void = () => {}
  const allDone = new Promise<void>((resolve) => (finish = resolve))
  const judge = async (p: RawPeer, i: number): Promise<void> => {
    const c = checks[i]!
    let r: Omit<ConformanceResult, 'check' | 'section'>
    try {
      await p.waitForSettings(timeoutMs)
      r = await c.run(p, ctx)
    } catch (e) {
      r = { result: 'fail', detail: `error: ${(e as Error).message}` }
    }
    const full = { check: c.check, section: c.section, ...r }
    results[i] = full
    opts.onResult?.(full)
    // Requests are answered only now, so a client cannot finish (and hang up) before the check
    // ran; then give its GOAWAY time to arrive and end the connection.
    for (const f of p.frames) if (f.type === FrameType.HEADERS && f.streamId % 2 === 1) p.write(encodeResponse200(f.streamId))
    setTimeout(() => p.close(), 200).unref()
    if (results.every((x) => x !== undefined)) finish()
  }
  const server = await listenRaw(
    {
      key: opts.key,
      cert: opts.cert,
      autoRespond: false,
      settings: [
        [cp.settingClientCertAuth, 1],
        [cp.settingServerCertAuth, 1],
      ],
      onPeer: (p) => {
        const i = next++
        if (i >= checks.length) {
          // More connections than checks: serve them plainly.
          return
        }
        void judge(p, i)
      },
    },
    port,
  )
  opts.onListening?.(server.port)
  const timer = setTimeout(finish, opts.totalTimeoutMs ?? 60000)
  timer.unref?.()
  await allDone
  clearTimeout(timer)
  await server.close()
  return checks.map((c, i) => results[i] ?? { check: c.check, section: c.section, result: 'fail', detail: 'no client connection for this check' })
}

/** A readable report: one line per check, then the counts. */
export function formatResults(results: readonly ConformanceResult[]): string {
  const w = Math.max(...results.map((r) => r.check.length), 5)
  const lines = results.map((r) => `${r.result === 'pass' ? 'PASS' : r.result === 'fail' ? 'FAIL' : 'SKIP'}  ${r.check.padEnd(w)}  [${r.section}]  ${r.detail}`)
  const n = (k: ConformanceResult['result']): number => results.filter((r) => r.result === k).length
  lines.push(`${n('pass')} passed, ${n('fail')} failed, ${n('skipped')} skipped`)
  return lines.join('\n')
}

