/**
 * Authenticators built piece by piece for the conformance tester, valid or broken in exactly one
 * way (tampered Finished, wrong context, a scheme that does not fit the key, the other role's
 * labels, trailing bytes, …). The signature is made with node:crypto directly, so schemes that
 * lib/ea refuses to produce (PKCS#1, a curve that does not fit) can be sent. Nothing here keeps a
 * per-connection registry: a check may answer a request twice on purpose.
 *
 * RFC 9261 §5.1-§5.2: `Certificate || CertificateVerify || Finished`, keys from the exporter with
 * the creator's labels; §5.2.4: the empty authenticator is a lone Finished.
 */
import { X509Certificate, constants, createPrivateKey, sign as nodeSign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { nodeCrypto } from '../crypto/node-provider.js'
import { keysFromTlsSocket } from '../ea/exporter.js'
import type { ConnectionKeys, TlsSocketLike } from '../ea/exporter.js'
import { deriveKeys, finishedMac, signedContent } from '../ea/transcript.js'
import type { Role } from '../ea/transcript.js'
import { pemToDerChain } from '../binding/credentials.js'
import { encodeCertificate } from '../wire/tls/certificate.js'
import { encodeCertificateVerify } from '../wire/tls/certificate-verify.js'
import { encodeFinished } from '../wire/tls/finished.js'
import type { Extension } from '../wire/tls/extensions.js'

/** A credential as the tester holds it: DER chain, the leaf's key, and what the key can sign. */
export interface ForgeCredential {
  readonly label: string
  readonly chain: readonly Uint8Array[]
  readonly key: KeyObject
  /** 'ec' | 'ed25519' | 'ed448' | 'rsa' | 'rsa-pss' */
  readonly keyType: string
  /** For EC keys: 'P-256' | 'P-384' | 'P-521'. */
  readonly curve?: string
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** Loads a PEM chain and key into a {@link ForgeCredential}. */
export function forgeCredential(label: string, certPem: string, keyPem: string): ForgeCredential {
  const chain = pemToDerChain(certPem, `${label} certificate`)
  const key = createPrivateKey(keyPem)
  const keyType = key.asymmetricKeyType ?? 'unknown'
  const named = key.asymmetricKeyDetails?.namedCurve
  const curve = named ? CURVES[named] : undefined
  return { label, chain, key, keyType, ...(curve ? { curve } : {}) }
}

/** TLS 1.3 schemes (RFC 8446 §4.2.3) that fit a key, in preference order. */
export function fittingSchemes(c: ForgeCredential): number[] {
  switch (c.keyType) {
    case 'ec':
      return c.curve === 'P-384' ? [0x0503] : c.curve === 'P-521' ? [0x0603] : [0x0403]
    case 'ed25519':
      return [0x0807]
    case 'ed448':
      return [0x0808]
    case 'rsa':
      return [0x0804, 0x0805, 0x0806]
    case 'rsa-pss':
      return [0x0809, 0x080a, 0x080b]
    default:
      return []
  }
}

const HASH: Record<number, string | null> = {
  0x0403: 'sha256', 0x0503: 'sha384', 0x0603: 'sha512', 0x0807: null, 0x0808: null,
  0x0804: 'sha256', 0x0805: 'sha384', 0x0806: 'sha512', 0x0809: 'sha256', 0x080a: 'sha384', 0x080b: 'sha512',
  0x0401: 'sha256', 0x0501: 'sha384', 0x0601: 'sha512',
}
const SALT: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 }

/**
 * Signs `content` as `scheme` says, whatever the key: ECDSA (DER), EdDSA, RSA-PSS (salt = hash
 * length, RFC 8446 §4.2.3), or PKCS#1 v1.5 for 0x0401/0x0501/0x0601.
 */
export function signAs(scheme: number, key: KeyObject, content: Uint8Array): Uint8Array {
  const hash = HASH[scheme]
  if (hash === undefined) throw new RangeError(`cannot sign as scheme 0x${scheme.toString(16)}`)
  const type = key.asymmetricKeyType
  if (type === 'ed25519' || type === 'ed448') return new Uint8Array(nodeSign(null, content, key))
  if (type === 'ec') return new Uint8Array(nodeSign(hash, content, { key, dsaEncoding: 'der' }))
  const pkcs1 = scheme === 0x0401 || scheme === 0x0501 || scheme === 0x0601
  return new Uint8Array(
    nodeSign(hash, content, pkcs1 ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[hash!]! }),
  )
}

/** What the tester reads from a request, without rejecting anything (it judges, it does not parse). */
export interface PeekedRequest {
  /** Handshake type: 13 CertificateRequest, 17 ClientCertificateRequest, or anything else. */
  readonly type: number
  readonly context: Uint8Array
  /** undefined when the request carries no signature_algorithms extension. */
  readonly signatureAlgorithms: readonly number[] | undefined
  readonly extensionTypes: readonly number[]
}

/**
 * Reads a CertificateRequest (RFC 8446 §4.3.2: context<0..255>, extensions<2..2^16-1>) leniently.
 * @returns undefined when the bytes are not even shaped like one
 */
export function peekRequest(bytes: Uint8Array): PeekedRequest | undefined {
  if (bytes.length < 4) return undefined
  const type = bytes[0]!
  const len = (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!
  if (len !== bytes.length - 4) return undefined
  let at = 4
  const ctxLen = bytes[at++]
  if (ctxLen === undefined || at + ctxLen > bytes.length) return undefined
  const context = bytes.subarray(at, at + ctxLen)
  at += ctxLen
  if (at + 2 > bytes.length) return undefined
  const extEnd = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!)
  at += 2
  if (extEnd !== bytes.length) return undefined
  const extensionTypes: number[] = []
  let signatureAlgorithms: number[] | undefined
  while (at + 4 <= extEnd) {
    const t = (bytes[at]! << 8) | bytes[at + 1]!
    const l = (bytes[at + 2]! << 8) | bytes[at + 3]!
    const data = bytes.subarray(at + 4, at + 4 + l)
    if (at + 4 + l > extEnd) return undefined
    extensionTypes.push(t)
    if (t === 0x000d && data.length >= 2) {
      signatureAlgorithms = []
      for (let i = 2; i + 1 < data.length; i += 2) signatureAlgorithms.push((data[i]! << 8) | data[i + 1]!)
    }
    at += 4 + l
  }
  if (at !== extEnd) return undefined
  return { type, context, signatureAlgorithms, extensionTypes }
}

/** Exporter and hash of a connected TLS 1.3 socket. */
export function connectionKeys(socket: TlsSocketLike): ConnectionKeys {
  return keysFromTlsSocket(socket)
}

export interface ForgeOptions {
  /** The request answered (bytes as received); absent: a spontaneous server authenticator. */
  readonly request?: Uint8Array
  /** Absent: the empty authenticator (RFC 9261 §5.2.4). */
  readonly credential?: ForgeCredential
  /** Whose exporter labels key it (RFC 9261 §5.1). Default 'client'. */
  readonly creator?: Role
  /** Context carried in the Certificate message. Default: the request's (or 32 random bytes). */
  readonly context?: Uint8Array
  /** CertificateVerify algorithm. Default: the first fitting scheme the request offered. */
  readonly scheme?: number
  /** Extensions on the leaf's CertificateEntry. */
  readonly leafExtensions?: readonly Extension[]
  readonly tamperSignature?: boolean
  readonly tamperFinished?: boolean
  /** Bytes appended after Finished. */
  readonly trailing?: Uint8Array
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * Builds an authenticator on a connection (RFC 9261 §5.2), honest unless an option breaks it.
 * @throws RangeError when no scheme fits (caller skips the check)
 */
export function forgeAuthenticator(conn: ConnectionKeys, o: ForgeOptions): Uint8Array {
  const keys = deriveKeys(conn.exporter, conn.hash, o.creator ?? 'client')
  const request = o.request ?? new Uint8Array(0)
  const peeked = o.request ? peekRequest(o.request) : undefined
  const context = o.context ?? peeked?.context ?? nodeCrypto.randomBytes(32)
  let body: Uint8Array[]
  if (!o.credential) {
    const cert = encodeCertificate({ context, entries: [] })
    body = [encodeFinished({ verifyData: finishedMac(nodeCrypto, keys, request, cert, new Uint8Array(0)) })]
  } else {
    const c = o.credential
    const offered = peeked?.signatureAlgorithms ?? fittingSchemes(c)
    const scheme = o.scheme ?? fittingSchemes(c).find((s) => offered.includes(s))
    if (scheme === undefined) throw new RangeError(`the request offers no scheme for a ${c.keyType} key`)
    const certificate = encodeCertificate({
      context,
      entries: c.chain.map((certData, i) => ({ certData, extensions: i === 0 ? (o.leafExtensions ?? []) : [] })),
    })
    const signature = signAs(scheme, c.key, signedContent(nodeCrypto, keys, request, certificate))
    if (o.tamperSignature) signature[signature.length >> 1] = signature[signature.length >> 1]! ^ 0x01
    const certificateVerify = encodeCertificateVerify({ algorithm: scheme, signature })
    const mac = finishedMac(nodeCrypto, keys, request, certificate, certificateVerify)
    body = [certificate, certificateVerify, encodeFinished({ verifyData: mac })]
  }
  const out = concat([...body, o.trailing ?? new Uint8Array(0)])
  if (o.tamperFinished) {
    const last = out.length - 1 - (o.trailing?.length ?? 0)
    out[last] = out[last]! ^ 0x01
  }
  return out
}

/** Subject of a DER certificate on one line (for result details). */
export function subjectOf(der: Uint8Array): string {
  try {
    return new X509Certificate(der).subject.replace(/\n/g, ', ')
  } catch {
    return '(unparsable certificate)'
  }
}
