/**
 * The validator of the lax reference peers (./lax-server.ts, ./lax-client.ts): RFC 9261 §5.2 and
 * the digest's validator checklist (http2-secondary-certs §3.1, §3.2), written as one named rule per
 * step so a peer can waive exactly one of them. lib/ea's `validate` stops at the first fault and
 * cannot be told to skip a step; the mutation spec (spec/conformance/mutation.spec.ts) needs a
 * validator that keeps every other rule while one is off, so that an authenticator broken in one
 * way gets past only the rule that is waived.
 *
 * Only wire codecs and the transcript primitives come from lib/ (the bytes, not the judgement).
 * Harness code: lib/ never imports it (STYLE §2).
 */
import { X509Certificate, constants, verify as nodeVerify } from 'node:crypto'
import type { ConnectionKeys } from '../../lib/ea/exporter.js'
import { deriveKeys, finishedMac, signedContent } from '../../lib/ea/transcript.js'
import type { AuthenticatorKeys, Role } from '../../lib/ea/transcript.js'
import { nodeCrypto } from '../../lib/crypto/node-provider.js'
import { decodeAuthenticator } from '../../lib/wire/tls/authenticator.js'
import { encodeCertificate } from '../../lib/wire/tls/certificate.js'
import { encodeFinished } from '../../lib/wire/tls/finished.js'
import { isTls13Scheme, schemeMatchesKey } from '../../lib/wire/tls/signature-scheme.js'

/**
 * The validation steps a lax peer may waive, in the order they run:
 * - `context`: the Certificate's context equals the request's (RFC 9261 §5.1, §7.4);
 * - `entry-extensions`: CertificateEntry extensions only of types the request carried (§5.2.1);
 * - `tls13-scheme`: the CertificateVerify scheme is a TLS 1.3 scheme, so no PKCS#1 v1.5 (§5.2.2,
 *   RFC 8446 §4.4.3);
 * - `offered-scheme`: the scheme was offered in the request's signature_algorithms (§5.2.2);
 * - `scheme-fits-key`: the scheme fits the end-entity key (RFC 8446 §4.2.3, §4.4.3);
 * - `creator-labels`: keys come from the exporter with the creator's labels (§5.1); waived, the
 *   other role's labels are tried when the creator's fail;
 * - `signature`: the CertificateVerify signature verifies (§5.2.2);
 * - `finished`: the Finished MAC of a full authenticator is right (§5.2.3). The empty
 *   authenticator's MAC (§5.2.4) is always checked: it is all a decline carries.
 */
export type ValidationRule =
  | 'context'
  | 'entry-extensions'
  | 'tls13-scheme'
  | 'offered-scheme'
  | 'scheme-fits-key'
  | 'creator-labels'
  | 'signature'
  | 'finished'

export interface LaxValidation {
  readonly keys: ConnectionKeys
  /** Whose labels key the authenticator (RFC 9261 §5.1): the peer's role. */
  readonly creator: Role
  /** The request it answers, bytes as sent; absent: a spontaneous server authenticator. */
  readonly request?: Uint8Array
  /** The request's signature_algorithms (or the ClientHello's for a spontaneous one). */
  readonly offered: readonly number[]
  /** Extension types the request carried (RFC 9261 §5.2.1). */
  readonly allowedEntryExtensions: ReadonlySet<number>
  /** Rules this peer skips. */
  readonly waive?: ReadonlySet<ValidationRule>
}

export type LaxJudgement =
  | { readonly kind: 'identity'; readonly context: Uint8Array; readonly chain: readonly Uint8Array[] }
  | { readonly kind: 'declined' }
  | { readonly kind: 'invalid'; readonly reason: string }

/** certificate_request_context of a request (RFC 8446 §4.3.2: after the 4-byte header, a u8 length). */
export function requestContext(request: Uint8Array): Uint8Array {
  return request.subarray(5, 5 + (request[4] ?? 0))
}

/** The empty authenticator declining `request` (RFC 9261 §5.2.4), for any request bytes. */
export function emptyAuthenticator(keys: ConnectionKeys, creator: Role, request: Uint8Array): Uint8Array {
  const k = deriveKeys(keys.exporter, keys.hash, creator)
  const cert = encodeCertificate({ context: requestContext(request), entries: [] })
  return encodeFinished({ verifyData: finishedMac(nodeCrypto, k, request, cert, new Uint8Array(0)) })
}

const HASH: Record<number, string | null> = {
  0x0401: 'sha256', 0x0501: 'sha384', 0x0601: 'sha512',
  0x0403: 'sha256', 0x0503: 'sha384', 0x0603: 'sha512',
  0x0804: 'sha256', 0x0805: 'sha384', 0x0806: 'sha512', 0x0809: 'sha256', 0x080a: 'sha384', 0x080b: 'sha512',
  0x0807: null, 0x0808: null,
}

/**
 * Verifies a signature as the scheme's code says, whatever the key (what a peer that waived
 * `tls13-scheme` or `scheme-fits-key` ends up doing): PKCS#1 v1.5 for 0x0401/0x0501/0x0601,
 * RSA-PSS (salt = hash length) for 0x08xx RSA codes, ECDSA with the scheme's hash otherwise.
 */
function verifyLoosely(scheme: number, certDer: Uint8Array, content: Uint8Array, signature: Uint8Array): boolean {
  const hash = HASH[scheme]
  if (hash === undefined) return false
  try {
    const key = new X509Certificate(certDer).publicKey
    const type = key.asymmetricKeyType
    if (type === 'ed25519' || type === 'ed448') return nodeVerify(null, content, key, signature)
    if (type === 'ec') return nodeVerify(hash, content, { key, dsaEncoding: 'der' }, signature)
    const pkcs1 = (scheme & 0xff) === 0x01
    const saltLength = { sha256: 32, sha384: 48, sha512: 64 }[hash!]
    return nodeVerify(hash, content, pkcs1 ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature)
  } catch {
    return false
  }
}

/**
 * Judges an authenticator with every rule of {@link ValidationRule} except the waived ones.
 * Replays (a context validated before) are the caller's concern: it holds the per-connection state.
 */
export function laxValidate(authenticator: Uint8Array, v: LaxValidation): LaxJudgement {
  const waived = (r: ValidationRule): boolean => v.waive?.has(r) === true
  const invalid = (reason: string): LaxJudgement => ({ kind: 'invalid', reason })
  const request = v.request ?? new Uint8Array(0)
  let a
  try {
    a = decodeAuthenticator(authenticator)
  } catch (e) {
    return invalid(`malformed: ${(e as Error).message}`)
  }
  const keysOf = (role: Role): AuthenticatorKeys => deriveKeys(v.keys.exporter, v.keys.hash, role)
  const other: Role = v.creator === 'client' ? 'server' : 'client'
  if (a.kind === 'empty') {
    if (!v.request) return invalid('an empty authenticator answers no request')
    const expected = emptyAuthenticator(v.keys, v.creator, v.request)
    return Buffer.from(expected).equals(Buffer.from(authenticator)) ? { kind: 'declined' } : invalid('bad Finished in the empty authenticator')
  }
  const context = a.certificate.context
  if (v.request && !waived('context') && !Buffer.from(context).equals(Buffer.from(requestContext(v.request)))) return invalid('context differs from the request')
  const leaf = a.certificate.entries[0]
  if (!leaf) return invalid('empty certificate_list')
  if (!waived('entry-extensions')) {
    for (const e of a.certificate.entries) for (const x of e.extensions) if (!v.allowedEntryExtensions.has(x.type)) return invalid(`unrequested entry extension ${x.type}`)
  }
  const scheme = a.certificateVerify.algorithm
  if (!waived('tls13-scheme') && !isTls13Scheme(scheme)) return invalid(`scheme 0x${scheme.toString(16)} is not a TLS 1.3 scheme`)
  if (!waived('offered-scheme') && !v.offered.includes(scheme)) return invalid(`scheme 0x${scheme.toString(16)} was not offered`)
  let keyFits: boolean
  try {
    const info = nodeCrypto.publicKeyInfo(leaf.certData)
    // rsa_pkcs1_* fit an rsaEncryption key; TLS 1.3 forbids them by the tls13-scheme rule instead.
    keyFits = schemeMatchesKey(scheme, info.keyType, info.curve) || ((scheme & 0xff) === 0x01 && HASH[scheme] !== undefined && info.keyType === 'rsa')
  } catch (e) {
    return invalid(`unusable end-entity certificate: ${(e as Error).message}`)
  }
  if (!waived('scheme-fits-key') && !keyFits) return invalid(`scheme 0x${scheme.toString(16)} does not fit the key`)
  const verifies = (k: AuthenticatorKeys): boolean => {
    const content = signedContent(nodeCrypto, k, request, a.rawCertificate)
    return isTls13Scheme(scheme) && keyFits
      ? nodeCrypto.verify(scheme, leaf.certData, content, a.certificateVerify.signature)
      : verifyLoosely(scheme, leaf.certData, content, a.certificateVerify.signature)
  }
  let keys = keysOf(v.creator)
  if (!waived('signature')) {
    if (!verifies(keys)) {
      if (!waived('creator-labels') || !verifies(keysOf(other))) return invalid('CertificateVerify signature does not verify')
      keys = keysOf(other)
    }
  }
  if (!waived('finished')) {
    const mac = finishedMac(nodeCrypto, keys, request, a.rawCertificate, a.rawCertificateVerify)
    if (!Buffer.from(mac).equals(Buffer.from(a.finished.verifyData))) return invalid('Finished MAC mismatch')
  }
  return { kind: 'identity', context, chain: a.certificate.entries.map((e) => e.certData) }
}

/**
 * How an authenticator's handshake messages end (RFC 8446 §4: type u8, length u24): `truncated`
 * when a message runs past the end, `trailing` bytes after the first Finished, else `clean`.
 */
export function authenticatorShape(bytes: Uint8Array): { readonly kind: 'clean' | 'truncated' } | { readonly kind: 'trailing'; readonly finishedEnd: number } {
  let at = 0
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return { kind: 'truncated' }
    const end = at + 4 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)
    if (end > bytes.length) return { kind: 'truncated' }
    if (bytes[at] === 20 && end < bytes.length) return { kind: 'trailing', finishedEnd: end }
    at = end
  }
  return { kind: 'clean' }
}
