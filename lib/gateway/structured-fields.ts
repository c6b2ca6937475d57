/**
 * The few RFC 8941 (Structured Field Values for HTTP) pieces the gateway writes: Byte Sequences,
 * Inner Lists of them, Lists and Dictionaries keyed by sf-key. Serializing only; the gateway never
 * parses these (every incoming copy is removed, see forwarding.ts).
 *
 * RFC 8941 §3.2 (Dictionaries):
 *   sf-dictionary  = dict-member *( OWS "," OWS dict-member )
 *   dict-member    = member-key ( parameters / ( "=" member-value ))
 *   member-key     = key
 *   key            = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
 * RFC 8941 §3.3.5 (Byte Sequences):
 *   sf-binary = ":" *(base64) ":"
 * RFC 8941 §3.1.1 (Inner Lists):
 *   inner-list = "(" *SP [ sf-item *( 1*SP sf-item ) *SP ] ")" parameters
 */
import { UsageError } from '../errors.js'

const SF_KEY = /^[a-z*][a-z0-9_.*-]*$/

/** True when `s` is an RFC 8941 §3.1.2 key (lower case only, at most 64 characters per §4.1.1.3). */
export function isSfKey(s: string): boolean {
  return s.length > 0 && s.length <= 64 && SF_KEY.test(s)
}

/**
 * Throws unless `label` can be a Dictionary key; configuration calls this so a bad label never
 * reaches a request.
 * @throws UsageError (`ERR_SC_USAGE`) naming the label
 */
export function assertSfKey(label: string, where: string): void {
  if (!isSfKey(label)) {
    throw new UsageError(
      `${where}: label '${label}' is not an RFC 8941 sf-key (lower-case letter or '*', then a-z 0-9 _ - . *)`,
    )
  }
}

/** RFC 8941 §4.1.8: ":" base64 with padding (RFC 4648 §4) ":". */
export function serializeByteSequence(bytes: Uint8Array): string {
  return `:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}:`
}

/** RFC 8941 §4.1.1.1: an Inner List of Byte Sequences, items separated by one SP. */
export function serializeInnerList(items: readonly Uint8Array[]): string {
  return `(${items.map(serializeByteSequence).join(' ')})`
}

/** RFC 8941 §4.1.1: a List of Byte Sequences (RFC 9440 Client-Cert-Chain). */
export function serializeByteSequenceList(items: readonly Uint8Array[]): string {
  return items.map(serializeByteSequence).join(', ')
}

/**
 * RFC 8941 §4.1.2: a Dictionary whose members are already serialized values.
 * @throws UsageError (`ERR_SC_USAGE`) for a key that is not an sf-key
 */
export function serializeDictionary(members: readonly (readonly [string, string])[]): string {
  return members
    .map(([k, v]) => {
      assertSfKey(k, 'dictionary')
      return `${k}=${v}`
    })
    .join(', ')
}
