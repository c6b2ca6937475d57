import { AuthenticatorInvalidError, DecodeError, UsageError } from '../errors.js'
import type { InvalidReason } from '../errors.js'
import type { CryptoProvider, SigningKey } from '../crypto/provider.js'
import { defaultCrypto } from '../crypto/default-provider.js'
import { DEFAULTS } from '../config.js'
import { HandshakeType } from '../wire/tls/handshake.js'
import { decodeCertificateRequest, encodeCertificateRequest, scanPlainRequest } from '../wire/tls/certificate-request.js'
import type { CertificateRequest, CertificateRequestInit, PlainRequestScan } from '../wire/tls/certificate-request.js'
import { encodeCertificate } from '../wire/tls/certificate.js'
import type { CertificateEntry } from '../wire/tls/certificate.js'
import { decodeAuthenticator, scanAuthenticator } from '../wire/tls/authenticator.js'
import { ExtensionType } from '../wire/tls/extensions.js'
import type { Extension } from '../wire/tls/extensions.js'
import { isTls13Scheme, schemeMatchesKey, schemeName, TLS13_SCHEMES } from '../wire/tls/signature-scheme.js'
import { keysFromTlsSocket } from './exporter.js'
import type { AuthenticatorHash, Exporter, TlsSocketLike } from './exporter.js'
import { TranscriptScratch, acquireScratch, deriveKeys, finishedMacInto, macScratch, releaseScratch, sliceView } from './transcript.js'
import type { AuthenticatorKeys, Role } from './transcript.js'
import { OutputArena } from './output-arena.js'
import { ContextRegistry } from './context-registry.js'

/** A certificate chain with the key of its leaf, as presented in an authenticator. */
export interface Credential {
  /** DER certificates, end-entity first (RFC 9261 §5.2.1). */
  readonly chain: readonly Uint8Array[]
  /** Private key of `chain[0]`, imported into the provider that will sign. */
  readonly key: SigningKey
  /**
   * Extensions per chain entry (index-aligned), e.g. a stapled OCSP response (status_request) for
   * the leaf. Only those whose type the request carried are sent (RFC 9261 §5.2.1).
   */
  readonly entryExtensions?: readonly (readonly Extension[])[]
}

/** The result of `validate` (RFC 9261 §7.4). */
export type Verdict =
  | {
      readonly kind: 'identity'
      readonly context: Uint8Array
      /** DER certificates as received, end-entity first. Not path-validated: that is policy. */
      readonly chain: readonly Uint8Array[]
      readonly entries: readonly CertificateEntry[]
      readonly scheme: number
      /** When validation succeeded (authenticators carry no time of their own, RFC 9261 §9). */
      readonly validatedAt: Date
    }
  | { readonly kind: 'declined' }
  | { readonly kind: 'invalid'; readonly reason: InvalidReason; readonly error: AuthenticatorInvalidError }

export interface ExportedAuthenticatorsOptions {
  /** Our role on the TLS connection. */
  readonly role: Role
  readonly exporter: Exporter
  readonly hash: AuthenticatorHash
  /** Default: `defaultCrypto` (node:crypto, plus noble for ML-DSA where OpenSSL lacks it). */
  readonly provider?: CryptoProvider
  /**
   * Schemes of the ClientHello's signature_algorithms, for spontaneous server authenticators
   * (RFC 9261 §5.2.2). Node does not expose the peer's ClientHello list, so the server assumes,
   * and the client checks against, this list. Default: every TLS 1.3 scheme the provider supports
   * (what Node clients offer).
   */
  readonly clientHelloSchemes?: readonly number[]
  /**
   * Extension types allowed in certificate entries of spontaneous authenticators, i.e. those the
   * client sent in its ClientHello (RFC 9261 §5.2.1). Default: none.
   */
  readonly clientHelloEntryExtensions?: readonly number[]
  /** Accept type 17 requests from a server (CLIENT -00 §4.1.3's literal wording). Default false. */
  readonly acceptType17FromServer?: boolean
}

/** What `request` accepts: every request field except the type (taken from our role). */
export type RequestOptions = Omit<CertificateRequestInit, 'type' | 'context' | 'signatureAlgorithms'> & {
  /** Default: 32 random bytes, unique on this connection. */
  readonly context?: Uint8Array
  /** Default: every TLS 1.3 scheme the provider can verify. */
  readonly signatureAlgorithms?: readonly number[]
}

export interface AuthenticateOptions {
  /** The peer's request (bytes exactly as received). Absent: a spontaneous server authenticator. */
  readonly request?: Uint8Array
  /** What to present; absent: the empty authenticator that declines `request` (RFC 9261 §5.2.4). */
  readonly credential?: Credential
  /** Context of a spontaneous authenticator. Default: 32 random bytes, unique on the connection. */
  readonly context?: Uint8Array
  /** Force one scheme; default: the first of the key's schemes that the request offered. */
  readonly scheme?: number
}

export interface ValidateOptions {
  /** Our request that this authenticator answers (bytes as sent). Absent: spontaneous. */
  readonly request?: Uint8Array
}

// Bits of the per-connection context registry (RFC 9261 §4, §5.2.1, §7.4).
/** A request with this context was made or received. */
const REQUESTED = 1
/** We built an authenticator for this context. */
const CREATED = 2
/** We validated an authenticator for this context. */
const VALIDATED = 4

const EMPTY = new Uint8Array(0)

/**
 * RFC 9261 §7 API for one TLS 1.3 connection: `request`, `getContext`, `authenticate`,
 * `validate`, plus the per-connection context registry that §4, §5.2.1 and §7.4 require:
 * contexts are unique across both request types and spontaneous authenticators, no second
 * authenticator is built for a context, and an authenticator for an already validated context is
 * rejected.
 *
 * Keys are exported once per creator role and cached. Authenticate and validate write the
 * transcript (Handshake Context || request || Certificate || CertificateVerify) once into a
 * shared buffer and hash its prefixes in one shot (issue 14 item 4; spec/ea/hot-path.spec.ts
 * holds the result byte-identical to the message-by-message encoders).
 */
export class ExportedAuthenticators {
  readonly role: Role
  readonly hash: AuthenticatorHash
  readonly provider: CryptoProvider
  private readonly exporter: Exporter
  private readonly clientHelloSchemes: readonly number[]
  private readonly clientHelloEntryExtensions: ReadonlySet<number>
  private readonly acceptType17FromServer: boolean
  /** Request types we accept from the peer (RFC 9261 §4; CLIENT -00 §4.1.3 for type 17). */
  private readonly peerRequestTypes: readonly number[]
  // Created on first use: most connections never authenticate, and an idle connection should
  // cost little memory (issue 9 item 10).
  private serverKeys: AuthenticatorKeys | undefined
  private clientKeys: AuthenticatorKeys | undefined
  /** Context registry: context bytes → REQUESTED | CREATED | VALIDATED bits. */
  private contexts: ContextRegistry | undefined
  /** Where this connection's authenticators are written (see output-arena.ts). */
  private arena: OutputArena | undefined

  constructor(options: ExportedAuthenticatorsOptions) {
    this.role = options.role
    this.hash = options.hash
    this.exporter = options.exporter
    this.provider = options.provider ?? defaultCrypto
    this.clientHelloSchemes = options.clientHelloSchemes ?? defaultSchemes(this.provider)
    this.clientHelloEntryExtensions =
      options.clientHelloEntryExtensions === undefined || options.clientHelloEntryExtensions.length === 0
        ? NO_EXTENSIONS
        : new Set(options.clientHelloEntryExtensions)
    this.acceptType17FromServer = options.acceptType17FromServer ?? false
    this.peerRequestTypes =
      this.role === 'client' ? (this.acceptType17FromServer ? BOTH_TYPES : TYPE_13) : TYPE_17
  }

  private contextState(ctx: Uint8Array): number {
    return this.contexts === undefined ? 0 : this.contexts.get(ctx)
  }

  private registry(): ContextRegistry {
    // The seed only spreads contexts over the registry's table (see context-registry.ts).
    return (this.contexts ??= new ContextRegistry((Math.random() * 0x100000000) | 0))
  }

  /** Records `state` (the context's current bits, as just read, plus new ones). */
  private setContext(ctx: Uint8Array, state: number): void {
    this.registry().set(ctx, state)
  }

  private markContext(ctx: Uint8Array, bit: number): void {
    const r = this.registry()
    r.set(ctx, r.get(ctx) | bit)
  }

  /**
   * Binds to a connected TLS socket (or an HTTP/2 session's `socket` proxy).
   * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) unless the connection is TLS 1.3
   */
  static fromTlsSocket(
    socket: TlsSocketLike,
    options: Omit<ExportedAuthenticatorsOptions, 'exporter' | 'hash'>,
  ): ExportedAuthenticators {
    const { exporter, hash } = keysFromTlsSocket(socket)
    return new ExportedAuthenticators({ ...options, exporter, hash })
  }

  /** Hash output length L. */
  get hashLength(): 32 | 48 {
    return this.hash === 'sha384' ? 48 : 32
  }

  private keys(creator: Role): AuthenticatorKeys {
    if (creator === 'server') return (this.serverKeys ??= deriveKeys(this.exporter, this.hash, 'server'))
    return (this.clientKeys ??= deriveKeys(this.exporter, this.hash, 'client'))
  }

  private freshContext(): Uint8Array {
    for (;;) {
      const c = randomContext(this.provider)
      if (this.contextState(c) === 0) return c
    }
  }

  /** Whether the request (or, spontaneous, the ClientHello) offered `scheme` (RFC 9261 §5.2.2). */
  private offers(req: RequestFacts | undefined, scheme: number): boolean {
    return req !== undefined ? req.offers(scheme) : this.clientHelloSchemes.includes(scheme)
  }

  /** The first of the key's schemes (our preference order) that the peer offered. */
  private firstOffered(schemes: readonly number[], req: RequestFacts | undefined): number | undefined {
    for (let i = 0; i < schemes.length; i++) if (this.offers(req, schemes[i]!)) return schemes[i]
    return undefined
  }

  /** The request type our role makes: servers 13, clients 17 (RFC 9261 §4). */
  get requestType(): number {
    return this.role === 'server' ? HandshakeType.certificate_request : HandshakeType.client_certificate_request
  }

  /**
   * RFC 9261 §7.1 `request`: builds a CertificateRequest (server) or ClientCertificateRequest
   * (client) with a fresh unpredictable context and registers the context.
   * @returns the complete handshake message to send
   * @throws UsageError (`ERR_SC_USAGE`) for a context already used on this connection
   */
  request(options: RequestOptions = {}): Uint8Array {
    let context = options.context
    if (context === undefined) {
      // A fresh context: drawn until unused on this connection (a repeat is all but impossible).
      do {
        context = randomContext(this.provider)
      } while (this.contextState(context) !== 0)
    } else if (this.contextState(context) !== 0) {
      throw new UsageError('certificate_request_context already used on this connection')
    }
    const type = this.requestType
    const signatureAlgorithms = options.signatureAlgorithms ?? this.clientHelloSchemes
    // The common request (schemes, maybe a context) skips the spread of the options object.
    const bytes = encodeCertificateRequest(
      onlySchemes(options) ? { type, context, signatureAlgorithms } : { ...options, type, context, signatureAlgorithms },
    )
    this.setContext(context, REQUESTED)
    return bytes
  }


  /**
   * Decodes a request received from the peer, checks its type fits the peer's role and that its
   * context is new on this connection, and registers it.
   * @throws DecodeError (`ERR_SC_DECODE`) when malformed or of the wrong type
   * @throws AuthenticatorInvalidError (`ERR_SC_AUTHENTICATOR_INVALID`, reason `context-reused`)
   */
  receiveRequest(bytes: Uint8Array): CertificateRequest {
    const req = decodeCertificateRequest(bytes, this.peerRequestTypes)
    if (this.contextState(req.context) !== 0) {
      throw new AuthenticatorInvalidError('context-reused', 'request context already used on this connection')
    }
    this.setContext(req.context, REQUESTED)
    return req
  }

  /**
   * RFC 9261 §7.2 `get context`: the certificate_request_context of a request or authenticator;
   * null for an empty authenticator.
   * @throws DecodeError (`ERR_SC_DECODE`)
   */
  getContext(bytes: Uint8Array): Uint8Array | null {
    const t = bytes[0]
    if (t === HandshakeType.certificate_request || t === HandshakeType.client_certificate_request) {
      return decodeCertificateRequest(bytes).context
    }
    const a = decodeAuthenticator(bytes)
    return a.kind === 'full' ? a.certificate.context : null
  }

  /**
   * RFC 9261 §7.3 `authenticate`. With `request` and `credential`: an authenticator answering the
   * request. With `request` and no credential: the empty authenticator (decline). Server only,
   * without `request`: a spontaneous authenticator.
   * @returns authenticator bytes (Certificate || CertificateVerify || Finished, or Finished only);
   *   from a connection's second authenticator on, a view whose `.buffer` is shared with this
   *   connection's other authenticators only (never another connection's; see output-arena.ts)
   * @throws UsageError (`ERR_SC_USAGE`) when no offered scheme fits the key, the context was
   *   already answered, or a client tries a spontaneous authenticator
   * @throws DecodeError (`ERR_SC_DECODE`) when `request` is malformed
   */
  authenticate(options: AuthenticateOptions): Uint8Array {
    const keys = this.keys(this.role)
    let requestBytes: Uint8Array = EMPTY
    let context: Uint8Array
    let req: RequestFacts | undefined
    if (options.request) {
      req = requestFacts(options.request)
      requestBytes = options.request
      context = req.context
    } else {
      if (this.role !== 'server') {
        throw new UsageError('a client must not create an authenticator without a request (RFC 9261 §5)')
      }
      if (!options.credential) throw new UsageError('a spontaneous authenticator needs a credential')
      context = options.context ?? this.freshContext()
      if ((this.contextState(context) & (REQUESTED | VALIDATED)) !== 0) {
        throw new UsageError('context already used on this connection')
      }
    }
    const state = this.contextState(context)
    // RFC 9261 §5.2.4 / §5.4 of the digest: never a second authenticator for one context.
    if ((state & CREATED) !== 0) throw new UsageError('an authenticator for this context was already created')

    if (!options.credential) {
      this.setContext(context, state | CREATED)
      return this.buildEmpty(keys, requestBytes, context)
    }
    const cred = options.credential
    if (cred.chain.length === 0) throw new UsageError('credential chain is empty')
    const scheme = options.scheme ?? this.firstOffered(cred.key.schemes, req)
    if (scheme === undefined || !this.offers(req, scheme)) {
      throw new UsageError(
        `no signature scheme of the key (${cred.key.schemes.map(schemeName).join(', ')}) was offered`,
      )
    }
    if (!isTls13Scheme(scheme) || !schemeMatchesKey(scheme, cred.key.keyType, cred.key.curve)) {
      throw new UsageError(`scheme ${schemeName(scheme)} does not fit the key`)
    }
    if (context.length > 0xff) throw new UsageError('certificate_request_context longer than 255 bytes')
    // RFC 9261 §5.2.1: entry extensions only of types the request (or the ClientHello) carried.
    const list = certificateList(cred, req, this.clientHelloEntryExtensions)
    const L = keys.length
    const certBody = 1 + context.length + 3 + list.length
    if (list.length > 0xffffff || certBody > 0xffffff) throw new UsageError('certificate_list too long')
    const certAt = L + requestBytes.length
    const cvAt = certAt + 4 + certBody
    const scratch = acquireScratch()
    try {
      // Handshake Context || request || Certificate (RFC 9261 §5.2.1, §5.2.2).
      let buf = scratch.ensure(cvAt + 512, 0)
      buf.set(keys.hc, 0)
      buf.set(requestBytes, L)
      let at = certAt
      buf[at] = HandshakeType.certificate
      putU24(buf, at + 1, certBody)
      buf[at + 4] = context.length
      buf.set(context, at + 5)
      at += 5 + context.length
      putU24(buf, at, list.length)
      buf.set(list, at + 3)
      const hashes = scratch.hashesFor(this.provider, keys)
      const signature = this.provider.sign(scheme, cred.key, hashes.signedContent(buf, cvAt))
      if (signature.length > 0xffff) throw new UsageError('signature longer than 65535 bytes')
      // CertificateVerify (RFC 8446 §4.4.3 layout): algorithm, signature<0..2^16-1>.
      const cvLen = 8 + signature.length
      const end = cvAt + cvLen
      buf = scratch.ensure(end, cvAt)
      buf[cvAt] = HandshakeType.certificate_verify
      putU24(buf, cvAt + 1, 4 + signature.length)
      buf[cvAt + 4] = scheme >>> 8
      buf[cvAt + 5] = scheme & 0xff
      buf[cvAt + 6] = signature.length >>> 8
      buf[cvAt + 7] = signature.length & 0xff
      buf.set(signature, cvAt + 8)
      const mac = macScratch(L)
      hashes.finishedMac(buf, end, mac, 0)
      // Certificate || CertificateVerify || Finished, in one buffer of this connection's arena.
      const out = (this.arena ??= new OutputArena()).alloc(end - certAt + 4 + L)
      out.set(sliceView(buf, certAt, end), 0)
      writeFinished(out, end - certAt, mac)
      this.setContext(context, state | CREATED)
      return out
    } finally {
      releaseScratch(scratch, L)
    }
  }

  /**
   * The empty authenticator declining `request` (RFC 9261 §5.2.4), even when an authenticator
   * for its context was already built but never sent (e.g. it did not fit the peer's frame size).
   * @throws DecodeError (`ERR_SC_DECODE`) when `request` is malformed
   */
  emptyAuthenticator(request: Uint8Array): Uint8Array {
    const req = decodeCertificateRequest(request)
    this.markContext(req.context, CREATED)
    return this.buildEmpty(this.keys(this.role), request, req.context)
  }

  private buildEmpty(keys: AuthenticatorKeys, requestBytes: Uint8Array, context: Uint8Array): Uint8Array {
    const mac = this.emptyMac(keys, requestBytes, context)
    const out = new Uint8Array(4 + mac.length)
    writeFinished(out, 0, mac)
    return out
  }

  /**
   * RFC 9261 §5.2.4: the empty authenticator's Finished MAC, over Handshake Context || request ||
   * a Certificate with the request's context and no entries (no CertificateVerify). Returns the
   * shared MAC buffer: valid until the next authenticate or validate.
   */
  private emptyMac(keys: AuthenticatorKeys, requestBytes: Uint8Array, context: Uint8Array): Uint8Array {
    const L = keys.length
    const certAt = L + requestBytes.length
    const scratch = acquireScratch()
    try {
      const buf = scratch.ensure(certAt, 0)
      buf.set(keys.hc, 0)
      buf.set(requestBytes, L)
      return this.emptyMacAt(keys, scratch, certAt, context)
    } finally {
      releaseScratch(scratch, L)
    }
  }

  /**
   * {@link emptyMac} over a scratch already holding Handshake Context || request in
   * `[0, certAt)`: writes the entry-less Certificate at `certAt`, over whatever follows.
   */
  private emptyMacAt(keys: AuthenticatorKeys, scratch: TranscriptScratch, certAt: number, context: Uint8Array): Uint8Array {
    const end = certAt + 8 + context.length
    const buf = scratch.ensure(end, certAt)
    buf[certAt] = HandshakeType.certificate
    putU24(buf, certAt + 1, 4 + context.length)
    buf[certAt + 4] = context.length
    buf.set(context, certAt + 5)
    putU24(buf, end - 3, 0)
    const mac = macScratch(keys.length)
    finishedMacInto(this.provider, keys, buf.subarray(0, end), mac, 0)
    return mac
  }

  /**
   * RFC 9261 §7.4 `validate`, with the checks of the digest's validator checklist (§9). The keys
   * are derived with the PEER's (creator's) labels. Never throws for bad input: a malformed or
   * failing authenticator is `{ kind: 'invalid', reason }`. An empty authenticator with a correct
   * MAC is `{ kind: 'declined' }`. Chain trust is not checked here (policy).
   */
  validate(authenticator: Uint8Array, options: ValidateOptions = {}): Verdict {
    try {
      return this.validateOrThrow(authenticator, options)
    } catch (e) {
      if (e instanceof AuthenticatorInvalidError) return { kind: 'invalid', reason: e.reason, error: e }
      if (e instanceof DecodeError) {
        const error = new AuthenticatorInvalidError('malformed', `malformed authenticator: ${e.message}`, { cause: e })
        return { kind: 'invalid', reason: 'malformed', error }
      }
      throw e
    }
  }

  private validateOrThrow(bytes: Uint8Array, options: ValidateOptions): Verdict {
    const creator: Role = this.role === 'server' ? 'client' : 'server'
    const keys = this.keys(creator)
    const request = options.request ? requestFacts(options.request) : undefined
    const requestBytes = options.request ?? EMPTY
    const L = keys.length
    const certAt = L + requestBytes.length
    const scratch = acquireScratch()
    try {
      // The transcript copy first: Handshake Context || request || the authenticator exactly as
      // received (RFC 9261 §5.2.2, §5.2.3; the hashes stop before the Finished). One sequential
      // copy also brings the authenticator into cache for the scan, whose reads jump from length
      // field to length field.
      const buf = scratch.ensure(certAt + bytes.length, 0)
      buf.set(keys.hc, 0)
      buf.set(requestBytes, L)
      buf.set(bytes, certAt)
      return this.validateCopied(bytes, request, keys, scratch, buf, certAt)
    } finally {
      releaseScratch(scratch, L)
    }
  }

  /** validateOrThrow once the transcript copy is in `buf` (the authenticator at `certAt`). */
  private validateCopied(
    bytes: Uint8Array,
    request: RequestFacts | undefined,
    keys: AuthenticatorKeys,
    scratch: TranscriptScratch,
    buf: Uint8Array,
    certAt: number,
  ): Verdict {
    const a = scanAuthenticator(bytes)

    if (a.kind === 'empty') {
      if (!request) return fail('empty-without-request', 'an empty authenticator must answer a request')
      if (a.verifyData.length !== keys.length) return fail('bad-finished', 'Finished has the wrong length')
      // The entry-less Certificate replaces the copied authenticator after the request.
      const mac = this.emptyMacAt(keys, scratch, certAt, request.context)
      if (!this.provider.equal(mac, a.verifyData)) return fail('bad-finished', 'Finished MAC mismatch')
      return { kind: 'declined' }
    }

    const context = a.context
    const state = this.contextState(context)
    // Checklist 12 / RFC 9261 §7.4: one validated authenticator per context.
    if ((state & VALIDATED) !== 0) return fail('already-validated', 'context already validated on this connection')
    if (request) {
      // Contexts are public (both are on the wire): a plain comparison, no constant-time call.
      if (!request.contextEquals(context)) {
        return fail('context-mismatch', 'authenticator context differs from the request')
      }
    } else if ((state & (REQUESTED | CREATED)) !== 0) {
      return fail('context-reused', 'spontaneous authenticator reuses a context of this connection')
    }
    const entries = a.entries
    const leafEntry = entries[0]
    if (!leafEntry) return fail('empty-certificate-list', 'certificate_list is empty')
    // Checklist 8: entry extensions only of types present in the request (or the ClientHello).
    for (let i = 0; i < entries.length; i++) {
      const exts = entries[i]!.extensions
      if (exts.length === 0) continue
      for (let j = 0; j < exts.length; j++) {
        const x = exts[j]!
        const allowed = request ? request.hasExtension(x.type) : this.clientHelloEntryExtensions.has(x.type)
        if (!allowed) return fail('unrequested-extension', `entry extension ${x.type} was not requested`)
      }
    }
    let keyInfo
    try {
      keyInfo = this.provider.publicKeyInfo(leafEntry.certData)
    } catch (e) {
      return fail('bad-certificate', `end-entity certificate unusable: ${(e as Error).message}`)
    }
    const scheme = a.algorithm
    // Checklist 9.
    if (!isTls13Scheme(scheme)) return fail('scheme-not-tls13', `${schemeName(scheme)} is not allowed in TLS 1.3`)
    if (!this.offers(request, scheme)) return fail('scheme-not-offered', `${schemeName(scheme)} was not offered`)
    if (!schemeMatchesKey(scheme, keyInfo.keyType, keyInfo.curve)) {
      return fail('scheme-key-mismatch', `${schemeName(scheme)} does not match the certificate key`)
    }
    const L = keys.length
    const cvAt = certAt + a.certificateEnd
    const end = certAt + a.verifyEnd
    // Checklist 10.
    const hashes = scratch.hashesFor(this.provider, keys)
    const content = hashes.signedContent(buf, cvAt)
    // The signature and the Finished are read from the transcript copy (cached views).
    if (!this.provider.verify(scheme, leafEntry.certData, content, sliceView(buf, cvAt + 8, end))) {
      return fail('bad-signature', 'CertificateVerify signature does not verify')
    }
    // Checklist 11.
    const finishedEnd = certAt + bytes.length
    if (finishedEnd - (end + 4) !== L) return fail('bad-finished', 'Finished has the wrong length')
    const mac = macScratch(L)
    hashes.finishedMac(buf, end, mac, 0)
    if (!this.provider.equal(mac, sliceView(buf, end + 4, finishedEnd))) return fail('bad-finished', 'Finished MAC mismatch')
    this.setContext(context, state | VALIDATED)
    // Sized up front: a pushed-to empty array grows a 16-slot store.
    const chain = new Array<Uint8Array>(entries.length)
    for (let i = 0; i < entries.length; i++) chain[i] = entries[i]!.certData
    return { kind: 'identity', context, chain, entries, scheme, validatedAt: new Date() }
  }
}

/** Random bytes drawn from the provider in blocks, handed out once each (never reused). */
interface RandomPool {
  buf: Uint8Array
  at: number
}
const RANDOM_POOLS = new WeakMap<CryptoProvider, RandomPool>()
const POOL_CONTEXTS = 32

/**
 * A fresh unpredictable context (RFC 9261 §4: "SHOULD be unpredictable"): DEFAULTS.contextBytes
 * bytes of the provider's CSPRNG. Drawn 32 contexts at a time, as one randomBytes call costs
 * about as much as the rest of `request()`; each slice is used for one context only and is
 * copied into the request message.
 */
function randomContext(provider: CryptoProvider): Uint8Array {
  const n = DEFAULTS.contextBytes
  let pool = RANDOM_POOLS.get(provider)
  if (pool === undefined || pool.at + n > pool.buf.length) {
    pool = { buf: provider.randomBytes(n * POOL_CONTEXTS), at: 0 }
    RANDOM_POOLS.set(provider, pool)
  }
  const c = pool.buf.subarray(pool.at, pool.at + n)
  pool.at += n
  return c
}

function fail(reason: InvalidReason, message: string): never {
  throw new AuthenticatorInvalidError(reason, message)
}

function putU24(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 16
  b[at + 1] = (v >>> 8) & 0xff
  b[at + 2] = v & 0xff
}

/** Finished (RFC 9261 §5.2.3): header and verify_data written into `out` at `at`. */
function writeFinished(out: Uint8Array, at: number, mac: Uint8Array): void {
  out[at] = HandshakeType.finished
  putU24(out, at + 1, mac.length)
  out.set(mac, at + 4)
}

/**
 * True when a request's options carry nothing beyond the context and the schemes (checked by key,
 * so an option added later can never be dropped by the fast path).
 */
function onlySchemes(o: RequestOptions): boolean {
  for (const key in o) {
    if (key !== 'context' && key !== 'signatureAlgorithms' && (o as Record<string, unknown>)[key] !== undefined) return false
  }
  return true
}

/**
 * What authenticate and validate use of a request given back to them (RFC 9261 §4, §5.2.1,
 * §5.2.2): its context, the schemes and the extension types it carried.
 *
 * Requests are read again on each call, not cached: a WeakMap from request bytes to their
 * decoding kept the decoded requests alive through young-generation collections on Node 20 (each
 * scavenge of the ea bench copied and promoted 1–2.4 MB and paused 7–16 ms, against 0.16 MB and
 * 5–6 ms without it; `--trace-gc-nvp`). The common request, signature_algorithms only, is read in
 * place ({@link scanPlainRequest}); any other is decoded in full.
 */
interface RequestFacts {
  readonly context: Uint8Array
  /** Whether `c` holds the same bytes as the request's context (public data: a plain comparison). */
  contextEquals(c: Uint8Array): boolean
  offers(scheme: number): boolean
  hasExtension(type: number): boolean
}

/** A request with signature_algorithms as its only extension, read in place. */
class PlainRequest implements RequestFacts {
  private readonly bytes: Uint8Array
  private readonly contextStart: number
  private readonly contextLength: number
  private readonly schemesStart: number
  private readonly schemesEnd: number

  constructor(bytes: Uint8Array, scan: PlainRequestScan) {
    this.bytes = bytes
    this.contextStart = scan.contextStart
    this.contextLength = scan.contextLength
    this.schemesStart = scan.schemesStart
    this.schemesEnd = scan.schemesEnd
  }

  /** A view of the context, made on demand (validate compares in place). */
  get context(): Uint8Array {
    return this.bytes.subarray(this.contextStart, this.contextStart + this.contextLength)
  }

  contextEquals(c: Uint8Array): boolean {
    const n = this.contextLength
    if (c.length !== n) return false
    const b = this.bytes
    const at = this.contextStart
    for (let i = 0; i < n; i++) if (c[i] !== b[at + i]) return false
    return true
  }

  offers(scheme: number): boolean {
    const b = this.bytes
    for (let i = this.schemesStart; i < this.schemesEnd; i += 2) if (((b[i]! << 8) | b[i + 1]!) === scheme) return true
    return false
  }

  hasExtension(type: number): boolean {
    return type === ExtensionType.signature_algorithms
  }
}

/** Any other request, decoded in full. */
class DecodedRequest implements RequestFacts {
  private readonly req: CertificateRequest
  constructor(req: CertificateRequest) {
    this.req = req
  }
  get context(): Uint8Array {
    return this.req.context
  }
  contextEquals(c: Uint8Array): boolean {
    return sameBytes(c, this.req.context)
  }
  offers(scheme: number): boolean {
    return this.req.signatureAlgorithms.includes(scheme)
  }
  hasExtension(type: number): boolean {
    return requestHasExtension(this.req, type)
  }
}

/**
 * @throws DecodeError (`ERR_SC_DECODE`) when the bytes are not a request
 */
function requestFacts(bytes: Uint8Array): RequestFacts {
  const p = scanPlainRequest(bytes)
  return p === undefined ? new DecodedRequest(decodeCertificateRequest(bytes)) : new PlainRequest(bytes, p)
}

const TYPE_13: readonly number[] = Object.freeze([HandshakeType.certificate_request])
const TYPE_17: readonly number[] = Object.freeze([HandshakeType.client_certificate_request])
const BOTH_TYPES: readonly number[] = Object.freeze([HandshakeType.certificate_request, HandshakeType.client_certificate_request])

/** Whether a request carried an extension of this type: its answer's entries may (RFC 9261 §5.2.1). */
function requestHasExtension(req: CertificateRequest, type: number): boolean {
  const exts = req.extensions
  for (let i = 0; i < exts.length; i++) if (exts[i]!.type === type) return true
  return false
}

/** An encoded certificate_list and the chain it was made from (element identity checked). */
interface CachedList {
  readonly chain: readonly Uint8Array[]
  readonly items: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

const LIST_CACHE = new WeakMap<Credential, CachedList>()

/**
 * The contents of `CertificateEntry certificate_list<0..2^24-1>` (RFC 8446 §4.4.2) for a
 * credential. A chain without entry extensions encodes the same on every call, so it is cached
 * per credential object (and rebuilt if its chain array or elements were swapped). Chains with
 * entry extensions keep those whose type the request (or, spontaneous, the ClientHello) carried
 * and are encoded per call.
 */
function certificateList(
  cred: Credential,
  req: RequestFacts | undefined,
  clientHelloEntryExtensions: ReadonlySet<number>,
): Uint8Array {
  const plain = cred.entryExtensions === undefined || cred.entryExtensions.every((x) => x.length === 0)
  if (plain) {
    const hit = LIST_CACHE.get(cred)
    if (hit !== undefined && hit.chain === cred.chain && sameItems(hit.items, cred.chain)) return hit.bytes
  }
  const ok: { has(type: number): boolean } = plain
    ? NO_EXTENSIONS
    : req
      ? { has: (type: number): boolean => req.hasExtension(type) }
      : clientHelloEntryExtensions
  const entries: CertificateEntry[] = cred.chain.map((certData, i) => ({
    certData,
    extensions: plain ? [] : (cred.entryExtensions?.[i] ?? []).filter((e) => ok.has(e.type)),
  }))
  // encodeCertificate checks every length and duplicate; its body after the context and the
  // list length is the list itself.
  const msg = encodeCertificate({ context: EMPTY, entries })
  const bytes = msg.subarray(4 + 1 + 3)
  if (plain) LIST_CACHE.set(cred, { chain: cred.chain, items: cred.chain.slice(), bytes })
  return bytes
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function sameItems(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const NO_EXTENSIONS: ReadonlySet<number> = new Set()

/** The TLS 1.3 schemes a provider can use, computed once per provider object. */
const schemesByProvider = new WeakMap<CryptoProvider, readonly number[]>()

function defaultSchemes(provider: CryptoProvider): readonly number[] {
  let list = schemesByProvider.get(provider)
  if (list === undefined) {
    list = Object.freeze(TLS13_SCHEMES.filter((s) => provider.schemes.includes(s)))
    schemesByProvider.set(provider, list)
  }
  return list
}
