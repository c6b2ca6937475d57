/**
 * Every error this library throws or reports. Callers switch on `code` (stable strings), never on
 * `instanceof` (two copies of the package break it) nor on `message`.
 */

/** Stable error codes. */
export const ErrorCode = {
  DECODE: 'ERR_SC_DECODE',
  PROTOCOL: 'ERR_SC_PROTOCOL',
  AUTHENTICATOR_INVALID: 'ERR_SC_AUTHENTICATOR_INVALID',
  POLICY_REJECTED: 'ERR_SC_POLICY_REJECTED',
  TIMEOUT: 'ERR_SC_TIMEOUT',
  UNSUPPORTED: 'ERR_SC_UNSUPPORTED',
  USAGE: 'ERR_SC_USAGE',
  FRAME_TOO_LARGE: 'ERR_SC_FRAME_TOO_LARGE',
  CLOSED: 'ERR_SC_CLOSED',
} as const
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Base class of every error of this library. */
export class SecondaryCertError extends Error {
  readonly code: ErrorCodeValue
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * A codec found bytes that do not match the structure it decodes. Says which structure and at
 * which byte offset (relative to the start of the buffer given to the outermost decoder).
 */
export class DecodeError extends SecondaryCertError {
  readonly structure: string
  readonly offset: number
  readonly detail: string
  constructor(structure: string, offset: number, detail: string, options?: { cause?: unknown }) {
    super(ErrorCode.DECODE, `${structure} at offset ${offset}: ${detail}`, options)
    this.structure = structure
    this.offset = offset
    this.detail = detail
  }
}

/** HTTP/2 error codes used by this library (RFC 9113 §7), plus our configurable extension one. */
export const Http2Code = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
  /** Default for SERVER_CERTIFICATE_INVALID (configurable; the draft says 0xTBD). */
  SERVER_CERTIFICATE_INVALID: 0xf5a1,
} as const

/**
 * Names of the rows of the drafts' error table (digest http2-secondary-certs §3.3), as carried by
 * `ProtocolError.violation`. The table itself (codes, sections) is `proto/violations.ts`.
 */
export type ViolationName =
  | 'authenticator-requests-at-server'
  | 'authenticator-requests-on-stream'
  | 'authenticator-requests-malformed'
  | 'too-many-outstanding-requests'
  | 'frame-before-negotiation'
  | 'unsolicited-client-certificate'
  | 'certificate-on-stream'
  | 'server-certificate-from-client'
  | 'client-certificate-from-server'
  | 'server-authenticator-invalid'
  | 'client-authenticator-invalid'
  | 'extension-frame-too-large'

/**
 * A peer broke a rule of the drafts (or we were told it did). The connection ends with GOAWAY
 * carrying `http2Code`.
 */
export class ProtocolError extends SecondaryCertError {
  readonly http2Code: number
  /** Which row of the error table (digest §3.3). */
  readonly violation: ViolationName
  readonly frameType: number | undefined
  /**
   * true: the peer told us (it sent GOAWAY with `http2Code` right after one of our extension
   * frames); false: we detected it.
   */
  readonly remote: boolean
  constructor(
    violation: ViolationName,
    http2Code: number,
    message: string,
    options?: { frameType?: number; remote?: boolean; cause?: unknown },
  ) {
    super(ErrorCode.PROTOCOL, message, options)
    this.violation = violation
    this.http2Code = http2Code
    this.frameType = options?.frameType
    this.remote = options?.remote ?? false
  }
}

/** Why an authenticator failed RFC 9261 validation (one name per validator checklist item). */
export type InvalidReason =
  | 'malformed'
  | 'unexpected-messages'
  | 'context-mismatch'
  | 'context-reused'
  | 'empty-without-request'
  | 'empty-certificate-list'
  | 'bad-certificate'
  | 'unrequested-extension'
  | 'scheme-not-tls13'
  | 'scheme-not-offered'
  | 'scheme-key-mismatch'
  | 'bad-signature'
  | 'bad-finished'
  | 'already-validated'
  | 'chain-rejected'

/** An authenticator failed `validate` (RFC 9261 §7.4). */
export class AuthenticatorInvalidError extends SecondaryCertError {
  readonly reason: InvalidReason
  constructor(reason: InvalidReason, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.AUTHENTICATOR_INVALID, message, options)
    this.reason = reason
  }
}

/** A valid certificate was not acceptable to policy. Never a connection error (SERVER §6.2). */
export class PolicyRejectedError extends SecondaryCertError {
  readonly reason: string
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.POLICY_REJECTED, message, options)
    this.reason = reason
  }
}

/** A peer did not answer in time. */
export class PeerTimeoutError extends SecondaryCertError {
  readonly timeoutMs: number
  constructor(message: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(ErrorCode.TIMEOUT, message, options)
    this.timeoutMs = timeoutMs
  }
}

/** Something this connection or runtime cannot do (TLS < 1.3, unknown hash, old Node). */
export class UnsupportedError extends SecondaryCertError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.UNSUPPORTED, message, options)
  }
}

/** The caller used the API wrongly. Never reaches the peer. */
export class UsageError extends SecondaryCertError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.USAGE, message, options)
  }
}

/** An outbound extension frame would exceed the peer's SETTINGS_MAX_FRAME_SIZE. */
export class FrameTooLargeError extends SecondaryCertError {
  readonly size: number
  readonly limit: number
  constructor(size: number, limit: number) {
    super(
      ErrorCode.FRAME_TOO_LARGE,
      `frame payload of ${size} bytes exceeds the peer's max frame size ${limit}`,
    )
    this.size = size
    this.limit = limit
  }
}

/** The connection closed before an operation could complete. */
export class ClosedError extends SecondaryCertError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CLOSED, message, options)
  }
}

/** True when `e` is an error of this library with the given code (works across package copies). */
export function hasCode(e: unknown, code: ErrorCodeValue): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code
}
