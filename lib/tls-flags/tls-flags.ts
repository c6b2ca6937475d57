/**
 * The `tls_flags` extension (draft-ietf-tls-tlsflags, "FLAGS"): a bit vector of one-bit TLS
 * features. Pure codec, no I/O. Digest: shared/spec/tls-flags-request-mtls.md §1.
 *
 * FLAGS §2:
 *   struct {
 *      opaque flags<1..255>;
 *   } FlagExtensions;
 *
 * Bit order (FLAGS §2, since draft -01): flag number n lives in byte floor(n / 8) under the mask
 * `1 << (n % 8)`, i.e. least significant bit first inside each byte. Flag 0 is `01`, flags 1 and 5
 * are `22`, flags 3, 5, 23 are `28 00 80`.
 */
import { DecodeError, UsageError } from '../errors.js'

/**
 * Extension codepoint used for `tls_flags` in practice: 62 (0x003E). The draft text still says
 * TBD; BoringSSL's test runner and other stacks use 62 (digest §1.1).
 */
export const TLS_FLAGS_EXTENSION_TYPE = 0x003e

/** Codepoint the Cloudflare Research request-mTLS demo put on the wire (digest §1.1). */
export const TLS_FLAGS_EXPERIMENTAL_EXTENSION_TYPE = 0xfe01

/** Highest flag number: 255 bytes of 8 bits (FLAGS §2). */
export const MAX_TLS_FLAG: number = 255 * 8 - 1

/** `resumption_across_names` (FLAGS §4 initial registry entry). */
export const RESUMPTION_ACROSS_NAMES_FLAG = 8

const STRUCTURE = 'FlagExtensions'

/**
 * Decodes the `extension_data` of a `tls_flags` extension into the set of flag numbers.
 *
 * Rejects, as FLAGS §2/§3 require a receiver to (fatal `illegal_parameter` there): an empty
 * value, a length byte that does not match the data, and a last byte of zero (flags must be
 * minimally encoded, so all-zero values are invalid too).
 * @param data - the extension's `extension_data` (length byte included).
 * @param base - absolute offset of `data[0]` for error reporting.
 * @returns the flag numbers that are set.
 * @throws DecodeError (`ERR_SC_DECODE`, structure `FlagExtensions`)
 */
export function decodeTlsFlags(data: Uint8Array, base = 0): Set<number> {
  if (data.length === 0) throw new DecodeError(STRUCTURE, base, 'empty extension_data')
  const len = data[0]!
  if (len === 0) throw new DecodeError(STRUCTURE, base, 'flags length 0 (must be 1..255)')
  if (len !== data.length - 1) {
    const detail = len > data.length - 1 ? 'truncated flags' : `${data.length - 1 - len} trailing bytes`
    throw new DecodeError(STRUCTURE, len > data.length - 1 ? base + data.length : base + 1 + len, detail)
  }
  if (data[len] === 0) throw new DecodeError(STRUCTURE, base + len, 'last flags byte is zero (not minimal)')
  const out = new Set<number>()
  for (let i = 0; i < len; i++) {
    const b = data[1 + i]!
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.add(i * 8 + bit)
  }
  return out
}

/**
 * Encodes flag numbers as `tls_flags` `extension_data` (length byte, then the minimal bit vector).
 * @param flags - flag numbers 0..2039; duplicates are fine.
 * @returns the extension_data bytes.
 * @throws UsageError (`ERR_SC_USAGE`) for an empty set (FLAGS §3: a sender MUST NOT send an
 *   empty flags field) or a number that is not an integer in 0..2039.
 */
export function encodeTlsFlags(flags: Iterable<number>): Uint8Array {
  let max = -1
  const list: number[] = []
  for (const n of flags) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_TLS_FLAG) {
      throw new UsageError(`tls flag ${n} outside 0..${MAX_TLS_FLAG}`)
    }
    list.push(n)
    if (n > max) max = n
  }
  if (max < 0) throw new UsageError('tls_flags must carry at least one flag')
  const len = (max >> 3) + 1
  const out = new Uint8Array(1 + len)
  out[0] = len
  for (const n of list) out[1 + (n >> 3)]! |= 1 << (n & 7)
  return out
}

/**
 * True when `flag` is set in a `tls_flags` `extension_data` value.
 * @throws DecodeError (`ERR_SC_DECODE`) when `data` is not a valid FlagExtensions value.
 */
export function hasFlag(data: Uint8Array, flag: number): boolean {
  return decodeTlsFlags(data).has(flag)
}
