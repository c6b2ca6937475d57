import { ByteReader } from '../byte-reader.js'
import { UsageError } from '../../errors.js'
import { HandshakeType, openHandshake } from './handshake.js'
import {
  ExtensionType,
  decodeCertificateAuthorities,
  decodeOidFilters,
  decodeServerNameList,
  decodeSignatureSchemeList,
  encodeCertificateAuthorities,
  encodeOidFilters,
  encodeServerNameList,
  encodeSignatureSchemeList,
  readExtensions,
  scanExtensions,
  u16at,
} from './extensions.js'
import type { Extension, OidFilter } from './extensions.js'

/**
 * RFC 9261 §4 (body layout of RFC 8446 §4.3.2), handshake type 13 (CertificateRequest, made by a
 * server) or 17 (ClientCertificateRequest, made by a client):
 *   struct {
 *     opaque certificate_request_context<0..2^8-1>;
 *     Extension extensions<2..2^16-1>;
 *   } CertificateRequest / ClientCertificateRequest;
 *
 * A decoded request is already checked: lengths, no trailing bytes, no duplicate extensions,
 * `signature_algorithms` present (RFC 9261 §7.1 makes it mandatory), the known extensions well
 * formed. Unknown extensions are kept in `extensions` and otherwise ignored (RFC 9261 §5.2.1).
 */
export interface CertificateRequest {
  /** 13 or 17. */
  readonly type: number
  /** certificate_request_context */
  readonly context: Uint8Array
  /** Every extension in wire order, including unknown ones. */
  readonly extensions: readonly Extension[]
  /** signature_algorithms (required). */
  readonly signatureAlgorithms: readonly number[]
  /** signature_algorithms_cert, when present. */
  readonly signatureAlgorithmsCert: readonly number[] | undefined
  /** certificate_authorities: DER-encoded X.501 Names, when present. */
  readonly certificateAuthorities: readonly Uint8Array[] | undefined
  /** oid_filters, when present. */
  readonly oidFilters: readonly OidFilter[] | undefined
  /** status_request present (asks for a stapled OCSP response in the entry extensions). */
  readonly statusRequest: boolean
  /** signed_certificate_timestamp present (asks for SCTs in the entry extensions). */
  readonly signedCertificateTimestamp: boolean
  /**
   * server_name host names; only read in type 17 requests (RFC 9261 §4, §8.1). In a type 13
   * request the extension is not defined and is kept as unknown.
   */
  readonly serverName: readonly string[] | undefined
  /** The whole message (header included) exactly as decoded or encoded: transcripts hash it. */
  readonly raw: Uint8Array
}

const STRUCTURE = 'CertificateRequest'

/**
 * Decodes a complete CertificateRequest (type 13) or ClientCertificateRequest (type 17) message.
 * @param accept which handshake types to accept (default both)
 * @throws DecodeError (`ERR_SC_DECODE`) with the structure and offset of the first problem
 */
export function decodeCertificateRequest(
  bytes: Uint8Array,
  accept: readonly number[] = BOTH_TYPES,
): CertificateRequest {
  return decodeWellFramedRequest(bytes, accept) ?? decodeCertificateRequestReference(bytes, accept)
}

const BOTH_TYPES: readonly number[] = Object.freeze([HandshakeType.certificate_request, HandshakeType.client_certificate_request])

/**
 * Fast framing of a well-formed request (header, context, extension block filling the body, no
 * duplicate types), then the same interpretation as the reference decoder; undefined at the
 * first framing anomaly so that the reference decoder reports it precisely.
 */
function decodeWellFramedRequest(b: Uint8Array, accept: readonly number[]): CertificateRequest | undefined {
  const n = b.length
  const extStart = extensionsAt(b, accept)
  if (extStart < 0) return undefined
  const type = b[0]!
  const extLen = u16at(b, extStart)
  if (extLen < 2 || extStart + 2 + extLen !== n) return undefined
  const extensions = scanExtensions(b, extStart + 2, n)
  if (extensions === undefined) return undefined
  return interpret(b, type, b.subarray(5, extStart), extensions, extStart)
}

/**
 * The framing both fast readers share: an accepted type, a handshake length filling the bytes,
 * a context that fits, and room for the extension block's 2-byte length. Returns the offset of
 * that length, or -1.
 */
function extensionsAt(b: Uint8Array, accept: readonly number[]): number {
  const n = b.length
  if (n < 5 || !accept.includes(b[0]!)) return -1
  if (4 + ((b[1]! << 16) | (b[2]! << 8) | b[3]!) !== n) return -1
  const extStart = 5 + b[4]!
  return n - extStart < 2 ? -1 : extStart
}

/**
 * Where the fields of a plain request lie in its bytes (see {@link scanPlainRequest}). One shared
 * instance, overwritten by each successful scan: read it before the next call.
 */
export interface PlainRequestScan {
  /** Handshake type, 13 or 17. */
  type: number
  /** certificate_request_context is `bytes[contextStart, contextStart + contextLength)`. */
  contextStart: number
  contextLength: number
  /** The SignatureScheme list (2 bytes each) is `bytes[schemesStart, schemesEnd)`. */
  schemesStart: number
  schemesEnd: number
}

const PLAIN: PlainRequestScan = { type: 0, contextStart: 0, contextLength: 0, schemesStart: 0, schemesEnd: 0 }

/**
 * The common request in one pass with no allocation: well framed, of an accepted type, with
 * signature_algorithms as its only extension and a non-empty, even-length list. For such bytes
 * {@link decodeCertificateRequest} succeeds with exactly these fields (no other extension, every
 * optional field absent); spec/wire/tls/fast-decoders.spec.ts holds the two to it. Anything else
 * (other extensions, any anomaly) returns undefined and the caller decodes in full.
 */
export function scanPlainRequest(b: Uint8Array, accept: readonly number[] = BOTH_TYPES): PlainRequestScan | undefined {
  const n = b.length
  const extStart = extensionsAt(b, accept)
  // Extension block length, then one Extension: type, length, data.
  if (extStart < 0 || n - extStart < 2 + 4) return undefined
  const type = b[0]!
  const ctxLen = b[4]!
  const extLen = u16at(b, extStart)
  if (extStart + 2 + extLen !== n) return undefined
  if (u16at(b, extStart + 2) !== ExtensionType.signature_algorithms) return undefined
  const dataLen = u16at(b, extStart + 4)
  if (4 + dataLen !== extLen) return undefined
  // supported_signature_algorithms<2..2^16-2> filling the extension data (RFC 8446 §4.2.3).
  const listAt = extStart + 6
  if (dataLen < 4 || dataLen % 2 !== 0 || u16at(b, listAt) !== dataLen - 2) return undefined
  PLAIN.type = type
  PLAIN.contextStart = 5
  PLAIN.contextLength = ctxLen
  PLAIN.schemesStart = listAt + 2
  PLAIN.schemesEnd = n
  return PLAIN
}

/**
 * The reference decoder: every field through the bounds-checked readers.
 * @throws DecodeError (`ERR_SC_DECODE`) with the structure and offset of the first problem
 */
export function decodeCertificateRequestReference(
  bytes: Uint8Array,
  accept: readonly number[] = BOTH_TYPES,
): CertificateRequest {
  const { type, body } = openHandshake(bytes, accept, STRUCTURE)
  const context = body.vector(1, 0, 0xff, 'certificate_request_context')
  const extStart = body.offset
  const extensions = readExtensions(body, 2, STRUCTURE)
  body.end()
  return interpret(bytes, type, context, extensions, extStart)
}

const SIGALGS_STRUCTURE = `${STRUCTURE}.signature_algorithms`

/** Reads the known extensions of a framed request; `extStart` is the offset of the block's length. */
function interpret(
  bytes: Uint8Array,
  type: number,
  context: Uint8Array,
  extensions: readonly Extension[],
  extStart: number,
): CertificateRequest {
  let signatureAlgorithms: number[] | undefined
  let signatureAlgorithmsCert: number[] | undefined
  let certificateAuthorities: Uint8Array[] | undefined
  let oidFilters: OidFilter[] | undefined
  let serverName: string[] | undefined
  let statusRequest = false
  let signedCertificateTimestamp = false
  // Offsets of each extension's data, for precise errors.
  let at = extStart + 2
  for (let i = 0; i < extensions.length; i++) {
    const e = extensions[i]!
    const dataAt = at + 4
    at = dataAt + e.data.length
    switch (e.type) {
      case ExtensionType.signature_algorithms:
        signatureAlgorithms = decodeSignatureSchemeList(e.data, dataAt, SIGALGS_STRUCTURE)
        break
      case ExtensionType.signature_algorithms_cert:
        signatureAlgorithmsCert = decodeSignatureSchemeList(e.data, dataAt, `${STRUCTURE}.signature_algorithms_cert`)
        break
      case ExtensionType.certificate_authorities:
        certificateAuthorities = decodeCertificateAuthorities(e.data, dataAt, `${STRUCTURE}.certificate_authorities`)
        break
      case ExtensionType.oid_filters:
        oidFilters = decodeOidFilters(e.data, dataAt, `${STRUCTURE}.oid_filters`)
        break
      case ExtensionType.status_request:
        // RFC 8446 §4.4.2.1: an empty status_request in a CertificateRequest.
        if (e.data.length !== 0) new ByteReader(e.data, `${STRUCTURE}.status_request`, dataAt).fail('must be empty')
        statusRequest = true
        break
      case ExtensionType.signed_certificate_timestamp:
        if (e.data.length !== 0) {
          new ByteReader(e.data, `${STRUCTURE}.signed_certificate_timestamp`, dataAt).fail('must be empty')
        }
        signedCertificateTimestamp = true
        break
      case ExtensionType.server_name:
        if (type === HandshakeType.client_certificate_request) {
          serverName = decodeServerNameList(e.data, dataAt, `${STRUCTURE}.server_name`)
        }
        break
      default:
        break
    }
  }
  if (signatureAlgorithms === undefined) {
    throw new ByteReader(bytes, STRUCTURE).failAt(extStart, 'signature_algorithms extension missing')
  }
  return {
    type,
    context,
    extensions,
    signatureAlgorithms,
    signatureAlgorithmsCert,
    certificateAuthorities,
    oidFilters,
    statusRequest,
    signedCertificateTimestamp,
    serverName,
    raw: bytes,
  }
}

/** What a caller gives to build a request. */
export interface CertificateRequestInit {
  /** 13 (server-made, the default) or 17 (client-made). */
  readonly type?: number
  readonly context: Uint8Array
  readonly signatureAlgorithms: readonly number[]
  readonly signatureAlgorithmsCert?: readonly number[]
  readonly certificateAuthorities?: readonly Uint8Array[]
  readonly oidFilters?: readonly OidFilter[]
  readonly statusRequest?: boolean
  readonly signedCertificateTimestamp?: boolean
  /** Only for type 17 requests. */
  readonly serverName?: string
  /** Extra extensions appended as given (e.g. unknown ones for testing). */
  readonly extraExtensions?: readonly Extension[]
}

/**
 * Encodes a CertificateRequest / ClientCertificateRequest message, header included.
 * @throws UsageError (`ERR_SC_USAGE`) on an impossible request (no schemes, context > 255 bytes,
 * server_name in a type 13 request)
 */
export function encodeCertificateRequest(init: CertificateRequestInit): Uint8Array {
  const type = init.type ?? HandshakeType.certificate_request
  if (type !== HandshakeType.certificate_request && type !== HandshakeType.client_certificate_request) {
    throw new UsageError(`request type must be 13 or 17, got ${type}`)
  }
  if (init.context.length > 255) throw new UsageError('certificate_request_context longer than 255 bytes')
  const exts: Extension[] = [
    { type: ExtensionType.signature_algorithms, data: encodeSignatureSchemeList(init.signatureAlgorithms) },
  ]
  if (init.signatureAlgorithmsCert) {
    exts.push({ type: ExtensionType.signature_algorithms_cert, data: encodeSignatureSchemeList(init.signatureAlgorithmsCert) })
  }
  if (init.certificateAuthorities) {
    exts.push({ type: ExtensionType.certificate_authorities, data: encodeCertificateAuthorities(init.certificateAuthorities) })
  }
  if (init.oidFilters) exts.push({ type: ExtensionType.oid_filters, data: encodeOidFilters(init.oidFilters) })
  if (init.statusRequest) exts.push({ type: ExtensionType.status_request, data: new Uint8Array(0) })
  if (init.signedCertificateTimestamp) {
    exts.push({ type: ExtensionType.signed_certificate_timestamp, data: new Uint8Array(0) })
  }
  if (init.serverName !== undefined) {
    if (type !== HandshakeType.client_certificate_request) {
      throw new UsageError('server_name is only defined in a ClientCertificateRequest (type 17)')
    }
    exts.push({ type: ExtensionType.server_name, data: encodeServerNameList([init.serverName]) })
  }
  if (init.extraExtensions) exts.push(...init.extraExtensions)
  // Sizes first, then one allocation (requests are made per identity asked for). The checks and
  // messages are those of ByteWriter / writeExtensions.
  let extLen = 0
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!
    for (let j = 0; j < i; j++) if (exts[j]!.type === e.type) throw new UsageError(`duplicate extension type ${e.type}`)
    if ((e.type & 0xffff) !== e.type) throw new UsageError(`uint16 value ${e.type} out of range`)
    if (e.data.length > 0xffff) throw new UsageError(`extension_data of ${e.data.length} bytes does not fit a 2-byte length`)
    extLen += 4 + e.data.length
  }
  if (extLen > 0xffff) throw new UsageError(`extensions of ${extLen} bytes does not fit a 2-byte length`)
  const bodyLen = 1 + init.context.length + 2 + extLen
  if (bodyLen > 0xffffff) throw new UsageError(`handshake body of ${bodyLen} bytes does not fit a 3-byte length`)
  const out = new Uint8Array(4 + bodyLen)
  out[0] = type
  out[1] = bodyLen >>> 16
  out[2] = (bodyLen >>> 8) & 0xff
  out[3] = bodyLen & 0xff
  out[4] = init.context.length
  out.set(init.context, 5)
  let at = 5 + init.context.length
  out[at++] = extLen >>> 8
  out[at++] = extLen & 0xff
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!
    out[at++] = e.type >>> 8
    out[at++] = e.type & 0xff
    out[at++] = e.data.length >>> 8
    out[at++] = e.data.length & 0xff
    out.set(e.data, at)
    at += e.data.length
  }
  return out
}
