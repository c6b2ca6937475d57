import { Http2Code, ProtocolError } from '../errors.js'
import type { ViolationName } from '../errors.js'
import type { Codepoints } from '../config.js'

/**
 * The error table of the drafts (digest http2-secondary-certs §3.3), once: each row names the
 * condition, the HTTP/2 error code of the connection error, and the source section. Rows whose
 * draft names no code use PROTOCOL_ERROR (our decision, digest §3.3).
 */
export interface ViolationRow {
  readonly name: ViolationName
  /** An HTTP/2 error code, or 'SERVER_CERTIFICATE_INVALID' (configurable codepoint). */
  readonly code: number | 'SERVER_CERTIFICATE_INVALID'
  readonly detectedBy: 'client' | 'server' | 'either'
  readonly section: string
  readonly description: string
}

/** Keys of the table below. */
export type ViolationKey =
  | 'AUTHENTICATOR_REQUESTS_AT_SERVER'
  | 'AUTHENTICATOR_REQUESTS_ON_STREAM'
  | 'AUTHENTICATOR_REQUESTS_MALFORMED'
  | 'TOO_MANY_OUTSTANDING'
  | 'BEFORE_NEGOTIATION'
  | 'UNSOLICITED_CLIENT_CERTIFICATE'
  | 'CERTIFICATE_ON_STREAM'
  | 'SERVER_CERTIFICATE_FROM_CLIENT'
  | 'CLIENT_CERTIFICATE_FROM_SERVER'
  | 'SERVER_AUTHENTICATOR_INVALID'
  | 'CLIENT_AUTHENTICATOR_INVALID'
  | 'FRAME_TOO_LARGE'

export const Violation: Readonly<Record<ViolationKey, ViolationRow>> = {
  AUTHENTICATOR_REQUESTS_AT_SERVER: {
    name: 'authenticator-requests-at-server',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'server',
    section: 'CLIENT -00 §4.1.1',
    description: 'AUTHENTICATOR_REQUESTS received by a server',
  },
  AUTHENTICATOR_REQUESTS_ON_STREAM: {
    name: 'authenticator-requests-on-stream',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'client',
    section: 'CLIENT -00 §4.1.1',
    description: 'AUTHENTICATOR_REQUESTS on a stream other than 0',
  },
  AUTHENTICATOR_REQUESTS_MALFORMED: {
    name: 'authenticator-requests-malformed',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'client',
    section: 'CLIENT -00 §4.1, §4.1.1',
    description: 'AUTHENTICATOR_REQUESTS empty, or a request in it malformed or reusing a context',
  },
  TOO_MANY_OUTSTANDING: {
    name: 'too-many-outstanding-requests',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'client',
    section: 'CLIENT -00 §4.1.4',
    description: 'outstanding requests would exceed SETTINGS_HTTP_CLIENT_CERT_AUTH',
  },
  BEFORE_NEGOTIATION: {
    name: 'frame-before-negotiation',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'either',
    section: 'CLIENT -00 §3.1, §4.2; SERVER -02 §3.1',
    description: 'extension frame before both endpoints advertised the setting',
  },
  UNSOLICITED_CLIENT_CERTIFICATE: {
    name: 'unsolicited-client-certificate',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'server',
    section: 'CLIENT -00 §4.2',
    description: 'CLIENT_CERTIFICATE with no outstanding request',
  },
  CERTIFICATE_ON_STREAM: {
    name: 'certificate-on-stream',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'either',
    section: 'SERVER -02 §5.1; CLIENT -00 §4.2',
    description: 'SERVER_CERTIFICATE or CLIENT_CERTIFICATE on a stream other than 0',
  },
  SERVER_CERTIFICATE_FROM_CLIENT: {
    name: 'server-certificate-from-client',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'server',
    section: 'SERVER -02 §3.2',
    description: 'SERVER_CERTIFICATE sent by a client (split mode)',
  },
  CLIENT_CERTIFICATE_FROM_SERVER: {
    name: 'client-certificate-from-server',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'client',
    section: 'CLIENT -00 §4.2 (our split-mode frame)',
    description: 'CLIENT_CERTIFICATE sent by a server',
  },
  SERVER_AUTHENTICATOR_INVALID: {
    name: 'server-authenticator-invalid',
    code: 'SERVER_CERTIFICATE_INVALID',
    detectedBy: 'client',
    section: 'SERVER -02 §5.3, §6.1',
    description: 'a SERVER_CERTIFICATE authenticator failed RFC 9261 validation',
  },
  CLIENT_AUTHENTICATOR_INVALID: {
    name: 'client-authenticator-invalid',
    code: Http2Code.PROTOCOL_ERROR,
    detectedBy: 'server',
    section: 'CLIENT -00 §4.2.1 (no code defined; digest §2.4)',
    description: 'a CLIENT_CERTIFICATE authenticator failed RFC 9261 validation',
  },
  FRAME_TOO_LARGE: {
    name: 'extension-frame-too-large',
    code: Http2Code.FRAME_SIZE_ERROR,
    detectedBy: 'either',
    section: 'RFC 9113 §4.2',
    description: 'extension frame larger than our SETTINGS_MAX_FRAME_SIZE or authenticator limit',
  },
}

/** The HTTP/2 error code of a row under the given codepoints. */
export function violationCode(row: ViolationRow, codepoints: Codepoints): number {
  return row.code === 'SERVER_CERTIFICATE_INVALID' ? codepoints.errorServerCertificateInvalid : row.code
}

/** A ProtocolError for a row (we detected it). */
export function violationError(
  row: ViolationRow,
  codepoints: Codepoints,
  detail?: string,
  options?: { frameType?: number; cause?: unknown; remote?: boolean },
): ProtocolError {
  const message = detail ? `${row.description}: ${detail}` : row.description
  return new ProtocolError(row.name, violationCode(row, codepoints), message, options)
}

/** The row of a violation name. */
export function violationRow(name: ViolationName): ViolationRow {
  for (const row of Object.values(Violation)) if (row.name === name) return row
  throw new Error(`unknown violation ${name}`)
}

/** RFC 9113 §7 names by code (the default SERVER_CERTIFICATE_INVALID codepoint included). */
const HTTP2_CODE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Http2Code).map(([name, code]) => [code, name]))

/**
 * One line for a ProtocolError: the row's name, the HTTP/2 code (RFC 9113 §7 name when it has
 * one), the source section, who detected it, and the message. For CLIs and logs.
 */
export function describeViolation(error: ProtocolError, codepoints?: Codepoints): string {
  const row = Object.values(Violation).find((r) => r.name === error.violation)
  const codeName =
    (codepoints && error.http2Code === codepoints.errorServerCertificateInvalid ? 'SERVER_CERTIFICATE_INVALID' : undefined) ??
    HTTP2_CODE_NAMES.get(error.http2Code) ??
    'code'
  const who = error.remote ? 'reported by the peer' : 'detected here'
  return `protocol violation ${error.violation} (${codeName} 0x${error.http2Code.toString(16)}, ${row?.section ?? 'no section'}), ${who}: ${error.message}`
}
