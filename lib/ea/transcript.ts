import type { CryptoProvider } from '../crypto/provider.js'
import { hashLength } from './exporter.js'
import type { AuthenticatorHash, Exporter } from './exporter.js'

/** The endpoint whose role selects the exporter labels: always the authenticator's creator. */
export type Role = 'client' | 'server'

/** Handshake Context and Finished MAC Key of one creator role (RFC 9261 §5.1). */
export interface AuthenticatorKeys {
  readonly hash: AuthenticatorHash
  readonly length: 32 | 48
  /** Handshake Context. */
  readonly hc: Uint8Array
  /** Finished MAC Key. */
  readonly fk: Uint8Array
}

const EMPTY = new Uint8Array(0)

/**
 * RFC 9261 §5.1: both secrets come from the exporter with the CREATOR's labels, an empty (zero
 * length) context, and the length of the authenticator hash.
 */
export function deriveKeys(exporter: Exporter, hash: AuthenticatorHash, creator: Role): AuthenticatorKeys {
  const length = hashLength(hash)
  const hc = exporter(`EXPORTER-${creator} authenticator handshake context`, EMPTY, length)
  const fk = exporter(`EXPORTER-${creator} authenticator finished key`, EMPTY, length)
  return { hash, length, hc: new Uint8Array(hc), fk: new Uint8Array(fk) }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// RFC 9261 §5.2.2: 64 spaces, the context string "Exported Authenticator", one zero byte.
const SIGNED_PREFIX = concat([new Uint8Array(64).fill(0x20), new TextEncoder().encode('Exported Authenticator'), new Uint8Array([0])])

/**
 * The bytes a CertificateVerify signs (RFC 9261 §5.2.2):
 * `0x20 * 64 || "Exported Authenticator" || 0x00 || H(HC || request || Certificate)`. With no
 * request (spontaneous server authenticator), `request` is empty.
 */
export function signedContent(
  provider: CryptoProvider,
  keys: AuthenticatorKeys,
  request: Uint8Array,
  certificate: Uint8Array,
): Uint8Array {
  const h = provider.digestParts(keys.hash, [keys.hc, request, certificate])
  const out = new Uint8Array(SIGNED_PREFIX.length + h.length)
  out.set(SIGNED_PREFIX, 0)
  out.set(h, SIGNED_PREFIX.length)
  return out
}

/**
 * Finished verify_data (RFC 9261 §5.2.3):
 * `HMAC(FK, H(HC || request || Certificate || CertificateVerify))`; for the empty authenticator
 * (§5.2.4) the CertificateVerify is absent and the Certificate has no entries.
 */
export function finishedMac(
  provider: CryptoProvider,
  keys: AuthenticatorKeys,
  request: Uint8Array,
  certificate: Uint8Array,
  certificateVerify: Uint8Array,
): Uint8Array {
  const h = provider.digestParts(keys.hash, [keys.hc, request, certificate, certificateVerify])
  return provider.hmac(keys.hash, keys.fk, h)
}
