/**
 * The extension's options, resolved once (issue 9): codepoints, limits, the SETTINGS we
 * advertise and the credentials, for `createSecureServer`, `attachSecondaryCerts`, `connect`,
 * Fastify and the fetch agent alike. Every default lives in `config.ts`.
 */
import type http2 from 'node:http2'
import { DEFAULTS, MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE, resolveCodepoints } from '../config.js'
import type { Codepoints } from '../config.js'
import { UsageError } from '../errors.js'
import { defaultCrypto } from '../crypto/default-provider.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import type { SettingsEntry } from '../wire/h2/settings.js'
import { loadCredential, pemToDerChain } from './credentials.js'
import type { CredentialInput, LabelledCredentialInput, LoadedCredential } from './credentials.js'
import { resolveTrust } from './trust.js'
import type { ServerTrust, TrustOption } from './trust.js'

/** Options of the extension on a server. */
export interface ServerExtensionOptions {
  /** Codepoint overrides (defaults: digest §5). */
  readonly codepoints?: Partial<Codepoints>
  /** 'shared': clients answer with the SERVER_CERTIFICATE frame type. Default 'split'. */
  readonly mode?: 'split' | 'shared'
  /** Ask clients for certificates (SETTINGS_HTTP_CLIENT_CERT_AUTH = 1). Default true. */
  readonly clientCertAuth?: boolean
  /**
   * Extra certificate chains for other origins, sent as SERVER_CERTIFICATE right after SETTINGS
   * (SERVER -02 §3.2). Enables SETTINGS_HTTP_SERVER_CERT_AUTH.
   */
  readonly serverCertificates?: readonly CredentialInput[]
  /**
   * Also send an ORIGIN frame (RFC 8336 §2.1) listing the DNS names of `serverCertificates` at the
   * connection's port, on connections that use the extension, so clients may reuse the connection
   * for them without consulting DNS (SERVER -02 §7.1). Default false.
   */
  readonly announceOrigins?: boolean
  /** Advertise SETTINGS_HTTP_SERVER_CERT_AUTH even with no configured chains. Default: when any. */
  readonly serverCertAuth?: boolean
  /** Default `defaultCrypto`: node:crypto, plus noble for ML-DSA where OpenSSL lacks it. */
  readonly provider?: CryptoProvider
  /** Largest client authenticator accepted. Default 65536. */
  readonly maxAuthenticatorBytes?: number
  /** SETTINGS_MAX_FRAME_SIZE advertised. Default large enough for maxAuthenticatorBytes. */
  readonly maxFrameSize?: number
  /** Default timeout of `requestIdentities`. */
  readonly requestTimeoutMs?: number
  /**
   * Keep clients that do not advertise the extension in their first SETTINGS on Node's native
   * path (no interposer, full speed). Default true.
   */
  readonly nativePathForPlainClients?: boolean
  /**
   * Who may authenticate (issue 10): trust anchors and an EKU preset (`{ anchors, preset }`, the
   * options of `createCertificatePolicy`) or a policy function. Every validated identity is
   * decided once against it; only trusted ones count as identities (`identitiesOf`,
   * `{ kind: 'identity' }` outcomes). Without it nothing is trusted and the server warns once
   * when it starts listening.
   */
  readonly trust?: TrustOption
}

/** What the selector sees of one request. */
export interface RequestInfo {
  readonly id: number
  readonly request: CertificateRequest
  /** Names of the offered signature schemes. */
  readonly schemes: readonly string[]
  /** Labels of credentials already presented on this connection. */
  readonly alreadyPresented: readonly string[]
}

/** Picks a credential for a request, or null/undefined to decline (empty authenticator). */
export type CredentialSelector = (
  info: RequestInfo,
  credentials: readonly LoadedCredential[],
) => LoadedCredential | null | undefined | Promise<LoadedCredential | null | undefined>

/** Options of the extension on a client. */
export interface ClientExtensionOptions {
  readonly codepoints?: Partial<Codepoints>
  readonly mode?: 'split' | 'shared'
  /** Credentials the client may present. */
  readonly credentials?: readonly LabelledCredentialInput[]
  /** Default: `defaultSelector` (honours signature_algorithms, certificate_authorities, oid_filters). */
  readonly select?: CredentialSelector
  /**
   * N of SETTINGS_HTTP_CLIENT_CERT_AUTH: how many requests may be outstanding. Default: the
   * number of credentials, at least 1. 0 turns client authentication off.
   */
  readonly credentialLimit?: number
  /** Accept SERVER_CERTIFICATE frames (SETTINGS_HTTP_SERVER_CERT_AUTH = 1). Default true. */
  readonly serverCertAuth?: boolean
  /** Trust anchors for secondary server certificates (PEM). Default: the TLS `ca` option. */
  readonly serverCertificateCa?: string | Buffer | readonly (string | Buffer)[]
  readonly provider?: CryptoProvider
  readonly maxAuthenticatorBytes?: number
  readonly maxFrameSize?: number
  /** Accept type 17 requests from the server (CLIENT -00 §4.1.3 wording). Default false. */
  readonly acceptType17FromServer?: boolean
  /** Clock for chain validation of server certificates and the default selector's validity check. */
  readonly now?: () => Date
  /** Receives NSS key-log lines of the TLS connection (for SSLKEYLOGFILE). */
  readonly onKeylog?: (line: Buffer) => void
}

/** What both sides resolve the same way. */
interface ResolvedCommon {
  readonly codepoints: Codepoints
  readonly provider: CryptoProvider
  /** Largest authenticator accepted from the peer (and, on a client, built). */
  readonly maxAuthenticatorBytes: number
  /** SETTINGS_MAX_FRAME_SIZE we advertise. */
  readonly maxFrameSize: number
  /** Our extension settings, `[identifier, value]` (SETTINGS_HTTP_*_CERT_AUTH). */
  readonly extensionSettings: readonly SettingsEntry[]
  /** The node:http2 settings that advertise the extension (merge with `mergeSettings`). */
  readonly settings: http2.Settings
  /** Frame types the interposer takes out of the inbound stream. */
  readonly extensionFrameTypes: ReadonlySet<number>
}

/** Server options with every default applied. */
export interface ResolvedServerOptions extends ResolvedCommon {
  readonly clientCertAuth: boolean
  readonly serverCertAuth: boolean
  readonly serverCredentials: readonly LoadedCredential[]
  readonly requestTimeoutMs: number
  readonly nativePathForPlainClients: boolean
  /** Send an ORIGIN frame for `serverCredentials` (the `announceOrigins` option). */
  readonly announceOrigins: boolean
  /** The `trust` option, resolved (anchors parsed). */
  readonly trust: ServerTrust
}

/** Client options with every default applied. */
export interface ResolvedClientOptions extends ResolvedCommon {
  readonly options: ClientExtensionOptions
  readonly credentials: readonly LoadedCredential[]
  /** N of SETTINGS_HTTP_CLIENT_CERT_AUTH (0: off). */
  readonly credentialLimit: number
  readonly serverCertAuth: boolean
  /** Trust anchors (DER) for secondary server certificates. */
  readonly anchors: readonly Uint8Array[]
}

/**
 * SETTINGS_MAX_FRAME_SIZE large enough for an authenticator of `maxAuthenticatorBytes` (our
 * default, `DEFAULTS.maxFrameSize`, covers the default limit), within RFC 9113 §6.5.2's bounds.
 */
function frameSizeFor(maxAuthenticatorBytes: number, explicit: number | undefined): number {
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < MIN_MAX_FRAME_SIZE || explicit > MAX_MAX_FRAME_SIZE) {
      throw new UsageError(`maxFrameSize ${explicit} outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE} (RFC 9113 §6.5.2)`)
    }
    return explicit
  }
  const needed = maxAuthenticatorBytes + (DEFAULTS.maxFrameSize - DEFAULTS.maxAuthenticatorBytes)
  return Math.min(MAX_MAX_FRAME_SIZE, Math.max(MIN_MAX_FRAME_SIZE, needed))
}

function checkMaxAuthenticatorBytes(value: number | undefined): number {
  const v = value ?? DEFAULTS.maxAuthenticatorBytes
  if (!Number.isSafeInteger(v) || v < 1 || v > MAX_MAX_FRAME_SIZE) {
    throw new UsageError(`maxAuthenticatorBytes ${String(value)} must be an integer in 1..${MAX_MAX_FRAME_SIZE}`)
  }
  return v
}

/** The part both sides resolve alike, given the extension settings the side advertises. */
function common(
  codepoints: Codepoints,
  provider: CryptoProvider,
  maxAuthenticatorBytes: number,
  maxFrameSize: number,
  entries: readonly SettingsEntry[],
): ResolvedCommon {
  const customSettings: Record<number, number> = {}
  for (const [id, value] of entries) customSettings[id] = value
  return {
    codepoints,
    provider,
    maxAuthenticatorBytes,
    maxFrameSize,
    extensionSettings: entries,
    settings: { maxFrameSize, customSettings } as http2.Settings,
    extensionFrameTypes: new Set([codepoints.frameServerCertificate, codepoints.frameAuthenticatorRequests, codepoints.frameClientCertificate]),
  }
}

/**
 * Resolves server options once: codepoints, limits, settings and the secondary server
 * credentials (loaded and checked here).
 * @throws UsageError (`ERR_SC_USAGE`) for a bad limit or credential.
 */
export function resolveServerOptions(options: ServerExtensionOptions = {}): ResolvedServerOptions {
  const codepoints = resolveCodepoints(options.codepoints, options.mode)
  const provider = options.provider ?? defaultCrypto
  const maxAuthenticatorBytes = checkMaxAuthenticatorBytes(options.maxAuthenticatorBytes)
  const maxFrameSize = frameSizeFor(maxAuthenticatorBytes, options.maxFrameSize)
  const clientCertAuth = options.clientCertAuth ?? true
  const serverCredentials = (options.serverCertificates ?? []).map((c, i) => loadCredential(c, provider, `server-${i + 1}`))
  const serverCertAuth = options.serverCertAuth ?? serverCredentials.length > 0
  const entries: SettingsEntry[] = []
  if (clientCertAuth) entries.push([codepoints.settingClientCertAuth, 1])
  if (serverCertAuth) entries.push([codepoints.settingServerCertAuth, 1])
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs
  if (!(requestTimeoutMs > 0)) throw new UsageError(`requestTimeoutMs ${requestTimeoutMs} must be positive`)
  return {
    ...common(codepoints, provider, maxAuthenticatorBytes, maxFrameSize, entries),
    clientCertAuth,
    serverCertAuth,
    serverCredentials,
    requestTimeoutMs,
    nativePathForPlainClients: options.nativePathForPlainClients ?? true,
    announceOrigins: options.announceOrigins ?? false,
    trust: resolveTrust(options.trust),
  }
}

/**
 * Resolves client options once: codepoints, limits, settings, credentials (loaded and checked
 * here) and the trust anchors for secondary server certificates (`tlsCa` when none are given).
 * @throws UsageError (`ERR_SC_USAGE`) for a bad limit or credential.
 */
export function resolveClientOptions(options: ClientExtensionOptions = {}, tlsCa?: unknown): ResolvedClientOptions {
  const codepoints = resolveCodepoints(options.codepoints, options.mode)
  const provider = options.provider ?? defaultCrypto
  const maxAuthenticatorBytes = checkMaxAuthenticatorBytes(options.maxAuthenticatorBytes)
  const maxFrameSize = frameSizeFor(maxAuthenticatorBytes, options.maxFrameSize)
  const credentials = (options.credentials ?? []).map((c) => loadCredential(c, provider, c.label, c.purpose))
  const credentialLimit = options.credentialLimit ?? Math.max(1, credentials.length)
  if (!Number.isInteger(credentialLimit) || credentialLimit < 0 || credentialLimit > 0xffffffff) {
    throw new UsageError(`credentialLimit ${credentialLimit} must be an integer in 0..2^32-1`)
  }
  const serverCertAuth = options.serverCertAuth ?? true
  const entries: SettingsEntry[] = []
  if (credentialLimit > 0) entries.push([codepoints.settingClientCertAuth, credentialLimit])
  if (serverCertAuth) entries.push([codepoints.settingServerCertAuth, 1])
  const caInput = (options.serverCertificateCa ?? tlsCa) as string | Buffer | readonly (string | Buffer)[] | undefined
  const anchors: Uint8Array[] = []
  for (const c of caInput === undefined ? [] : Array.isArray(caInput) ? caInput : [caInput]) {
    anchors.push(...pemToDerChain((c as string | Buffer).toString(), 'serverCertificateCa'))
  }
  return {
    ...common(codepoints, provider, maxAuthenticatorBytes, maxFrameSize, entries),
    options,
    credentials,
    credentialLimit,
    serverCertAuth,
    anchors,
  }
}

/**
 * The caller's node:http2 settings with ours merged in: our extension settings win over the
 * caller's custom settings of the same identifier; the caller's standard settings (including an
 * explicit `maxFrameSize`) win over our default.
 */
export function mergeSettings(user: http2.Settings | undefined, ours: http2.Settings): http2.Settings {
  const userCustom = (user as { customSettings?: Record<number, number> } | undefined)?.customSettings ?? {}
  const ourCustom = (ours as { customSettings?: Record<number, number> }).customSettings ?? {}
  return { ...ours, ...(user ?? {}), customSettings: { ...userCustom, ...ourCustom } } as http2.Settings
}
