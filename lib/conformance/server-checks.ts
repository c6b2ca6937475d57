/**
 * Checks of a SERVER under test (digest http2-secondary-certs §1, §2, §3.1, §3.3; RFC 9261 §4-§5):
 * our raw-frame client opens one fresh TLS 1.3 connection per check, breaks one rule (or watches
 * the server keep one) and judges the reaction. Authenticators come from ./forge.ts, so each one is
 * valid except for the single defect the check is about.
 */
import type { ConnectionKeys } from '../ea/exporter.js'
import type { Codepoints } from '../config.js'
import { FrameType, SETTINGS_MAX_FRAME_SIZE, encodeRequestList } from './raw-peer.js'
import type { Frame, RawPeer } from './raw-peer.js'
import { connectionKeys, fittingSchemes, forgeAuthenticator, peekRequest } from './forge.js'
import type { ForgeCredential, ForgeOptions } from './forge.js'
import {
  FRAME_SIZE_ERROR,
  PROTOCOL_ERROR,
  bothSettings,
  describeReaction,
  expectGoaway,
  fail,
  hexCode,
  pass,
  reaction,
  requestList,
  skip,
  sleep,
} from './common.js'
import type { Outcome } from './common.js'

export interface ServerCtx {
  readonly cp: Codepoints
  readonly timeoutMs: number
  /** A path that makes the server ask for client identities. */
  readonly path: string
  readonly authority: string
  /** Connects with these SETTINGS and resolves once the server's SETTINGS arrived. */
  open(settings: readonly (readonly [number, number])[]): Promise<RawPeer>
  /** The tester's credentials; the first is the one valid answers use. */
  credentials(): Promise<readonly ForgeCredential[]>
}

export interface ServerCheck {
  readonly check: string
  readonly section: string
  readonly description: string
  run(ctx: ServerCtx): Promise<Outcome>
}

const KEYS = new WeakMap<RawPeer, ConnectionKeys>()
function keys(p: RawPeer): ConnectionKeys {
  let k = KEYS.get(p)
  if (!k) KEYS.set(p, (k = connectionKeys(p.socket)))
  return k
}

/** Sends one authenticator on the client certificate frame (stream 0 unless said otherwise). */
function answer(ctx: ServerCtx, p: RawPeer, o: ForgeOptions, streamId = 0): Uint8Array {
  const a = forgeAuthenticator(keys(p), o)
  p.sendFrame(ctx.cp.frameClientCertificate, 0, streamId, a)
  return a
}

interface Solicited {
  readonly frame: Frame
  readonly requests: Uint8Array[]
}

/** GET path on `streamId`, then the next AUTHENTICATOR_REQUESTS frame not in `seen`. */
async function solicit(ctx: ServerCtx, p: RawPeer, streamId = 1, seen: ReadonlySet<Frame> = new Set()): Promise<Solicited | string> {
  p.sendGet(streamId, ctx.path, ctx.authority)
  return nextRequests(ctx, p, seen, `after GET ${ctx.path}`)
}

async function nextRequests(ctx: ServerCtx, p: RawPeer, seen: ReadonlySet<Frame>, what: string): Promise<Solicited | string> {
  try {
    const frame = await p.waitFor((f) => f.type === ctx.cp.frameAuthenticatorRequests && !seen.has(f), ctx.timeoutMs, 'AUTHENTICATOR_REQUESTS')
    const requests = requestList(frame.payload)
    if (typeof requests === 'string') return `the server's AUTHENTICATOR_REQUESTS is malformed: ${requests}`
    return { frame, requests }
  } catch (e) {
    return `server did not ask for an identity ${what}: ${(e as Error).message}`
  }
}

/** Declines every request the server sends from now on (replenished ones too). */
function declineEverything(ctx: ServerCtx, p: RawPeer, first: Solicited): { count: () => number } {
  let n = 0
  const handled = new Set<Frame>([first.frame])
  const decline = (reqs: readonly Uint8Array[]): void => {
    for (const request of reqs) {
      answer(ctx, p, { request })
      n++
    }
  }
  decline(first.requests)
  p.on('frame', (f: Frame) => {
    if (f.type !== ctx.cp.frameAuthenticatorRequests || handled.has(f)) return
    handled.add(f)
    const r = requestList(f.payload)
    if (typeof r !== 'string') decline(r)
  })
  return { count: () => n }
}

/** Any GOAWAY is accepted where the drafts name no code (digest §2.4); PROTOCOL_ERROR recommended. */
const anyGoaway = async (ctx: ServerCtx, p: RawPeer, what: string): Promise<Outcome> => {
  const g = await reaction(p, ctx.timeoutMs)
  if (typeof g === 'object' && g.code !== 0) return pass(`${describeReaction(g)}${g.code === PROTOCOL_ERROR ? '' : ' (no code named by the draft; PROTOCOL_ERROR recommended)'}`)
  return fail(`${what} not treated as a connection error: ${describeReaction(g)}`)
}

/** Opens with N = n, asks, returns the peer and the first requests (or a failure). */
async function openAndSolicit(ctx: ServerCtx, n: number): Promise<{ p: RawPeer; got: Solicited } | Outcome> {
  const p = await ctx.open(bothSettings(ctx.cp, n))
  const got = await solicit(ctx, p)
  if (typeof got === 'string') return fail(got)
  return { p, got }
}

async function primary(ctx: ServerCtx): Promise<ForgeCredential> {
  const c = (await ctx.credentials())[0]
  if (!c) throw new Error('no credential')
  return c
}

/** A credential of the tester that can sign a scheme the request offers, or undefined. */
async function usable(ctx: ServerCtx, request: Uint8Array): Promise<ForgeCredential | undefined> {
  const offered = peekRequest(request)?.signatureAlgorithms ?? []
  return (await ctx.credentials()).find((c) => fittingSchemes(c).some((s) => offered.includes(s)))
}

export const SERVER_CHECKS: readonly ServerCheck[] = [
  {
    check: 'settings-values',
    section: 'SERVER -02 §4.1; CLIENT -00 §3.1',
    description: "the server's SETTINGS_HTTP_SERVER_CERT_AUTH and SETTINGS_HTTP_CLIENT_CERT_AUTH are 0 or 1",
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      const s = p.settings
      const bad: string[] = []
      for (const [id, name] of [
        [ctx.cp.settingServerCertAuth, 'SETTINGS_HTTP_SERVER_CERT_AUTH'],
        [ctx.cp.settingClientCertAuth, 'SETTINGS_HTTP_CLIENT_CERT_AUTH'],
      ] as const) {
        const v = s.get(id)
        if (v !== undefined && v !== 0 && v !== 1) bad.push(`${name} = ${v}`)
      }
      if (bad.length) return fail(`a server value must be 0 or 1: ${bad.join(', ')}`)
      if (!s.get(ctx.cp.settingClientCertAuth)) return skip('server did not advertise SETTINGS_HTTP_CLIENT_CERT_AUTH')
      return pass(`server ${hexCode(ctx.cp.settingServerCertAuth)}=${s.get(ctx.cp.settingServerCertAuth) ?? 0}, ${hexCode(ctx.cp.settingClientCertAuth)}=${s.get(ctx.cp.settingClientCertAuth)}`)
    },
  },
  {
    check: 'request-signature-algorithms',
    section: 'RFC 9261 §4; RFC 8446 §4.3.2',
    description: 'every request the server sends is a CertificateRequest (type 13) with signature_algorithms',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      for (const req of r.got.requests) {
        const q = peekRequest(req)
        if (!q) return fail('a request is not a well-formed CertificateRequest')
        if (q.type !== 13) return fail(`request of handshake type ${q.type}, not 13 (RFC 9261 §4: servers send CertificateRequest)`)
        if (!q.signatureAlgorithms || q.signatureAlgorithms.length === 0) return fail('request without signature_algorithms (RFC 8446 §4.3.2: MUST be specified)')
      }
      return pass(`${r.got.requests.length} request(s), type 13, signature_algorithms present`)
    },
  },
  {
    check: 'requests-on-stream-0',
    section: 'CLIENT -00 §4.1.1',
    description: 'the server sends AUTHENTICATOR_REQUESTS on stream 0 only (a client treats any other stream as PROTOCOL_ERROR)',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const frames = r.p.frames.filter((f) => f.type === ctx.cp.frameAuthenticatorRequests)
      const off = frames.find((f) => f.streamId !== 0)
      if (off) return fail(`AUTHENTICATOR_REQUESTS on stream ${off.streamId} (CLIENT -00 §4.1.1: stream 0)`)
      return pass(`${frames.length} AUTHENTICATOR_REQUESTS frame(s), all on stream 0`)
    },
  },
  {
    check: 'unique-request-contexts',
    section: 'RFC 9261 §4; CLIENT -00 §4.1',
    description: 'certificate_request_context values are unique on the connection',
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 4))
      const first = await solicit(ctx, p)
      if (typeof first === 'string') return fail(first)
      const contexts: string[] = []
      const seen = new Set<Frame>()
      const collect = (s: Solicited): void => {
        seen.add(s.frame)
        for (const r of s.requests) contexts.push(Buffer.from(peekRequest(r)?.context ?? r).toString('hex'))
      }
      collect(first)
      declineEverything(ctx, p, first)
      try {
        await p.waitForHeaders(1, ctx.timeoutMs)
      } catch {
        // Only the contexts matter; a second request below collects more.
      }
      const second = await solicit(ctx, p, 3, new Set(p.frames.filter((f) => f.type === ctx.cp.frameAuthenticatorRequests)))
      if (typeof second !== 'string') collect(second)
      if (contexts.length < 2) return skip(`only ${contexts.length} request seen; nothing to compare`)
      const dup = contexts.find((c, i) => contexts.indexOf(c) !== i)
      if (dup !== undefined) return fail(`context ${dup.slice(0, 16)}… used twice in ${contexts.length} requests`)
      return pass(`${contexts.length} requests, all contexts distinct`)
    },
  },
  {
    check: 'requests-before-negotiation',
    section: 'CLIENT -00 §3.1',
    description: 'no AUTHENTICATOR_REQUESTS to a client that did not advertise SETTINGS_HTTP_CLIENT_CERT_AUTH',
    async run(ctx) {
      const p = await ctx.open([[ctx.cp.settingServerCertAuth, 1]])
      p.sendGet(1, ctx.path, ctx.authority)
      let answered = true
      try {
        await p.waitFor((f) => (f.type === FrameType.HEADERS && f.streamId === 1) || f.type === ctx.cp.frameAuthenticatorRequests, ctx.timeoutMs, 'a response')
      } catch {
        answered = false // a server may hold the request; only an AUTHENTICATOR_REQUESTS is wrong
      }
      if (p.frames.some((f) => f.type === ctx.cp.frameAuthenticatorRequests)) return fail('AUTHENTICATOR_REQUESTS sent although the client advertised no SETTINGS_HTTP_CLIENT_CERT_AUTH')
      return pass(answered ? 'answered without asking for an identity' : `no AUTHENTICATOR_REQUESTS within ${ctx.timeoutMs} ms (request still held)`)
    },
  },
  {
    check: 'outstanding-limit',
    section: 'CLIENT -00 §4.1.4',
    description: 'never more outstanding requests than the client advertised (N = 1), within a frame or across frames',
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      const got = await solicit(ctx, p)
      if (typeof got === 'string') return pass(`no request with N = 1 (${got}); the limit was not exceeded`)
      // Answers go out only after `hold`: a request that arrives before them was sent while the
      // earlier ones were still outstanding (the server cannot have seen an answer not yet sent),
      // so a server that sends one request per frame, back to back, is caught too.
      const hold = Math.min(150, Math.floor(ctx.timeoutMs / 4))
      let frames = 0
      let outstanding = 0
      let most = 0
      const handled = new Set<Frame>()
      const onFrame = (f: Frame): void => {
        if (f.type !== ctx.cp.frameAuthenticatorRequests || handled.has(f)) return
        handled.add(f)
        frames++
        const reqs = requestList(f.payload)
        if (typeof reqs === 'string') return
        outstanding += reqs.length
        most = Math.max(most, outstanding)
        setTimeout(() => {
          if (p.closed) return
          for (const request of reqs) answer(ctx, p, { request })
          outstanding -= reqs.length
        }, hold).unref?.()
      }
      onFrame(got.frame)
      p.on('frame', onFrame)
      try {
        await p.waitForHeaders(1, ctx.timeoutMs + 2 * hold)
      } catch {
        // The server may keep waiting for identities; only the limit matters here.
      }
      if (most > 1) return fail(`${most} requests outstanding at once with N = 1 (in ${frames} AUTHENTICATOR_REQUESTS frame(s))`)
      return pass(`${frames} AUTHENTICATOR_REQUESTS frame(s), never more than 1 outstanding`)
    },
  },
  {
    check: 'declining',
    section: 'CLIENT -00 §4, §4.2; RFC 9261 §5.2.4',
    description: 'empty authenticators decline requests without a connection error; the request completes',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const d = declineEverything(ctx, r.p, r.got)
      try {
        await r.p.waitForHeaders(1, ctx.timeoutMs)
      } catch (e) {
        return fail(`after ${d.count()} empty authenticator(s): ${(e as Error).message}`)
      }
      await sleep(50)
      if (r.p.goaway) return fail(`declining ended the connection: GOAWAY ${hexCode(r.p.goaway.code)}`)
      return pass(`${d.count()} request(s) declined; response received, connection open`)
    },
  },
  {
    check: 'unsolicited-client-certificate',
    section: 'CLIENT -00 §4.2',
    description: 'CLIENT_CERTIFICATE with no outstanding request is a connection error',
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      answer(ctx, p, { request: new Uint8Array([13, 0, 0, 11, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3]) })
      return expectGoaway(await reaction(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'client-certificate-on-stream',
    section: 'SERVER -02 §5.1; CLIENT -00 §4.2',
    description: 'a CLIENT_CERTIFICATE on a stream other than 0 is a connection error, even a valid answer',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      answer(ctx, r.p, { request: r.got.requests[0]! }, 1)
      return expectGoaway(await reaction(r.p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'authenticator-requests-to-server',
    section: 'CLIENT -00 §4.1.1',
    description: 'AUTHENTICATOR_REQUESTS received by a server is a connection error',
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameAuthenticatorRequests, 0, 0, encodeRequestList([new Uint8Array([13, 0, 0, 12, 1, 7, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3])]))
      return expectGoaway(await reaction(p, ctx.timeoutMs), PROTOCOL_ERROR)
    },
  },
  {
    check: 'server-certificate-from-client',
    section: 'SERVER -02 §3.2 (split mode, digest §2.3)',
    description: 'a SERVER_CERTIFICATE frame sent by a client closes the connection',
    async run(ctx) {
      if (ctx.cp.frameServerCertificate === ctx.cp.frameClientCertificate) return skip('shared frame type mode: the direction decides (digest §2.3)')
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      p.sendFrame(ctx.cp.frameServerCertificate, 0, 0, forgeAuthenticator(keys(p), { credential: await primary(ctx), creator: 'client' }))
      const g = await reaction(p, ctx.timeoutMs)
      if (typeof g === 'object' && g.code !== 0) return pass(`${describeReaction(g)}${g.code === PROTOCOL_ERROR ? '' : ' (draft names no code)'}`)
      return g === 'closed' ? pass(describeReaction(g)) : fail(`connection stayed open: ${describeReaction(g)} (SERVER -02 §3.2: MUST close)`)
    },
  },
  {
    check: 'frame-before-negotiation',
    section: 'CLIENT -00 §3.1, §4.2',
    description: 'CLIENT_CERTIFICATE before the client advertised the setting: PROTOCOL_ERROR, or ignored with the connection still working',
    async run(ctx) {
      const p = await ctx.open([[ctx.cp.settingServerCertAuth, 1]])
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, forgeAuthenticator(keys(p), { request: new Uint8Array([13, 0, 0, 11, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3]) }))
      const g = await reaction(p, Math.min(ctx.timeoutMs, 1000))
      if (typeof g === 'object') return expectGoaway(g, PROTOCOL_ERROR)
      if (g === 'closed') return fail(describeReaction(g))
      p.sendGet(1, '/', ctx.authority)
      try {
        await p.waitForHeaders(1, ctx.timeoutMs)
        return pass('ignored (RFC 9113 §5.5); connection still serves requests')
      } catch (e) {
        return fail(`no GOAWAY and the connection stopped working: ${(e as Error).message}`)
      }
    },
  },
  {
    check: 'oversized-extension-frame',
    section: 'RFC 9113 §4.2',
    description: "an extension frame above the server's SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR",
    async run(ctx) {
      const p = await ctx.open(bothSettings(ctx.cp, 1))
      const max = p.settings.get(SETTINGS_MAX_FRAME_SIZE) ?? 16384
      p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, new Uint8Array(max + 1))
      return expectGoaway(await reaction(p, ctx.timeoutMs), FRAME_SIZE_ERROR)
    },
  },
  {
    check: 'invalid-signature',
    section: 'RFC 9261 §5.2.2, §7.4; CLIENT -00 §4.2.1 (digest §2.4)',
    description: 'an authenticator whose CertificateVerify signature is wrong is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      answer(ctx, r.p, { request, credential, tamperSignature: true })
      return anyGoaway(ctx, r.p, 'a bad signature')
    },
  },
  {
    check: 'tampered-finished',
    section: 'RFC 9261 §5.2.3, §7.4',
    description: 'an authenticator whose Finished MAC is wrong is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      answer(ctx, r.p, { request, credential, tamperFinished: true })
      return anyGoaway(ctx, r.p, 'a bad Finished')
    },
  },
  {
    check: 'wrong-context',
    section: 'RFC 9261 §5.1, §7.4',
    description: "an authenticator carrying a context other than the request's is a connection error (signature and Finished valid)",
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      answer(ctx, r.p, { request, credential, context: new Uint8Array(32).fill(0xc7) })
      return anyGoaway(ctx, r.p, 'a wrong context')
    },
  },
  {
    check: 'scheme-not-offered',
    section: 'RFC 9261 §5.2.2; RFC 8446 §4.4.3',
    description: "a CertificateVerify scheme that is not in the request's signature_algorithms is a connection error",
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const offered = peekRequest(request)?.signatureAlgorithms ?? []
      for (const credential of await ctx.credentials()) {
        const scheme = fittingSchemes(credential).find((s) => !offered.includes(s))
        if (scheme === undefined) continue
        answer(ctx, r.p, { request, credential, scheme })
        return anyGoaway(ctx, r.p, `scheme ${hexCode(scheme)} (not offered)`)
      }
      return skip('the server offers every scheme the tester credentials can sign with (add --cred of another key type)')
    },
  },
  {
    check: 'scheme-key-mismatch',
    section: 'RFC 8446 §4.2.3, §4.4.3; RFC 9261 §5.2.2',
    description: 'an offered scheme that does not fit the key (curve, rsaEncryption vs RSASSA-PSS) is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const offered = peekRequest(request)?.signatureAlgorithms ?? []
      const misfits: Record<string, number[]> = { ec: [0x0503, 0x0603, 0x0403], rsa: [0x0809, 0x080a, 0x080b], 'rsa-pss': [0x0804, 0x0805, 0x0806] }
      for (const credential of await ctx.credentials()) {
        const fits = fittingSchemes(credential)
        const scheme = (misfits[credential.keyType] ?? []).find((s) => !fits.includes(s) && offered.includes(s))
        if (scheme === undefined) continue
        answer(ctx, r.p, { request, credential, scheme })
        return anyGoaway(ctx, r.p, `scheme ${hexCode(scheme)} with a ${credential.keyType}${credential.curve ? ` ${credential.curve}` : ''} key`)
      }
      return skip('no offered scheme mismatches a tester credential')
    },
  },
  {
    check: 'pkcs1-scheme',
    section: 'RFC 8446 §4.4.3; RFC 9261 §5.2.2',
    description: 'a PKCS#1 v1.5 signature (rsa_pkcs1_sha256) is a connection error, even when offered',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const credential = (await ctx.credentials()).find((c) => c.keyType === 'rsa')
      if (!credential) return skip('no RSA tester credential (add --cred with an RSA key)')
      answer(ctx, r.p, { request: r.got.requests[0]!, credential, scheme: 0x0401 })
      return anyGoaway(ctx, r.p, 'an rsa_pkcs1_sha256 signature')
    },
  },
  {
    check: 'server-labels',
    section: 'RFC 9261 §5.1',
    description: "a client authenticator keyed with the server's exporter labels is a connection error",
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      answer(ctx, r.p, { request, credential, creator: 'server' })
      return anyGoaway(ctx, r.p, "an authenticator with the server's labels")
    },
  },
  {
    check: 'truncated-authenticator',
    section: 'RFC 9261 §5.2; CLIENT -00 §4.2',
    description: 'an authenticator cut short is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      const a = forgeAuthenticator(keys(r.p), { request, ...(credential ? { credential } : {}) })
      r.p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, a.subarray(0, a.length - 7))
      return anyGoaway(ctx, r.p, 'a truncated authenticator')
    },
  },
  {
    check: 'bytes-after-finished',
    section: 'RFC 9261 §5.2; CLIENT -00 §4.2',
    description: 'bytes after the Finished message are a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      answer(ctx, r.p, { request, ...(credential ? { credential } : {}), trailing: new Uint8Array([0x14, 0x00, 0x00]) })
      return anyGoaway(ctx, r.p, 'trailing bytes')
    },
  },
  {
    check: 'unrequested-entry-extension',
    section: 'RFC 9261 §5.2.1',
    description: 'a CertificateEntry extension the request did not carry is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      const present = peekRequest(request)?.extensionTypes ?? []
      const type = [0x0012, 0x0005, 0x7a7a].find((t) => !present.includes(t))!
      answer(ctx, r.p, { request, credential, leafExtensions: [{ type, data: new Uint8Array([0, 1, 0]) }] })
      return anyGoaway(ctx, r.p, `an unrequested entry extension ${hexCode(type)}`)
    },
  },
  {
    check: 'replayed-authenticator',
    section: 'RFC 9261 §5.2.1, §7.4; CLIENT -00 §5.2',
    description: 'the same authenticator sent twice on one connection is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      const a = answer(ctx, r.p, { request, credential })
      r.p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, a)
      return anyGoaway(ctx, r.p, 'a replayed authenticator')
    },
  },
  {
    check: 'already-answered',
    section: 'CLIENT -00 §4.2; digest §3.1 (FIFO)',
    description: 'a second, different answer (a decline) for an already answered request is a connection error',
    async run(ctx) {
      const r = await openAndSolicit(ctx, 2)
      if (!('p' in r)) return r
      const request = r.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      answer(ctx, r.p, { request, credential })
      answer(ctx, r.p, { request })
      return anyGoaway(ctx, r.p, 'a second answer to one request')
    },
  },
  {
    check: 'replay-across-connections',
    section: 'RFC 9261 §5.1, §7.4 (exporter binding)',
    description: "an authenticator from another connection is rejected (it is bound to its connection's exporter)",
    async run(ctx) {
      const a = await openAndSolicit(ctx, 2)
      if (!('p' in a)) return a
      const b = await openAndSolicit(ctx, 2)
      if (!('p' in b)) return b
      const request = a.got.requests[0]!
      const credential = await usable(ctx, request)
      if (!credential) return skip('no tester credential fits a scheme the server offered')
      const bytes = answer(ctx, a.p, { request, credential })
      await sleep(50)
      b.p.sendFrame(ctx.cp.frameClientCertificate, 0, 0, bytes)
      return anyGoaway(ctx, b.p, 'an authenticator replayed from another connection')
    },
  },
]
