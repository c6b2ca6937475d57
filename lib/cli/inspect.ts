/**
 * `h2sc inspect`: turns bytes someone captured (a frame from a log, a decrypted TLS record, a
 * request or authenticator on its own) into readable lines. Input is hex (with or without `0x`,
 * spaces, colons, newlines) or binary; a sequence of HTTP/2 frames is decoded frame by frame,
 * each frame's error reported on its own so one bad frame does not hide the others.
 */
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, H2FrameType, decodeFrameHeader } from '../wire/h2/frame-header.js'
import type { FrameHeader } from '../wire/h2/frame-header.js'
import { decodeAuthenticatorRequests } from '../wire/h2/authenticator-requests-frame.js'
import { decodeCertificateFrame } from '../wire/h2/certificate-frame.js'
import { SettingsId, decodeSettings } from '../wire/h2/settings.js'
import { decodeGoaway } from '../wire/h2/goaway-frame.js'
import { decodeCertificateRequest } from '../wire/tls/certificate-request.js'
import type { CertificateRequest } from '../wire/tls/certificate-request.js'
import { decodeAuthenticator } from '../wire/tls/authenticator.js'
import { schemeName } from '../wire/tls/signature-scheme.js'
import { DEFAULT_CODEPOINTS } from '../config.js'
import type { Codepoints } from '../config.js'
import { formatDistinguishedName } from '../oauth/distinguished-name.js'
import { parseCertificate } from '../policy/parsed-cert.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** What {@link inspect} found: the lines to print, and how many parts decoded or failed. */
export interface InspectResult {
  readonly lines: readonly string[]
  readonly decoded: number
  readonly failed: number
}

/**
 * Reads hex text: `0x` prefixes (on the whole text or on each token), whitespace, newlines,
 * colons and commas between digits are allowed.
 * @returns the bytes, or a one-line reason the text is not hex
 */
export function parseHex(text: string): { bytes: Uint8Array } | { error: string } {
  const tokens = text.split(/[\s:,]+/).filter(Boolean)
  const digits = tokens.map((t) => (/^0x/i.test(t) ? t.slice(2) : t)).join('')
  if (digits.length === 0) return { error: 'no hex digits' }
  const bad = /[^0-9a-fA-F]/.exec(digits)
  if (bad) return { error: `unexpected '${bad[0]}' after ${bad.index} hex digit(s)` }
  if (digits.length % 2 !== 0) return { error: `odd number of hex digits (${digits.length})` }
  return { bytes: new Uint8Array(Buffer.from(digits, 'hex')) }
}

/**
 * Whether file or stdin contents are hex text rather than binary: only hex digits, `x`/`X`,
 * separators and whitespace, and they parse as hex. A binary frame almost always holds a byte
 * outside that set (its 9-byte header starts with a 0x00 length byte).
 */
export function looksLikeHexText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false
  for (const b of bytes) {
    const ok =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) ||
      b === 0x78 || b === 0x58 || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x3a || b === 0x2c
    if (!ok) return false
  }
  return 'bytes' in parseHex(Buffer.from(bytes).toString('latin1'))
}

function describeRequest(r: CertificateRequest, indent: string): string[] {
  const out = [
    `${indent}${r.type === 13 ? 'CertificateRequest (13)' : 'ClientCertificateRequest (17)'}, ${r.raw.length} bytes`,
    `${indent}  context: ${hex(r.context)} (${r.context.length} bytes)`,
    `${indent}  signature_algorithms: ${r.signatureAlgorithms.map(schemeName).join(', ')}`,
  ]
  if (r.signatureAlgorithmsCert) out.push(`${indent}  signature_algorithms_cert: ${r.signatureAlgorithmsCert.map(schemeName).join(', ')}`)
  if (r.certificateAuthorities) out.push(`${indent}  certificate_authorities: ${r.certificateAuthorities.length} name(s)`)
  if (r.oidFilters) out.push(`${indent}  oid_filters: ${r.oidFilters.map((f) => `${hex(f.oid)}=${hex(f.values)}`).join(', ')}`)
  if (r.statusRequest) out.push(`${indent}  status_request`)
  if (r.signedCertificateTimestamp) out.push(`${indent}  signed_certificate_timestamp`)
  if (r.serverName) out.push(`${indent}  server_name: ${r.serverName.join(', ')}`)
  const known = new Set([0, 5, 13, 18, 47, 48, 50])
  for (const e of r.extensions) if (!known.has(e.type)) out.push(`${indent}  unknown extension ${e.type} (${e.data.length} bytes, ignored)`)
  return out
}

function describeAuthenticator(bytes: Uint8Array, indent: string): string[] {
  const a = decodeAuthenticator(bytes)
  if (a.kind === 'empty') {
    return [`${indent}empty authenticator (Finished only, ${a.finished.verifyData.length}-byte MAC): declines a request`]
  }
  const out = [`${indent}authenticator, ${bytes.length} bytes`, `${indent}  context: ${hex(a.certificate.context)}`]
  a.certificate.entries.forEach((e, i) => {
    let subject = '(not parseable as X.509)'
    try {
      subject = formatDistinguishedName(parseCertificate(e.certData).subjectDer)
    } catch {
      // keep the placeholder
    }
    out.push(`${indent}  certificate[${i}]: ${subject} (${e.certData.length} bytes${e.extensions.length ? `, ${e.extensions.length} extension(s)` : ''})`)
  })
  out.push(`${indent}  CertificateVerify: ${schemeName(a.certificateVerify.algorithm)}, ${a.certificateVerify.signature.length}-byte signature`)
  out.push(`${indent}  Finished: ${a.finished.verifyData.length}-byte MAC`)
  return out
}

/** RFC 9113 §6.5.2 setting names, later registrations, and the extension's own settings. */
function settingName(id: number, cp: Codepoints): string {
  if (id === cp.settingServerCertAuth) return 'SETTINGS_HTTP_SERVER_CERT_AUTH'
  if (id === cp.settingClientCertAuth) return 'SETTINGS_HTTP_CLIENT_CERT_AUTH'
  const standard = Object.entries(SettingsId).find(([, v]) => v === id)
  if (standard) return `SETTINGS_${standard[0]}`
  if (id === 0x8) return 'SETTINGS_ENABLE_CONNECT_PROTOCOL' // RFC 8441 §3
  if (id === 0x9) return 'SETTINGS_NO_RFC7540_PRIORITIES' // RFC 9218 §2.1
  return `unknown setting 0x${id.toString(16)}`
}

/** SETTINGS through the shared codec (lib/wire/h2/settings.ts, RFC 9113 §6.5), one line each. */
function describeSettings(h: FrameHeader, payload: Uint8Array, cp: Codepoints): string[] {
  let f: ReturnType<typeof decodeSettings>
  try {
    f = decodeSettings(h.flags, h.streamId, payload)
  } catch (e) {
    // Name the broken rule (SettingsDecodeError.rule): what an endpoint would answer it with.
    const rule = (e as { rule?: string }).rule
    throw new Error(`${(e as Error).message}${rule ? ` (rule ${rule}, RFC 9113 §6.5)` : ''}`, { cause: e })
  }
  if (f.ack) return ['  ACK']
  if (f.entries.length === 0) return ['  (no settings)']
  return f.entries.map(([id, value]) => `  ${settingName(id, cp)} (0x${id.toString(16)}) = ${value}`)
}

const H2_NAMES: Record<number, string> = Object.fromEntries(Object.entries(H2FrameType).map(([k, v]) => [v, k]))

function frameName(type: number, cp: Codepoints): string {
  if (type === cp.frameAuthenticatorRequests) return 'AUTHENTICATOR_REQUESTS'
  if (type === cp.frameServerCertificate) return 'SERVER_CERTIFICATE'
  if (type === cp.frameClientCertificate) return 'CLIENT_CERTIFICATE'
  if (type === 0xc) return 'ORIGIN' // RFC 8336 §2
  return H2_NAMES[type] ?? `type 0x${type.toString(16)}`
}

/** The body lines of one complete frame; throws with a one-line reason when it does not decode. */
function describeFrame(h: FrameHeader, payload: Uint8Array, cp: Codepoints): string[] {
  const u32 = (o: number): number => new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(o)
  switch (h.type) {
    case cp.frameAuthenticatorRequests: {
      const out: string[] = []
      for (const r of decodeAuthenticatorRequests(payload)) out.push(...describeRequest(decodeCertificateRequest(r), '  '))
      return out
    }
    case cp.frameServerCertificate:
    case cp.frameClientCertificate:
      return describeAuthenticator(decodeCertificateFrame(payload), '  ')
    case H2FrameType.SETTINGS:
      return describeSettings(h, payload, cp)
    case H2FrameType.GOAWAY: {
      const g = decodeGoaway(payload)
      const debug = g.debugData.length ? `, debug ${JSON.stringify(Buffer.from(g.debugData).toString('latin1').slice(0, 80))}` : ''
      return [`  last stream ${g.lastStreamId}, error code 0x${g.errorCode.toString(16)}${debug}`]
    }
    case H2FrameType.RST_STREAM:
      // RFC 9113 §6.4: Error Code (32).
      if (payload.length !== 4) throw new Error(`RST_STREAM payload of ${payload.length} bytes (must be 4)`)
      return [`  error code 0x${u32(0).toString(16)}`]
    case H2FrameType.WINDOW_UPDATE:
      // RFC 9113 §6.9: Reserved (1), Window Size Increment (31).
      if (payload.length !== 4) throw new Error(`WINDOW_UPDATE payload of ${payload.length} bytes (must be 4)`)
      return [`  increment ${u32(0) & 0x7fffffff}`]
    case H2FrameType.PING:
      // RFC 9113 §6.7: Opaque Data (64).
      if (payload.length !== 8) throw new Error(`PING payload of ${payload.length} bytes (must be 8)`)
      return [`  ${h.flags & 0x1 ? 'ACK ' : ''}opaque ${hex(payload)}`]
    default:
      return []
  }
}

/**
 * Decodes a sequence of HTTP/2 frames (a client's stream may start with the connection
 * preface, RFC 9113 §3.4). Each frame is reported with its header, then its decoded payload or
 * `  error: ...`; a truncated last frame or trailing bytes are reported as such.
 */
function inspectFrames(bytes: Uint8Array, cp: Codepoints): InspectResult {
  const lines: string[] = []
  let decoded = 0
  let failed = 0
  let o = 0
  if (bytes.length >= CLIENT_PREFACE.length && Buffer.from(bytes.subarray(0, CLIENT_PREFACE.length)).equals(CLIENT_PREFACE)) {
    lines.push('client connection preface (24 bytes)')
    o = CLIENT_PREFACE.length
  }
  let n = 0
  while (o < bytes.length) {
    n++
    if (bytes.length - o < FRAME_HEADER_BYTES) {
      lines.push(`frame #${n} at offset ${o}: error: ${bytes.length - o} trailing byte(s), too short for a 9-byte frame header`)
      failed++
      break
    }
    const h = decodeFrameHeader(bytes.subarray(o, o + FRAME_HEADER_BYTES))
    const name = frameName(h.type, cp)
    lines.push(`frame ${name}, length ${h.length}, flags 0x${h.flags.toString(16)}, stream ${h.streamId}`)
    const available = bytes.length - o - FRAME_HEADER_BYTES
    if (available < h.length) {
      lines.push(`  error: truncated: header says ${h.length} payload bytes, ${available} present (frame #${n}, offset ${o})`)
      failed++
      break
    }
    const payload = bytes.subarray(o + FRAME_HEADER_BYTES, o + FRAME_HEADER_BYTES + h.length)
    try {
      lines.push(...describeFrame(h, payload, cp))
      decoded++
    } catch (e) {
      lines.push(`  error: ${name} (frame #${n}, offset ${o}): ${oneLine(e)}`)
      failed++
    }
    o += FRAME_HEADER_BYTES + h.length
  }
  if (n > 1) lines.push(`${n} frames: ${decoded} decoded, ${failed} failed`)
  return { lines, decoded, failed }
}

function oneLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!
}

/**
 * Decodes bytes as, in this order of likelihood: a bare CertificateRequest (first byte 13 or
 * 17), a bare authenticator (11 Certificate or 20 Finished), else a sequence of HTTP/2 frames.
 * @param bytes - what to decode.
 * @param codepoints - frame types and settings to name the extension's frames by.
 * @returns the lines and the counts; `failed > 0` or `decoded === 0` means something did not decode.
 */
export function inspect(bytes: Uint8Array, codepoints: Codepoints = DEFAULT_CODEPOINTS): InspectResult {
  if (bytes.length === 0) return { lines: ['error: empty input'], decoded: 0, failed: 1 }
  const errors: string[] = []
  const first = bytes[0]
  if (first === 13 || first === 17) {
    try {
      return { lines: describeRequest(decodeCertificateRequest(bytes), ''), decoded: 1, failed: 0 }
    } catch (e) {
      errors.push(`not a CertificateRequest: ${oneLine(e)}`)
    }
  }
  if (first === 11 || first === 20) {
    try {
      return { lines: describeAuthenticator(bytes, ''), decoded: 1, failed: 0 }
    } catch (e) {
      errors.push(`not an authenticator: ${oneLine(e)}`)
    }
  }
  const frames = inspectFrames(bytes, codepoints)
  if (frames.decoded > 0 || errors.length === 0) return frames
  return {
    lines: [`could not decode ${bytes.length} bytes:`, ...errors.map((e) => `  ${e}`), '  as HTTP/2 frames:', ...frames.lines.map((l) => `    ${l}`)],
    decoded: 0,
    failed: 1,
  }
}

/** {@link inspect} as text (kept for callers of the first version). */
export function inspectBytes(bytes: Uint8Array): string {
  return inspect(bytes).lines.join('\n')
}
