/**
 * ClientHello reader for a server that peeks at the raw bytes of a connection before its TLS
 * stack sees them (digest tls-flags-request-mtls §3). Pure and incremental: feed it everything
 * received so far; it answers "complete", "need more bytes" or throws a `DecodeError`.
 *
 * Record layer (RFC 8446 §5.1):
 *   struct {
 *       ContentType type;                       // 22 = handshake
 *       ProtocolVersion legacy_record_version;  // 0x0301 usually, 0x0303 seen too
 *       uint16 length;                          // MUST NOT exceed 2^14
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;
 *
 * A ClientHello may span several handshake records (large post-quantum key shares, padding):
 * we concatenate consecutive handshake fragments until the handshake message is whole (RFC 8446
 * §5.1 forbids interleaving other record types and zero-length handshake fragments). The total
 * number of buffered bytes is bounded by `maxBytes` (default 64 KiB, digest §3.2 step 2).
 *
 * Handshake (RFC 8446 §4): msg_type(1) = 1 client_hello, uint24 length, body.
 *
 * ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for the optional extensions of TLS 1.2):
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;                                   // 32 bytes
 *       opaque legacy_session_id<0..32>;
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       opaque legacy_compression_methods<1..2^8-1>;
 *       Extension extensions<8..2^16-1>;                 // absent in some TLS 1.2 hellos
 *   } ClientHello;
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 */
import { DecodeError } from '../errors.js'
import { ByteReader } from '../wire/byte-reader.js'

/** RFC 8446 §5.1 ContentType handshake. */
export const CONTENT_TYPE_HANDSHAKE = 22
/** RFC 8446 §4 HandshakeType client_hello. */
export const HANDSHAKE_CLIENT_HELLO = 1
/** RFC 8446 §5.1: a TLSPlaintext fragment is at most 2^14 bytes. */
export const MAX_RECORD_FRAGMENT = 16384
/** Default bound on the bytes buffered while waiting for a whole ClientHello. */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 65536

/** Extension types this module interprets (IANA TLS ExtensionType Values). */
export const HelloExtension = {
  server_name: 0,
  supported_groups: 10,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  supported_versions: 43,
  key_share: 51,
} as const

/** A decoded ClientHello. Extension data are views into the reassembled message. */
export interface ClientHello {
  /** `legacy_record_version` of the first record (0 when decoded from a bare handshake message). */
  readonly recordVersion: number
  readonly legacyVersion: number
  readonly random: Uint8Array
  readonly legacySessionId: Uint8Array
  readonly cipherSuites: readonly number[]
  readonly compressionMethods: Uint8Array
  /** extension_type -> extension_data (duplicates are rejected, RFC 8446 §4.2). */
  readonly extensions: ReadonlyMap<number, Uint8Array>
  /** Extension types in wire order. */
  readonly extensionOrder: readonly number[]
  /** First `host_name` of `server_name` (RFC 6066 §3), if sent. */
  readonly serverName?: string
  /** ALPN protocol names (RFC 7301 §3.1), if sent. */
  readonly alpn?: readonly string[]
  /** `supported_versions` list (RFC 8446 §4.2.1), if sent. */
  readonly supportedVersions?: readonly number[]
}

/** Result of {@link parseClientHello}: a whole ClientHello, or a request for more bytes. */
export type ClientHelloParse =
  | {
      readonly kind: 'complete'
      readonly hello: ClientHello
      /** Record-layer bytes that carried the ClientHello (always a whole number of records). */
      readonly consumed: number
    }
  | {
      readonly kind: 'need-more'
      /** Bytes looked at so far. */
      readonly have: number
      /** Lower bound of the total bytes needed, when the headers read so far tell. */
      readonly atLeast: number
    }

/** Options of {@link parseClientHello}. */
export interface ParseClientHelloOptions {
  /** Bound on the record-layer bytes of the ClientHello (default 64 KiB). */
  readonly maxBytes?: number
}

const RECORDS = 'TLSPlaintext'
const HELLO = 'ClientHello'

/**
 * Reads a ClientHello from the start of a TLS byte stream (one or more handshake records).
 * Incomplete input is not an error: it returns `{ kind: 'need-more' }` so a peeker can wait.
 * @param bytes - everything received on the connection so far.
 * @param options - size bound.
 * @returns the ClientHello with the number of record bytes it used, or a need-more result.
 * @throws DecodeError (`ERR_SC_DECODE`) when the bytes cannot be a TLS ClientHello (not a
 *   handshake record, oversized record, zero-length fragment, other record type interleaved,
 *   another handshake type, a malformed ClientHello, or more than `maxBytes` needed). Offsets
 *   point into `bytes`.
 */
export function parseClientHello(bytes: Uint8Array, options: ParseClientHelloOptions = {}): ClientHelloParse {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES
  const fragments: { readonly start: number; readonly data: Uint8Array }[] = []
  let pos = 0
  let gathered = 0
  let recordVersion = 0
  let hsTotal = -1 // 4 + handshake length, once known
  for (;;) {
    if (hsTotal >= 0 && gathered >= hsTotal) break
    if (pos + 5 > bytes.length) {
      if (pos >= maxBytes) throw new DecodeError(HELLO, pos, `ClientHello needs more than ${maxBytes} bytes`)
      return needMore(bytes.length, pos + 5, pos + 5, hsTotal, gathered)
    }
    const type = bytes[pos]!
    if (type !== CONTENT_TYPE_HANDSHAKE) {
      const what = pos === 0 ? 'not a TLS handshake record' : 'non-handshake record inside the ClientHello'
      throw new DecodeError(RECORDS, pos, `${what} (content type ${type})`)
    }
    const version = (bytes[pos + 1]! << 8) | bytes[pos + 2]!
    if (bytes[pos + 1] !== 3) throw new DecodeError(RECORDS, pos + 1, `record version 0x${version.toString(16)} is not 3.x`)
    if (pos === 0) recordVersion = version
    const len = (bytes[pos + 3]! << 8) | bytes[pos + 4]!
    if (len > MAX_RECORD_FRAGMENT) throw new DecodeError(RECORDS, pos + 3, `record length ${len} exceeds 2^14`)
    if (len === 0) throw new DecodeError(RECORDS, pos + 3, 'zero-length handshake fragment')
    if (pos + 5 + len > maxBytes) throw new DecodeError(HELLO, pos, `ClientHello needs more than ${maxBytes} bytes`)
    const complete = pos + 5 + len <= bytes.length
    fragments.push({ start: pos + 5, data: bytes.subarray(pos + 5, Math.min(bytes.length, pos + 5 + len)) })
    // Check the handshake header as soon as its 4 bytes are in, even from a partial record, so an
    // oversized or wrong message is refused before waiting for the rest.
    if (hsTotal < 0 && gathered + fragments[fragments.length - 1]!.data.length >= 4) {
      hsTotal = handshakeTotal(fragments, maxBytes)
    }
    if (!complete) {
      fragments.pop()
      return needMore(bytes.length, pos + 5, pos + 5 + len, hsTotal, gathered)
    }
    gathered += len
    pos += 5 + len
  }
  // Bytes of the last record past the ClientHello would be a next handshake message; a client
  // sends nothing after its ClientHello in the first flight's handshake records (RFC 8446 §4.1.2).
  if (gathered > hsTotal) {
    throw new DecodeError(HELLO, mapOffset(fragments, hsTotal), `${gathered - hsTotal} handshake bytes after the ClientHello`)
  }
  const message = fragments.length === 1 ? fragments[0]!.data : concat(fragments, hsTotal)
  let hello: ClientHello
  try {
    hello = decodeClientHello(message, recordVersion)
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new DecodeError(e.structure, mapOffset(fragments, e.offset), e.detail, { cause: e })
    }
    throw e
  }
  return { kind: 'complete', hello, consumed: pos }
}

function handshakeTotal(fragments: readonly { readonly start: number; readonly data: Uint8Array }[], maxBytes: number): number {
  const head = concat(fragments, 4)
  if (head[0] !== HANDSHAKE_CLIENT_HELLO) {
    throw new DecodeError('Handshake', fragments[0]!.start, `handshake type ${head[0]} is not client_hello`)
  }
  const total = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!)
  if (total + 5 > maxBytes) {
    throw new DecodeError('Handshake', fragments[0]!.start + 1, `ClientHello length ${total - 4} exceeds the ${maxBytes}-byte limit`)
  }
  return total
}

function needMore(have: number, dataStart: number, nextRecordEnd: number, hsTotal: number, gathered: number): ClientHelloParse {
  // Once the handshake length is known, at least the missing handshake bytes are needed too.
  const atLeast = hsTotal >= 0 ? Math.max(nextRecordEnd, dataStart + (hsTotal - gathered)) : nextRecordEnd
  return { kind: 'need-more', have, atLeast }
}

function concat(fragments: readonly { readonly data: Uint8Array }[], upTo: number): Uint8Array {
  const out = new Uint8Array(upTo)
  let p = 0
  for (const f of fragments) {
    if (p >= upTo) break
    const n = Math.min(f.data.length, upTo - p)
    out.set(f.data.subarray(0, n), p)
    p += n
  }
  return out
}

/** Offset in the reassembled handshake message -> offset in the record stream. */
function mapOffset(fragments: readonly { readonly start: number; readonly data: Uint8Array }[], offset: number): number {
  let rest = offset
  for (const f of fragments) {
    if (rest < f.data.length) return f.start + rest
    rest -= f.data.length
  }
  const last = fragments[fragments.length - 1]
  return last ? last.start + last.data.length : offset
}

/**
 * Decodes one ClientHello handshake message (msg_type, uint24 length, body; no record header).
 * @param message - the handshake message.
 * @param recordVersion - `legacy_record_version` to report (0 when unknown).
 * @returns the ClientHello.
 * @throws DecodeError (`ERR_SC_DECODE`) with offsets into `message`.
 */
export function decodeClientHello(message: Uint8Array, recordVersion = 0): ClientHello {
  const top = new ByteReader(message, 'Handshake')
  const type = top.u8('msg_type')
  if (type !== HANDSHAKE_CLIENT_HELLO) throw top.failAt(0, `handshake type ${type} is not client_hello`)
  const r = top.subReader(3, 0, 0xffffff, 'ClientHello', HELLO)
  top.end('ClientHello')
  const legacyVersion = r.u16('legacy_version')
  const random = r.take(32, 'random')
  const legacySessionId = r.vector(1, 0, 32, 'legacy_session_id')
  const suitesAt = r.offset
  const suites = r.vector(2, 2, 0xfffe, 'cipher_suites')
  if (suites.length % 2 !== 0) throw r.failAt(suitesAt, 'cipher_suites length is odd')
  const cipherSuites: number[] = []
  for (let i = 0; i < suites.length; i += 2) cipherSuites.push((suites[i]! << 8) | suites[i + 1]!)
  const compressionMethods = r.vector(1, 1, 0xff, 'legacy_compression_methods')
  const extensions = new Map<number, Uint8Array>()
  const extensionOrder: number[] = []
  const extensionAt = new Map<number, number>()
  if (!r.isAtEnd) {
    const list = r.subReader(2, 0, 0xffff, 'extensions')
    while (!list.isAtEnd) {
      const at = list.offset
      const t = list.u16('extension_type')
      const dataAt = list.offset + 2
      const data = list.vector(2, 0, 0xffff, 'extension_data')
      if (extensions.has(t)) throw list.failAt(at, `duplicate extension ${t}`)
      extensions.set(t, data)
      extensionAt.set(t, dataAt)
      extensionOrder.push(t)
    }
    r.end('extensions')
  }
  const sni = extensions.get(HelloExtension.server_name)
  const alpnData = extensions.get(HelloExtension.application_layer_protocol_negotiation)
  const sv = extensions.get(HelloExtension.supported_versions)
  const at = (t: number): number => extensionAt.get(t) ?? 0
  return {
    recordVersion,
    legacyVersion,
    random,
    legacySessionId,
    cipherSuites,
    compressionMethods,
    extensions,
    extensionOrder,
    ...(sni !== undefined && sni.length > 0 ? optional('serverName', decodeServerName(sni, at(HelloExtension.server_name))) : {}),
    ...(alpnData !== undefined ? { alpn: decodeAlpn(alpnData, at(HelloExtension.application_layer_protocol_negotiation)) } : {}),
    ...(sv !== undefined ? { supportedVersions: decodeSupportedVersions(sv, at(HelloExtension.supported_versions)) } : {}),
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V })
}

/**
 * RFC 6066 §3: `ServerName server_name_list<1..2^16-1>`; `NameType name_type; HostName
 * host_name<1..2^16-1>`. Returns the first host_name (type 0). An empty extension_data is what a
 * server sends back, never a client; we tolerate it by ignoring it (handled by the caller).
 */
function decodeServerName(data: Uint8Array, base: number): string | undefined {
  const r = new ByteReader(data, 'server_name', base)
  const list = r.subReader(2, 1, 0xffff, 'server_name_list')
  r.end()
  let name: string | undefined
  while (!list.isAtEnd) {
    const type = list.u8('name_type')
    const host = list.vector(2, 1, 0xffff, 'HostName')
    if (type === 0 && name === undefined) name = new TextDecoder('latin1').decode(host)
  }
  return name
}

/** RFC 7301 §3.1: `ProtocolName protocol_name_list<2..2^16-1>`, `opaque ProtocolName<1..2^8-1>`. */
function decodeAlpn(data: Uint8Array, base: number): string[] {
  const r = new ByteReader(data, 'application_layer_protocol_negotiation', base)
  const list = r.subReader(2, 2, 0xffff, 'protocol_name_list')
  r.end()
  const out: string[] = []
  while (!list.isAtEnd) out.push(new TextDecoder('latin1').decode(list.vector(1, 1, 0xff, 'ProtocolName')))
  return out
}

/** RFC 8446 §4.2.1 (ClientHello form): `ProtocolVersion versions<2..254>`. */
function decodeSupportedVersions(data: Uint8Array, base: number): number[] {
  const r = new ByteReader(data, 'supported_versions', base)
  const at = r.offset
  const v = r.vector(1, 2, 254, 'versions')
  r.end()
  if (v.length % 2 !== 0) throw r.failAt(at, 'versions length is odd')
  const out: number[] = []
  for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!)
  return out
}
