/**
 * A reference CLIENT for the conformance tester's client-side checks, built on the raw frame peer
 * (lib/conformance/raw-peer.ts `connectRaw`): it follows the digest's client rules
 * (http2-secondary-certs §1, §2.1, §2.2, §3.1-§3.3, §4) and, with one `lax` flag, breaks exactly
 * one of them. The mutation spec (spec/conformance/mutation.spec.ts) shows that each client-side
 * check FAILs the client whose flag breaks its rule and only that check does.
 *
 * Strict behaviour, on its one connection:
 * - SETTINGS: SETTINGS_HTTP_CLIENT_CERT_AUTH = N (default 2) and SETTINGS_HTTP_SERVER_CERT_AUTH = 1
 *   (CLIENT -00 §3.1, SERVER -02 §4.1); SETTINGS_MAX_FRAME_SIZE stays at 16 384.
 * - AUTHENTICATOR_REQUESTS (CLIENT -00 §4.1, §4.1.1, §4.1.4; digest §2.1): PROTOCOL_ERROR unless the
 *   server advertised SETTINGS_HTTP_CLIENT_CERT_AUTH, the frame is on stream 0, the list is a
 *   non-empty sequence of varint-prefixed entries that fills the payload exactly, N is not
 *   exceeded, and every entry is a type-13 CertificateRequest with signature_algorithms and a
 *   context new on the connection. Then every request is answered in order on stream 0 with an
 *   authenticator made by lib/ea with the client labels (RFC 9261 §5.1), or declined when no
 *   offered scheme fits the key (§5.2.4).
 * - SERVER_CERTIFICATE (SERVER -02 §3.1, §5.1, §5.3; digest §3.2): PROTOCOL_ERROR off stream 0 or
 *   when the server did not advertise SETTINGS_HTTP_SERVER_CERT_AUTH; SERVER_CERTIFICATE_INVALID
 *   when it does not validate (./lax-validate.ts, no request, server labels) or repeats a context.
 * - Any frame above 16 384 bytes: FRAME_SIZE_ERROR (RFC 9113 §4.2).
 *
 * Harness code (STYLE §2): lives beside the interop endpoints, lib/ never imports it.
 */
import { loadCredential } from '../../lib/binding/credentials.js'
import type { LoadedCredential } from '../../lib/binding/credentials.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { resolveCodepoints } from '../../lib/config.js'
import type { Codepoints } from '../../lib/config.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { keysFromTlsSocket } from '../../lib/ea/exporter.js'
import { decodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import type { CertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { TLS13_SCHEMES } from '../../lib/wire/tls/signature-scheme.js'
import { Flag, FrameType, H2Error, connectRaw, encodeGoaway } from '../../lib/conformance/raw-peer.js'
import type { Frame, RawPeer } from '../../lib/conformance/raw-peer.js'
import { emptyAuthenticator, laxValidate, requestContext } from './lax-validate.js'
import type { ValidationRule } from './lax-validate.js'

/** Each flag breaks one client rule; the comment names the rule and the section it comes from. */
export const LAX_CLIENT_FLAGS = {
  /** SETTINGS_HTTP_SERVER_CERT_AUTH = 2; the value MUST be 0 or 1 (SERVER -02 §4.1). */
  wrongSettingsValue: 'advertises SETTINGS_HTTP_SERVER_CERT_AUTH = 2',
  /** Keys its answers with the server's exporter labels (RFC 9261 §5.1: the creator's). */
  answerWithServerLabels: "makes answers with the server's exporter labels",
  /** Sends the last answer of a frame twice (CLIENT -00 §4.2, digest §3.1: one per request). */
  repeatLastAnswer: 'sends the last answer of a frame twice',
  /** Answers the requests of a frame last first (CLIENT -00 §4.2, digest §3.1: in order). */
  answerInReverse: 'answers the requests of a frame in reverse order',
  /** Answers however many requests arrive (CLIENT -00 §4.1.4: more than N is an error). */
  ignoreLimit: 'does not enforce its own SETTINGS_HTTP_CLIENT_CERT_AUTH limit',
  /** Takes AUTHENTICATOR_REQUESTS on any stream (CLIENT -00 §4.1.1: stream 0 only). */
  acceptRequestsOnStream: 'accepts AUTHENTICATOR_REQUESTS on a request stream',
  /** Treats an empty request list as nothing to do (CLIENT -00 §4.1: one or more requests). */
  ignoreEmptyList: 'ignores an empty AUTHENTICATOR_REQUESTS frame',
  /** Answers the entries before a truncated varint (CLIENT -00 §4.1.1; RFC 9000 §16). */
  ignoreTruncatedVarint: 'ignores a truncated varint after complete entries',
  /** Takes what is left when a length runs past the payload (CLIENT -00 §4.1.1). */
  clampLength: 'reads an entry whose length runs past the frame as the rest of the frame',
  /** Skips entries of a handshake type other than 13 and 17 (CLIENT -00 §4.1; RFC 9261 §4). */
  skipUnknownEntries: 'skips request entries that are not CertificateRequests',
  /** Answers a request whose context was used before (RFC 9261 §4: unique). */
  allowDuplicateContext: 'answers a request that reuses an earlier context',
  /** Declines a request without signature_algorithms (RFC 8446 §4.3.2: MUST be present). */
  declineWithoutSignatureAlgorithms: 'declines instead of rejecting a request without signature_algorithms',
  /** Answers requests from a server that did not advertise the setting (CLIENT -00 §3.1). */
  answerBeforeNegotiation: 'answers AUTHENTICATOR_REQUESTS before negotiation',
  /** Drops type-17 requests silently (digest §2.1.1: PROTOCOL_ERROR or a valid answer). */
  ignoreType17: 'silently drops ClientCertificateRequest (type 17) entries',
  /** Skips the CertificateVerify check of server authenticators (SERVER -02 §5.3; RFC 9261 §5.2.2). */
  acceptInvalidServerCertificate: 'does not verify SERVER_CERTIFICATE signatures',
  /** Skips the Finished check of server authenticators (SERVER -02 §5.3; RFC 9261 §5.2.3). */
  acceptBadServerFinished: 'does not check the Finished MAC of SERVER_CERTIFICATE authenticators',
  /** Takes SERVER_CERTIFICATE on any stream (SERVER -02 §5.1: stream 0 only). */
  acceptServerCertificateOnStream: 'accepts SERVER_CERTIFICATE on a request stream',
  /** Takes SERVER_CERTIFICATE without the server's setting (CLIENT -00 §4.2; SERVER -02 §3.1). */
  acceptUnnegotiatedServerCertificate: 'accepts SERVER_CERTIFICATE before negotiation',
  /** Ignores a repeated SERVER_CERTIFICATE context (RFC 9261 §7.4; digest §3.2). */
  acceptReplayedServerCertificate: 'ignores a replayed SERVER_CERTIFICATE',
  /** Reads frames of any size (RFC 9113 §4.2: FRAME_SIZE_ERROR). */
  ignoreOversizedFrame: 'processes frames above SETTINGS_MAX_FRAME_SIZE',
} as const

export type LaxClientFlag = keyof typeof LAX_CLIENT_FLAGS

export interface LaxClientOptions {
  readonly port: number
  readonly host?: string
  /** Trust anchor (PEM) of the server's TLS certificate; without it, not verified. */
  readonly ca?: string
  readonly servername?: string
  /** What the client presents when asked. */
  readonly credential: { readonly cert: string; readonly key: string }
  readonly lax?: LaxClientFlag | readonly LaxClientFlag[]
  /** SETTINGS_HTTP_CLIENT_CERT_AUTH. Default 2. */
  readonly limit?: number
  readonly codepoints?: Partial<Codepoints>
  readonly mode?: 'split' | 'shared'
  /** Gives up on the connection after this long. Default 10 000 ms. */
  readonly maxLifeMs?: number
}

const MAX_FRAME_SIZE = 16384
const SIGNATURE_ALGORITHMS = 0x000d
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

type ListParse = { readonly requests: Uint8Array[]; readonly fault?: 'empty' | 'truncated-varint' | 'past-end' }

/** CLIENT -00 §4.1.1: `(Length (i), Request (..))...`, one or more, filling the payload. */
function parseRequestList(payload: Uint8Array, lax: ReadonlySet<LaxClientFlag>): ListParse {
  const requests: Uint8Array[] = []
  if (payload.length === 0) return { requests, fault: 'empty' }
  let i = 0
  while (i < payload.length) {
    const size = 1 << (payload[i]! >> 6)
    if (i + size > payload.length) {
      if (lax.has('ignoreTruncatedVarint')) break
      return { requests, fault: 'truncated-varint' }
    }
    let len = payload[i]! & 0x3f
    for (let k = 1; k < size; k++) len = len * 256 + payload[i + k]!
    i += size
    if (i + len > payload.length) {
      if (!lax.has('clampLength')) return { requests, fault: 'past-end' }
      len = payload.length - i
    }
    requests.push(payload.subarray(i, i + len))
    i += len
  }
  return { requests }
}

/** Whether a request's extensions (RFC 8446 §4.3.2) hold signature_algorithms; false when unreadable. */
function hasSignatureAlgorithms(request: Uint8Array): boolean {
  let at = 5 + (request[4] ?? 0) + 2
  while (at + 4 <= request.length) {
    if (((request[at]! << 8) | request[at + 1]!) === SIGNATURE_ALGORITHMS) return true
    at += 4 + ((request[at + 2]! << 8) | request[at + 3]!)
  }
  return false
}

/** Connects once, plays the reference client, and resolves when the connection is gone. */
export async function runLaxClient(o: LaxClientOptions): Promise<void> {
  const lax = new Set<LaxClientFlag>(typeof o.lax === 'string' ? [o.lax] : (o.lax ?? []))
  const cp = resolveCodepoints(o.codepoints, o.mode)
  const limit = o.limit ?? 2
  const credential: LoadedCredential = loadCredential({ cert: o.credential.cert, key: o.credential.key }, nodeCrypto, 'lax-client')
  const p = await connectRaw({
    port: o.port,
    ...(o.host ? { host: o.host } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.servername ? { servername: o.servername } : {}),
    settings: [
      [cp.settingClientCertAuth, limit],
      [cp.settingServerCertAuth, lax.has('wrongSettingsValue') ? 2 : 1],
    ],
  })
  play(p, cp, lax, limit, credential)
  const closed = await p.waitForClose(o.maxLifeMs ?? 10000)
  if (!closed) p.close()
}

function play(p: RawPeer, cp: Codepoints, lax: ReadonlySet<LaxClientFlag>, limit: number, credential: LoadedCredential): void {
  const ea = ExportedAuthenticators.fromTlsSocket(p.socket, { role: 'client', provider: nodeCrypto })
  const requestContexts = new Set<string>()
  const serverContexts = new Set<string>()
  let dead = false
  const serverSetting = (id: number): number => p.settings.get(id) ?? 0
  const goaway = (code: number, debug: string): void => {
    if (dead) return
    dead = true
    p.write(encodeGoaway(0, code, debug))
    p.socket.end()
  }

  /** Answer to one request: the credential when an offered scheme fits its key, else a decline. */
  const answer = (bytes: Uint8Array, req: CertificateRequest | undefined): Uint8Array => {
    if (!req) return emptyAuthenticator(keysFromTlsSocket(p.socket), 'client', bytes)
    const fits = credential.key.schemes.some((s) => req.signatureAlgorithms.includes(s))
    // A repeated context (lax) needs an authenticator object that has not made one for it yet.
    const maker = lax.has('answerWithServerLabels')
      ? ExportedAuthenticators.fromTlsSocket(p.socket, { role: 'server', provider: nodeCrypto })
      : lax.has('allowDuplicateContext')
        ? ExportedAuthenticators.fromTlsSocket(p.socket, { role: 'client', provider: nodeCrypto })
        : ea
    return maker.authenticate({ request: bytes, ...(fits ? { credential } : {}) })
  }

  const onRequests = (f: Frame): void => {
    if (!serverSetting(cp.settingClientCertAuth) && !lax.has('answerBeforeNegotiation')) return goaway(H2Error.PROTOCOL_ERROR, 'AUTHENTICATOR_REQUESTS before negotiation')
    if (f.streamId !== 0 && !lax.has('acceptRequestsOnStream')) return goaway(H2Error.PROTOCOL_ERROR, 'AUTHENTICATOR_REQUESTS on a request stream')
    const list = parseRequestList(f.payload, lax)
    if (list.fault === 'empty' && lax.has('ignoreEmptyList')) return
    if (list.fault) return goaway(H2Error.PROTOCOL_ERROR, `malformed request list: ${list.fault}`)
    // We answer each frame at once, so nothing is outstanding when the next one arrives.
    if (list.requests.length > limit && !lax.has('ignoreLimit')) return goaway(H2Error.PROTOCOL_ERROR, `${list.requests.length} requests exceed N = ${limit}`)
    const todo: { bytes: Uint8Array; req: CertificateRequest | undefined }[] = []
    for (const bytes of list.requests) {
      const type = bytes[0]
      if (type === 17 && lax.has('ignoreType17')) continue
      if (type !== 13 && type !== 17 && lax.has('skipUnknownEntries')) continue
      let req: CertificateRequest | undefined
      try {
        req = decodeCertificateRequest(bytes, [13])
      } catch (e) {
        if (!(type === 13 && lax.has('declineWithoutSignatureAlgorithms') && !hasSignatureAlgorithms(bytes))) {
          return goaway(H2Error.PROTOCOL_ERROR, `malformed request: ${(e as Error).message}`)
        }
      }
      const context = hex(req?.context ?? requestContext(bytes))
      if (requestContexts.has(context) && !lax.has('allowDuplicateContext')) return goaway(H2Error.PROTOCOL_ERROR, 'request context used before')
      requestContexts.add(context)
      todo.push({ bytes, req })
    }
    if (lax.has('answerInReverse')) todo.reverse()
    const sent = todo.map((t) => answer(t.bytes, t.req))
    if (lax.has('repeatLastAnswer') && sent.length > 0) sent.push(sent[sent.length - 1]!)
    for (const a of sent) p.sendFrame(cp.frameClientCertificate, 0, 0, a)
  }

  const onServerCertificate = (f: Frame): void => {
    if (f.streamId !== 0 && !lax.has('acceptServerCertificateOnStream')) return goaway(H2Error.PROTOCOL_ERROR, 'SERVER_CERTIFICATE on a request stream')
    if (!serverSetting(cp.settingServerCertAuth) && !lax.has('acceptUnnegotiatedServerCertificate')) return goaway(H2Error.PROTOCOL_ERROR, 'SERVER_CERTIFICATE before negotiation')
    const j = laxValidate(f.payload, {
      keys: keysFromTlsSocket(p.socket),
      creator: 'server',
      // RFC 9261 §5.2.2: a spontaneous authenticator uses the ClientHello's schemes (Node's: all TLS 1.3).
      offered: TLS13_SCHEMES,
      allowedEntryExtensions: new Set(),
      waive: new Set<ValidationRule>([
        ...(lax.has('acceptInvalidServerCertificate') ? (['signature'] as const) : []),
        ...(lax.has('acceptBadServerFinished') ? (['finished'] as const) : []),
      ]),
    })
    if (j.kind !== 'identity') return goaway(cp.errorServerCertificateInvalid, j.kind === 'invalid' ? j.reason : 'an empty authenticator')
    const context = hex(j.context)
    if (serverContexts.has(context)) return lax.has('acceptReplayedServerCertificate') ? undefined : goaway(cp.errorServerCertificateInvalid, 'context validated before')
    serverContexts.add(context)
  }

  p.on('frame', (f: Frame) => {
    if (dead) return
    // RFC 9113 §4.2: above our SETTINGS_MAX_FRAME_SIZE (never raised).
    if (f.payload.length > MAX_FRAME_SIZE && !lax.has('ignoreOversizedFrame')) return goaway(H2Error.FRAME_SIZE_ERROR, 'frame above SETTINGS_MAX_FRAME_SIZE')
    if (f.type === cp.frameAuthenticatorRequests) return onRequests(f)
    if (f.type === cp.frameServerCertificate) return onServerCertificate(f)
    if (f.type === FrameType.GOAWAY && !(f.flags & Flag.ACK)) p.close()
  })
}
