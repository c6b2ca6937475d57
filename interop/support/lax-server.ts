/**
 * A reference SERVER for the conformance tester's server-side checks, built on the raw frame peer
 * (lib/conformance/raw-peer.ts `listenRaw`), so none of lib/binding is involved: it follows the
 * digest's server rules (http2-secondary-certs §1, §2, §3.1, §3.3, §4) and, with one `lax` flag,
 * breaks exactly one of them. The mutation spec (spec/conformance/mutation.spec.ts) shows that
 * each conformance check FAILs the server whose flag breaks its rule and only that check does.
 *
 * Strict behaviour, per connection:
 * - SETTINGS: SETTINGS_HTTP_CLIENT_CERT_AUTH = 1 and SETTINGS_HTTP_SERVER_CERT_AUTH = 1
 *   (SERVER -02 §4.1, CLIENT -00 §3.1); SETTINGS_MAX_FRAME_SIZE stays at 16 384.
 * - GET of `path` (default /whoami) on a connection whose client advertised N > 0 asks for two
 *   identities: AUTHENTICATOR_REQUESTS on stream 0 with fresh 32-byte contexts and
 *   signature_algorithms, never more outstanding than N, replenished as answers arrive
 *   (CLIENT -00 §4.1, §4.1.4); once both are answered, `:status 200`. Any other GET: 200.
 * - CLIENT_CERTIFICATE: FIFO against the outstanding requests (digest §3.1), validated with every
 *   rule of ./lax-validate.ts; declines are fine; anything wrong is GOAWAY PROTOCOL_ERROR
 *   (digest §2.4, §3.3). A frame above 16 384 bytes is GOAWAY FRAME_SIZE_ERROR (RFC 9113 §4.2).
 * - AUTHENTICATOR_REQUESTS or SERVER_CERTIFICATE from the client: GOAWAY PROTOCOL_ERROR
 *   (CLIENT -00 §4.1.1; SERVER -02 §3.2).
 *
 * Harness code (STYLE §2): lives beside the interop endpoints, lib/ never imports it.
 */
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { resolveCodepoints } from '../../lib/config.js'
import type { Codepoints } from '../../lib/config.js'
import { keysFromTlsSocket } from '../../lib/ea/exporter.js'
import type { ConnectionKeys } from '../../lib/ea/exporter.js'
import { encodeCertificateRequest } from '../../lib/wire/tls/certificate-request.js'
import { Flag, FrameType, H2Error, encodeGoaway, encodeRequestList, encodeResponse200, listenRaw } from '../../lib/conformance/raw-peer.js'
import type { Frame, RawPeer } from '../../lib/conformance/raw-peer.js'
import { authenticatorShape, emptyAuthenticator, laxValidate } from './lax-validate.js'
import type { ValidationRule } from './lax-validate.js'

/** Each flag breaks one server rule; the comment names the rule and the section it comes from. */
export const LAX_SERVER_FLAGS = {
  /** SETTINGS_HTTP_SERVER_CERT_AUTH = 2; the value MUST be 0 or 1 (SERVER -02 §4.1). */
  wrongSettingsValue: 'advertises SETTINGS_HTTP_SERVER_CERT_AUTH = 2',
  /** Requests carry signature_algorithms_cert instead of signature_algorithms (RFC 8446 §4.3.2). */
  omitSignatureAlgorithms: 'sends requests without signature_algorithms',
  /** Sends AUTHENTICATOR_REQUESTS on the GET's stream (CLIENT -00 §4.1.1: stream 0). */
  requestsOnRequestStream: "sends AUTHENTICATOR_REQUESTS on the request's stream",
  /** The contexts of a stream's requests restart at the same values (RFC 9261 §4: unique). */
  repeatContext: 'reuses certificate_request_context values across requests',
  /** Asks for identities although the client did not advertise the setting (CLIENT -00 §3.1). */
  requestBeforeNegotiation: 'sends AUTHENTICATOR_REQUESTS before negotiation',
  /** Sends both requests at once, one frame each, whatever N is (CLIENT -00 §4.1.4). */
  exceedLimit: "ignores the client's SETTINGS_HTTP_CLIENT_CERT_AUTH limit",
  /** Treats an empty authenticator as a connection error (CLIENT -00 §4, RFC 9261 §5.2.4). */
  rejectDeclines: 'closes the connection on a decline',
  /** Drops a CLIENT_CERTIFICATE that answers no request (CLIENT -00 §4.2: connection error). */
  ignoreUnsolicited: 'ignores an unsolicited CLIENT_CERTIFICATE',
  /** Takes a CLIENT_CERTIFICATE on any stream (SERVER -02 §5.1: stream 0 only). */
  acceptCertificateOnStream: 'accepts CLIENT_CERTIFICATE on a request stream',
  /** Drops AUTHENTICATOR_REQUESTS from a client (CLIENT -00 §4.1.1: connection error). */
  ignoreAuthenticatorRequests: 'ignores AUTHENTICATOR_REQUESTS sent to it',
  /** Drops SERVER_CERTIFICATE from a client (SERVER -02 §3.2: MUST close). */
  ignoreServerCertificate: 'ignores a SERVER_CERTIFICATE sent by the client',
  /** Kills the socket without GOAWAY on a CLIENT_CERTIFICATE before negotiation (CLIENT -00 §3.1). */
  closeOnUnnegotiatedFrame: 'drops the connection without GOAWAY on an unnegotiated CLIENT_CERTIFICATE',
  /** Reads frames of any size (RFC 9113 §4.2: FRAME_SIZE_ERROR). */
  ignoreOversizedFrame: 'processes frames above SETTINGS_MAX_FRAME_SIZE',
  /** Skips the CertificateVerify check (RFC 9261 §5.2.2). */
  acceptInvalidSignature: 'does not verify the CertificateVerify signature',
  /** Skips the Finished check of full authenticators (RFC 9261 §5.2.3). */
  acceptBadFinished: 'does not check the Finished MAC of full authenticators',
  /** Skips the context comparison (RFC 9261 §5.1, §7.4). */
  acceptWrongContext: "does not compare the authenticator's context with the request's",
  /** Skips the offered-scheme check (RFC 9261 §5.2.2). */
  acceptUnofferedScheme: 'accepts signature schemes it did not offer',
  /** Skips the scheme/key fit check (RFC 8446 §4.2.3). */
  acceptSchemeKeyMismatch: 'accepts a scheme that does not fit the key',
  /** Offers and accepts rsa_pkcs1_sha256 (RFC 8446 §4.4.3: not in TLS 1.3 CertificateVerify). */
  acceptPkcs1: 'offers and accepts PKCS#1 v1.5 signatures',
  /** Also tries the server's exporter labels (RFC 9261 §5.1: the creator's labels). */
  acceptServerLabels: "accepts authenticators keyed with the server's labels",
  /** Drops a truncated authenticator and keeps waiting (RFC 9261 §5.2: connection error). */
  ignoreTruncated: 'ignores truncated authenticators',
  /** Cuts bytes after Finished and validates the rest (RFC 9261 §5.2). */
  ignoreTrailingBytes: 'ignores bytes after Finished',
  /** Skips the entry-extension check (RFC 9261 §5.2.1). */
  acceptUnrequestedExtension: 'accepts CertificateEntry extensions the request did not carry',
  /** Drops a byte-identical repeat of an accepted authenticator (RFC 9261 §7.4: connection error). */
  acceptReplay: 'ignores a replayed authenticator',
  /** Drops a decline of an already answered request (CLIENT -00 §4.2, digest §3.1). */
  acceptSecondAnswer: 'ignores a second answer to an answered request',
  /** Remembers accepted authenticators across connections (RFC 9261 §5.1: exporter binding). */
  acceptForeignAuthenticator: 'accepts an authenticator validated on another connection',
} as const

export type LaxServerFlag = keyof typeof LAX_SERVER_FLAGS

export interface LaxServerOptions {
  readonly key: string
  readonly cert: string
  /** The one rule to break (or several, or none for the strict reference). */
  readonly lax?: LaxServerFlag | readonly LaxServerFlag[]
  readonly codepoints?: Partial<Codepoints>
  readonly mode?: 'split' | 'shared'
  /** The path that makes the server ask for identities. Default '/whoami'. */
  readonly path?: string
}

export interface LaxServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * Schemes the reference server offers (RFC 8446 §4.2.3): one fitting scheme per common key type
 * plus ecdsa_secp384r1_sha384, so scheme-not-offered (rsa_pss_rsae_sha384 is left out) and
 * scheme-key-mismatch (P-384 hash on a P-256 key) both have something to send.
 */
const OFFERED: readonly number[] = [0x0403, 0x0503, 0x0804, 0x0807]
const MAX_FRAME_SIZE = 16384
const IDENTITIES_PER_REQUEST = 2
const SIGNATURE_ALGORITHMS = 0x000d
const SIGNATURE_ALGORITHMS_CERT = 0x0032

const WAIVES: Partial<Record<LaxServerFlag, ValidationRule>> = {
  acceptInvalidSignature: 'signature',
  acceptBadFinished: 'finished',
  acceptWrongContext: 'context',
  acceptUnofferedScheme: 'offered-scheme',
  acceptSchemeKeyMismatch: 'scheme-fits-key',
  acceptPkcs1: 'tls13-scheme',
  acceptServerLabels: 'creator-labels',
  acceptUnrequestedExtension: 'entry-extensions',
}

interface SentRequest {
  readonly bytes: Uint8Array
  readonly offered: readonly number[]
  readonly extensionTypes: ReadonlySet<number>
  readonly streamId: number
}

interface Asking {
  readonly streamId: number
  toAsk: number
  pending: number
}

/**
 * `:path` of a request header block in the HPACK subset raw peers write (RFC 7541 §6.1 indexed
 * fields, §6.2 literals with a 4- or 6-bit name index, plain strings below 127 bytes).
 */
function pathOf(block: Buffer): string {
  let i = 0
  while (i < block.length) {
    const b = block[i++]!
    if (b & 0x80) {
      if ((b & 0x7f) === 4) return '/'
      if ((b & 0x7f) === 5) return '/index.html'
      continue
    }
    const nameIndex = b & (b & 0x40 ? 0x3f : 0x0f)
    if (nameIndex === 0) i += 1 + (block[i]! & 0x7f)
    const huffman = (block[i]! & 0x80) !== 0
    const len = block[i++]! & 0x7f
    const value = block.subarray(i, i + len).toString('latin1')
    i += len
    if (nameIndex === 4 && !huffman) return value
  }
  return '/'
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** RFC 8446 §4.3.2 CertificateRequest with signature_algorithms_cert in place of signature_algorithms. */
function requestWithoutSignatureAlgorithms(context: Uint8Array, schemes: readonly number[]): Uint8Array {
  const list = Buffer.alloc(2 + schemes.length * 2)
  list.writeUInt16BE(schemes.length * 2, 0)
  schemes.forEach((s, i) => list.writeUInt16BE(s, 2 + i * 2))
  const ext = Buffer.concat([Buffer.from([SIGNATURE_ALGORITHMS_CERT >> 8, SIGNATURE_ALGORITHMS_CERT & 0xff, list.length >> 8, list.length & 0xff]), list])
  const body = Buffer.concat([Buffer.from([context.length]), context, Buffer.from([ext.length >> 8, ext.length & 0xff]), ext])
  return Buffer.concat([Buffer.from([13, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body])
}

/** Starts the reference server on 127.0.0.1 (any port). */
export async function startLaxServer(o: LaxServerOptions): Promise<LaxServer> {
  const lax = new Set<LaxServerFlag>(typeof o.lax === 'string' ? [o.lax] : (o.lax ?? []))
  const cp = resolveCodepoints(o.codepoints, o.mode)
  const path = o.path ?? '/whoami'
  const waive = new Set<ValidationRule>([...lax].flatMap((f) => (WAIVES[f] ? [WAIVES[f]] : [])))
  const offered = lax.has('acceptPkcs1') ? [...OFFERED, 0x0401] : OFFERED
  /** Authenticators accepted on any connection (only consulted by acceptForeignAuthenticator). */
  const acceptedAnywhere = new Set<string>()

  const serve = (p: RawPeer): void => {
    let keys: ConnectionKeys | undefined
    const connKeys = (): ConnectionKeys => (keys ??= keysFromTlsSocket(p.socket))
    const outstanding: SentRequest[] = []
    const answered: SentRequest[] = []
    const asking: Asking[] = []
    const accepted = new Set<string>()
    let lastStreamId = 0
    let dead = false

    const clientLimit = (): number => p.settings.get(cp.settingClientCertAuth) ?? 0
    const goaway = (code: number, debug: string): void => {
      if (dead) return
      dead = true
      p.write(encodeGoaway(lastStreamId, code, debug))
      p.socket.end()
    }

    const newRequest = (indexInStream: number): SentRequest => {
      // RFC 9261 §4: contexts unpredictable and unique on the connection (lax: 1, 2, … per stream).
      const context = lax.has('repeatContext') ? new Uint8Array(32).fill(indexInStream) : nodeCrypto.randomBytes(32)
      if (lax.has('omitSignatureAlgorithms')) {
        // It validates against what it sent: nothing offered.
        return { bytes: requestWithoutSignatureAlgorithms(context, offered), offered: [], extensionTypes: new Set([SIGNATURE_ALGORITHMS_CERT]), streamId: 0 }
      }
      return { bytes: encodeCertificateRequest({ context, signatureAlgorithms: offered }), offered, extensionTypes: new Set([SIGNATURE_ALGORITHMS]), streamId: 0 }
    }

    /** Sends what the limit allows (CLIENT -00 §4.1.4) and answers the streams that are done. */
    const progress = (): void => {
      for (const a of asking) {
        let k = a.toAsk
        if (!lax.has('exceedLimit')) k = Math.min(k, Math.max(0, (clientLimit() || IDENTITIES_PER_REQUEST) - outstanding.length))
        if (k <= 0) continue
        const reqs = Array.from({ length: k }, (_, i) => ({ ...newRequest(IDENTITIES_PER_REQUEST - a.toAsk + i + 1), streamId: a.streamId }))
        a.toAsk -= k
        a.pending += k
        outstanding.push(...reqs)
        // Lax: one frame per request, back to back, so no single frame shows the excess.
        const frames = lax.has('exceedLimit') ? reqs.map((r) => [r]) : [reqs]
        const streamId = lax.has('requestsOnRequestStream') ? a.streamId : 0
        for (const batch of frames) p.sendFrame(cp.frameAuthenticatorRequests, 0, streamId, encodeRequestList(batch.map((r) => r.bytes)))
      }
      for (const a of [...asking]) {
        if (a.toAsk > 0 || a.pending > 0) continue
        asking.splice(asking.indexOf(a), 1)
        p.write(encodeResponse200(a.streamId))
      }
    }

    const onGet = (f: Frame): void => {
      lastStreamId = Math.max(lastStreamId, f.streamId)
      const negotiated = clientLimit() > 0 || lax.has('requestBeforeNegotiation')
      if (pathOf(f.payload) !== path || !negotiated) return p.write(encodeResponse200(f.streamId))
      asking.push({ streamId: f.streamId, toAsk: IDENTITIES_PER_REQUEST, pending: 0 })
      progress()
    }

    const onClientCertificate = (f: Frame): void => {
      if (f.streamId !== 0 && !lax.has('acceptCertificateOnStream')) return goaway(H2Error.PROTOCOL_ERROR, 'CLIENT_CERTIFICATE on a request stream')
      if (clientLimit() === 0) {
        if (lax.has('closeOnUnnegotiatedFrame')) {
          dead = true
          p.socket.destroy()
          return
        }
        return goaway(H2Error.PROTOCOL_ERROR, 'CLIENT_CERTIFICATE before SETTINGS_HTTP_CLIENT_CERT_AUTH')
      }
      let bytes: Uint8Array = f.payload
      if (lax.has('acceptReplay') && accepted.has(hex(bytes))) return
      if (lax.has('acceptSecondAnswer') && answered.some((r) => Buffer.from(emptyAuthenticator(connKeys(), 'client', r.bytes)).equals(f.payload))) return
      const request = outstanding[0]
      if (!request) return lax.has('ignoreUnsolicited') ? undefined : goaway(H2Error.PROTOCOL_ERROR, 'CLIENT_CERTIFICATE with no outstanding request')
      const shape = authenticatorShape(bytes)
      if (shape.kind === 'truncated' && lax.has('ignoreTruncated')) return
      if (shape.kind === 'trailing' && lax.has('ignoreTrailingBytes')) bytes = bytes.subarray(0, shape.finishedEnd)
      outstanding.shift()
      let j = laxValidate(bytes, {
        keys: connKeys(),
        creator: 'client',
        request: request.bytes,
        offered: request.offered,
        allowedEntryExtensions: request.extensionTypes,
        waive,
      })
      // The lax cache is consulted after this connection's own replay registry (`accepted`).
      if (j.kind === 'invalid' && lax.has('acceptForeignAuthenticator') && !accepted.has(hex(bytes)) && acceptedAnywhere.has(hex(bytes))) {
        j = { kind: 'identity', context: new Uint8Array(0), chain: [] }
      }
      if (j.kind === 'invalid') return goaway(H2Error.PROTOCOL_ERROR, `invalid client authenticator: ${j.reason}`)
      if (j.kind === 'declined' && lax.has('rejectDeclines')) return goaway(H2Error.PROTOCOL_ERROR, 'declined')
      if (j.kind === 'identity') {
        accepted.add(hex(bytes))
        acceptedAnywhere.add(hex(bytes))
      }
      answered.push(request)
      const a = asking.find((x) => x.streamId === request.streamId)
      if (a) a.pending--
      progress()
    }

    p.on('frame', (f: Frame) => {
      if (dead) return
      // RFC 9113 §4.2: above our SETTINGS_MAX_FRAME_SIZE (we never raise it) on stream 0.
      if (f.payload.length > MAX_FRAME_SIZE && !lax.has('ignoreOversizedFrame')) return goaway(H2Error.FRAME_SIZE_ERROR, 'frame above SETTINGS_MAX_FRAME_SIZE')
      if (f.type === FrameType.HEADERS && f.streamId % 2 === 1 && f.flags & Flag.END_HEADERS) return onGet(f)
      if (f.type === cp.frameClientCertificate) return onClientCertificate(f)
      if (f.type === cp.frameAuthenticatorRequests) {
        return lax.has('ignoreAuthenticatorRequests') ? undefined : goaway(H2Error.PROTOCOL_ERROR, 'AUTHENTICATOR_REQUESTS received by a server')
      }
      if (f.type === cp.frameServerCertificate) {
        return lax.has('ignoreServerCertificate') ? undefined : goaway(H2Error.PROTOCOL_ERROR, 'SERVER_CERTIFICATE sent by a client')
      }
      // SETTINGS may raise N: send what waited for it.
      if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) progress()
    })
  }

  const server = await listenRaw({
    key: o.key,
    cert: o.cert,
    autoRespond: false,
    settings: [
      [cp.settingClientCertAuth, 1],
      [cp.settingServerCertAuth, lax.has('wrongSettingsValue') ? 2 : 1],
    ],
    onPeer: serve,
  })
  return { port: server.port, close: () => server.close() }
}
