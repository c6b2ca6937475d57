import { AuthenticatorInvalidError, DecodeError, UsageError } from '../errors.js'
import type { InvalidReason } from '../errors.js'
import type { CryptoProvider, SigningKey } from '../crypto/provider.js'
import { defaultCrypto } from '../crypto/default-provider.js'
import { DEFAULTS } from '../config.js'
import { HandshakeType } from '../wire/tls/handshake.js'
import { decodeCertificateRequest, encodeCertificateRequest } from '../wire/tls/certificate-request.js'
import type { CertificateRequest, CertificateRequestInit } from '../wire/tls/certificate-request.js'
import { encodeCertificate } from '../wire/tls/certificate.js'
import type { CertificateEntry } from '../wire/tls/certificate.js'
import { encodeCertificateVerify } from '../wire/tls/certificate-verify.js'
import { encodeFinished } from '../wire/tls/finished.js'
import { decodeAuthenticator } from '../wire/tls/authenticator.js'
import type { Extension } from '../wire/tls/extensions.js'
import { isTls13Scheme, schemeMatchesKey, schemeName, TLS13_SCHEMES } from '../wire/tls/signature-scheme.js'
import { keysFromTlsSocket } from './exporter.js'
import type { AuthenticatorHash, Exporter, TlsSocketLike } from './exporter.js'
import { deriveKeys, finishedMac, signedContent } from './transcript.js'
import type { AuthenticatorKeys, Role } from './transcript.js'

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

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/**
 * RFC 9261 §7 API for one TLS 1.3 connection: `request`, `getContext`, `authenticate`,
 * `validate`, plus the per-connection context registry that §4, §5.2.1 and §7.4 require:
 * contexts are unique across both request types and spontaneous authenticators, no second
 * authenticator is built for a context, and an authenticator for an already validated context is
 * rejected.
 *
 * Keys are exported once per creator role and cached.
 */
export class ExportedAuthenticators {
  readonly role: Role
  readonly hash: AuthenticatorHash
  readonly provider: CryptoProvider
  private readonly exporter: Exporter
  private readonly clientHelloSchemes: readonly number[]
  private readonly clientHelloEntryExtensions: ReadonlySet<number>
  private readonly acceptType17FromServer: boolean
  // The collections below are created on first use: most connections never authenticate, and
  // an idle connection should cost little memory (issue 9 item 10).
  private keyCacheMap: Map<Role, AuthenticatorKeys> | undefined
  private requestContextSet: Set<string> | undefined
  private createdContextSet: Set<string> | undefined
  private validatedContextSet: Set<string> | undefined
  private decodedMap: WeakMap<Uint8Array, CertificateRequest> | undefined

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
  }

  private get keyCache(): Map<Role, AuthenticatorKeys> {
    return (this.keyCacheMap ??= new Map())
  }

  /** Contexts of every request made or received on this connection (both types). */
  private get requestContexts(): Set<string> {
    return (this.requestContextSet ??= new Set())
  }

  /** Contexts for which we built an authenticator. */
  private get createdContexts(): Set<string> {
    return (this.createdContextSet ??= new Set())
  }

  /** Contexts of authenticators we validated. */
  private get validatedContexts(): Set<string> {
    return (this.validatedContextSet ??= new Set())
  }

  /** Requests this object built or received, by their bytes object, so they are decoded once. */
  private get decoded(): WeakMap<Uint8Array, CertificateRequest> {
    return (this.decodedMap ??= new WeakMap())
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
    let k = this.keyCache.get(creator)
    if (!k) {
      k = deriveKeys(this.exporter, this.hash, creator)
      this.keyCache.set(creator, k)
    }
    return k
  }

  private isContextUsed(h: string): boolean {
    return this.requestContexts.has(h) || this.createdContexts.has(h) || this.validatedContexts.has(h)
  }

  private freshContext(): Uint8Array {
    for (;;) {
      const c = this.provider.randomBytes(DEFAULTS.contextBytes)
      if (!this.isContextUsed(hex(c))) return c
    }
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
    const context = options.context ?? this.freshContext()
    const h = hex(context)
    if (this.isContextUsed(h)) throw new UsageError('certificate_request_context already used on this connection')
    const bytes = encodeCertificateRequest({
      ...options,
      type: this.requestType,
      context,
      signatureAlgorithms: options.signatureAlgorithms ?? this.clientHelloSchemes,
    })
    this.requestContexts.add(h)
    this.decoded.set(bytes, decodeCertificateRequest(bytes))
    return bytes
  }

  private decodeRequest(bytes: Uint8Array): CertificateRequest {
    return this.decoded.get(bytes) ?? decodeCertificateRequest(bytes)
  }

  /**
   * Decodes a request received from the peer, checks its type fits the peer's role and that its
   * context is new on this connection, and registers it.
   * @throws DecodeError (`ERR_SC_DECODE`) when malformed or of the wrong type
   * @throws AuthenticatorInvalidError (`ERR_SC_AUTHENTICATOR_INVALID`, reason `context-reused`)
   */
  receiveRequest(bytes: Uint8Array): CertificateRequest {
    const types =
      this.role === 'client'
        ? this.acceptType17FromServer
          ? [HandshakeType.certificate_request, HandshakeType.client_certificate_request]
          : [HandshakeType.certificate_request]
        : [HandshakeType.client_certificate_request]
    const req = decodeCertificateRequest(bytes, types)
    const h = hex(req.context)
    if (this.isContextUsed(h)) {
      throw new AuthenticatorInvalidError('context-reused', 'request context already used on this connection')
    }
    this.requestContexts.add(h)
    this.decoded.set(bytes, req)
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
   * @returns authenticator bytes (Certificate || CertificateVerify || Finished, or Finished only)
   * @throws UsageError (`ERR_SC_USAGE`) when no offered scheme fits the key, the context was
   *   already answered, or a client tries a spontaneous authenticator
   * @throws DecodeError (`ERR_SC_DECODE`) when `request` is malformed
   */
  authenticate(options: AuthenticateOptions): Uint8Array {
    const keys = this.keys(this.role)
    let requestBytes: Uint8Array = new Uint8Array(0)
    let context: Uint8Array
    let offered: readonly number[]
    let allowedEntryExts: ReadonlySet<number>
    if (options.request) {
      const req = this.decodeRequest(options.request)
      requestBytes = options.request
      context = req.context
      offered = req.signatureAlgorithms
      allowedEntryExts = new Set(req.extensions.map((e) => e.type))
    } else {
      if (this.role !== 'server') {
        throw new UsageError('a client must not create an authenticator without a request (RFC 9261 §5)')
      }
      if (!options.credential) throw new UsageError('a spontaneous authenticator needs a credential')
      context = options.context ?? this.freshContext()
      if (this.requestContexts.has(hex(context)) || this.validatedContexts.has(hex(context))) {
        throw new UsageError('context already used on this connection')
      }
      offered = this.clientHelloSchemes
      allowedEntryExts = this.clientHelloEntryExtensions
    }
    const h = hex(context)
    // RFC 9261 §5.2.4 / §5.4 of the digest: never a second authenticator for one context.
    if (this.createdContexts.has(h)) throw new UsageError('an authenticator for this context was already created')

    if (!options.credential) {
      this.createdContexts.add(h)
      return this.buildEmpty(keys, requestBytes, context)
    }
    const cred = options.credential
    if (cred.chain.length === 0) throw new UsageError('credential chain is empty')
    const scheme = options.scheme ?? cred.key.schemes.find((s) => offered.includes(s))
    if (scheme === undefined || !offered.includes(scheme)) {
      throw new UsageError(
        `no signature scheme of the key (${cred.key.schemes.map(schemeName).join(', ')}) was offered`,
      )
    }
    if (!isTls13Scheme(scheme) || !schemeMatchesKey(scheme, cred.key.keyType, cred.key.curve)) {
      throw new UsageError(`scheme ${schemeName(scheme)} does not fit the key`)
    }
    const entries: CertificateEntry[] = cred.chain.map((certData, i) => ({
      certData,
      extensions: (cred.entryExtensions?.[i] ?? []).filter((e) => allowedEntryExts.has(e.type)),
    }))
    const certificate = encodeCertificate({ context, entries })
    const content = signedContent(this.provider, keys, requestBytes, certificate)
    const signature = this.provider.sign(scheme, cred.key, content)
    const certificateVerify = encodeCertificateVerify({ algorithm: scheme, signature })
    const mac = finishedMac(this.provider, keys, requestBytes, certificate, certificateVerify)
    const finished = encodeFinished({ verifyData: mac })
    this.createdContexts.add(h)
    const out = new Uint8Array(certificate.length + certificateVerify.length + finished.length)
    out.set(certificate, 0)
    out.set(certificateVerify, certificate.length)
    out.set(finished, certificate.length + certificateVerify.length)
    return out
  }

  /**
   * The empty authenticator declining `request` (RFC 9261 §5.2.4), even when an authenticator
   * for its context was already built but never sent (e.g. it did not fit the peer's frame size).
   * @throws DecodeError (`ERR_SC_DECODE`) when `request` is malformed
   */
  emptyAuthenticator(request: Uint8Array): Uint8Array {
    const req = decodeCertificateRequest(request)
    this.createdContexts.add(hex(req.context))
    return this.buildEmpty(this.keys(this.role), request, req.context)
  }

  private buildEmpty(keys: AuthenticatorKeys, requestBytes: Uint8Array, context: Uint8Array): Uint8Array {
    const cert = encodeCertificate({ context, entries: [] })
    const mac = finishedMac(this.provider, keys, requestBytes, cert, new Uint8Array(0))
    return encodeFinished({ verifyData: mac })
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
    const fail = (reason: InvalidReason, message: string): never => {
      throw new AuthenticatorInvalidError(reason, message)
    }
    const creator: Role = this.role === 'server' ? 'client' : 'server'
    const keys = this.keys(creator)
    const request = options.request ? this.decodeRequest(options.request) : undefined
    const requestBytes = options.request ?? new Uint8Array(0)
    const a = decodeAuthenticator(bytes)

    if (a.kind === 'empty') {
      if (!request) return fail('empty-without-request', 'an empty authenticator must answer a request')
      if (a.finished.verifyData.length !== keys.length) return fail('bad-finished', 'Finished has the wrong length')
      const cert = encodeCertificate({ context: request.context, entries: [] })
      const mac = finishedMac(this.provider, keys, requestBytes, cert, new Uint8Array(0))
      if (!this.provider.equal(mac, a.finished.verifyData)) return fail('bad-finished', 'Finished MAC mismatch')
      return { kind: 'declined' }
    }

    const context = a.certificate.context
    const h = hex(context)
    // Checklist 12 / RFC 9261 §7.4: one validated authenticator per context.
    if (this.validatedContexts.has(h)) return fail('already-validated', 'context already validated on this connection')
    if (request) {
      if (!this.provider.equal(context, request.context) || context.length !== request.context.length) {
        return fail('context-mismatch', 'authenticator context differs from the request')
      }
    } else if (this.requestContexts.has(h) || this.createdContexts.has(h)) {
      return fail('context-reused', 'spontaneous authenticator reuses a context of this connection')
    }
    const entries = a.certificate.entries
    const leafEntry = entries[0]
    if (!leafEntry) return fail('empty-certificate-list', 'certificate_list is empty')
    // Checklist 8: entry extensions only of types present in the request (or the ClientHello).
    const allowed = request ? new Set(request.extensions.map((e) => e.type)) : this.clientHelloEntryExtensions
    for (const e of entries) {
      for (const x of e.extensions) {
        if (!allowed.has(x.type)) return fail('unrequested-extension', `entry extension ${x.type} was not requested`)
      }
    }
    let keyInfo
    try {
      keyInfo = this.provider.publicKeyInfo(leafEntry.certData)
    } catch (e) {
      return fail('bad-certificate', `end-entity certificate unusable: ${(e as Error).message}`)
    }
    const scheme = a.certificateVerify.algorithm
    // Checklist 9.
    if (!isTls13Scheme(scheme)) return fail('scheme-not-tls13', `${schemeName(scheme)} is not allowed in TLS 1.3`)
    const offered = request ? request.signatureAlgorithms : this.clientHelloSchemes
    if (!offered.includes(scheme)) return fail('scheme-not-offered', `${schemeName(scheme)} was not offered`)
    if (!schemeMatchesKey(scheme, keyInfo.keyType, keyInfo.curve)) {
      return fail('scheme-key-mismatch', `${schemeName(scheme)} does not match the certificate key`)
    }
    // Checklist 10.
    const content = signedContent(this.provider, keys, requestBytes, a.rawCertificate)
    if (!this.provider.verify(scheme, leafEntry.certData, content, a.certificateVerify.signature)) {
      return fail('bad-signature', 'CertificateVerify signature does not verify')
    }
    // Checklist 11.
    if (a.finished.verifyData.length !== keys.length) return fail('bad-finished', 'Finished has the wrong length')
    const mac = finishedMac(this.provider, keys, requestBytes, a.rawCertificate, a.rawCertificateVerify)
    if (!this.provider.equal(mac, a.finished.verifyData)) return fail('bad-finished', 'Finished MAC mismatch')
    this.validatedContexts.add(h)
    return {
      kind: 'identity',
      context,
      chain: entries.map((e) => e.certData),
      entries,
      scheme,
      validatedAt: new Date(),
    }
  }
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
