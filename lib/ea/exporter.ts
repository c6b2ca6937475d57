import { UnsupportedError } from '../errors.js'
import type { HashName } from '../wire/tls/signature-scheme.js'

/**
 * A TLS exporter (RFC 8446 §7.5): `(label, context, length) => bytes`. RFC 9261 §5.1 always uses
 * an empty context. Taking a function instead of a socket lets tests run on recorded values.
 */
export type Exporter = (label: string, context: Uint8Array, length: number) => Uint8Array

/** The authenticator hash: the hash of the negotiated TLS 1.3 cipher suite (RFC 9261 §5.1). */
export type AuthenticatorHash = Extract<HashName, 'sha256' | 'sha384'>

/** What the RFC 9261 layer needs from a connection. */
export interface ConnectionKeys {
  readonly exporter: Exporter
  readonly hash: AuthenticatorHash
}

/** Output length of the authenticator hash. */
export function hashLength(hash: AuthenticatorHash): 32 | 48 {
  return hash === 'sha384' ? 48 : 32
}

/**
 * Hash of a TLS 1.3 cipher suite, by its IANA name (RFC 8446 §B.4).
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) for suites we do not know
 */
export function suiteHash(standardName: string): AuthenticatorHash {
  switch (standardName) {
    case 'TLS_AES_256_GCM_SHA384':
      return 'sha384'
    case 'TLS_AES_128_GCM_SHA256':
    case 'TLS_CHACHA20_POLY1305_SHA256':
    case 'TLS_AES_128_CCM_SHA256':
    case 'TLS_AES_128_CCM_8_SHA256':
      return 'sha256'
    default:
      throw new UnsupportedError(`cipher suite ${standardName} has no known TLS 1.3 hash`)
  }
}

/** The part of `tls.TLSSocket` we use (kept structural so an HTTP/2 session's socket proxy fits). */
export interface TlsSocketLike {
  getProtocol(): string | null
  getCipher(): { standardName?: string; name: string; version: string }
  exportKeyingMaterial(length: number, label: string, context: Buffer): Buffer
}

/**
 * Reads the exporter and hash from a connected TLS socket. Only TLS 1.3 is accepted: RFC 9261
 * §5.1 needs the extended master secret on TLS 1.2, which Node cannot report (digest §4).
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) on TLS < 1.3 or before the handshake finished
 */
export function keysFromTlsSocket(socket: TlsSocketLike): ConnectionKeys {
  const protocol = socket.getProtocol()
  if (protocol !== 'TLSv1.3') {
    throw new UnsupportedError(`exported authenticators need TLS 1.3, connection uses ${protocol ?? 'no TLS yet'}`)
  }
  const cipher = socket.getCipher()
  const hash = suiteHash(cipher.standardName ?? cipher.name)
  const exporter: Exporter = (label, context, length) =>
    socket.exportKeyingMaterial(length, label, Buffer.from(context.buffer, context.byteOffset, context.byteLength))
  return { exporter, hash }
}
