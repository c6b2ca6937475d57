/**
 * Codepoints, limits and defaults. Every HTTP/2 codepoint of the drafts is 0xTBD, so each one is
 * configuration; both peers must use the same values (digest http2-secondary-certs §5).
 */

/** HTTP/2 codepoints of the extension. */
export interface Codepoints {
  /** SETTINGS_HTTP_SERVER_CERT_AUTH (SERVER -02 §4.1). */
  settingServerCertAuth: number
  /** SETTINGS_HTTP_CLIENT_CERT_AUTH (CLIENT -00 §3.1.1). */
  settingClientCertAuth: number
  /** SERVER_CERTIFICATE frame type (SERVER -02 §5.1). */
  frameServerCertificate: number
  /** AUTHENTICATOR_REQUESTS frame type (CLIENT -00 §4.1.1). */
  frameAuthenticatorRequests: number
  /**
   * CLIENT_CERTIFICATE frame type. CLIENT -00 §4.2 reuses the server's frame, which SERVER -02
   * §3.2 forbids clients to send; we default to a separate type (digest §2.3). Set it equal to
   * `frameServerCertificate` for the "shared" mode.
   */
  frameClientCertificate: number
  /** SERVER_CERTIFICATE_INVALID error code (SERVER -02 §8.3). */
  errorServerCertificateInvalid: number
}

/** Our defaults (digest http2-secondary-certs §5 table). */
export const DEFAULT_CODEPOINTS: Readonly<Codepoints> = Object.freeze({
  settingServerCertAuth: 0xf5a1,
  settingClientCertAuth: 0xf5a2,
  frameServerCertificate: 0xf8,
  frameAuthenticatorRequests: 0xf9,
  frameClientCertificate: 0xfa,
  errorServerCertificateInvalid: 0xf5a1,
})

/** Codepoints for the shared mode: clients answer with the server's frame type. */
export const SHARED_MODE_CODEPOINTS: Readonly<Codepoints> = Object.freeze({
  ...DEFAULT_CODEPOINTS,
  frameClientCertificate: DEFAULT_CODEPOINTS.frameServerCertificate,
})

/** Resolves user overrides over the defaults; `mode: 'shared'` aliases the client frame type. */
export function resolveCodepoints(
  overrides: Partial<Codepoints> = {},
  mode: 'split' | 'shared' = 'split',
): Codepoints {
  const c: Codepoints = { ...DEFAULT_CODEPOINTS, ...overrides }
  if (mode === 'shared') c.frameClientCertificate = c.frameServerCertificate
  return c
}

/** Limits and timeouts. */
export const DEFAULTS: Readonly<{
  /** Largest authenticator we accept or build (bytes). */
  maxAuthenticatorBytes: number
  /** SETTINGS_MAX_FRAME_SIZE we advertise while the extension is on (RFC 9113 §6.5.2). */
  maxFrameSize: number
  /** Context length for requests and spontaneous authenticators (RFC 9261 §4: unpredictable). */
  contextBytes: number
  /** How long a server waits for the client's answer to one request. */
  requestTimeoutMs: number
}> = Object.freeze({
  maxAuthenticatorBytes: 65536,
  maxFrameSize: 65536 + 1024,
  contextBytes: 32,
  requestTimeoutMs: 10000,
})

/** RFC 9113 §4.2 / §6.5.2 bounds of SETTINGS_MAX_FRAME_SIZE. */
export const MIN_MAX_FRAME_SIZE = 16384
export const MAX_MAX_FRAME_SIZE = 16777215
