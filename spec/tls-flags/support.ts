/**
 * ClientHello builders for the tls-flags and client-hello-peek specs: re-encode a decoded
 * ClientHello with extensions added or replaced (all lengths recomputed), and split a handshake
 * message into records.
 */
import { readFileSync } from 'node:fs'
import type { ClientHello } from '../../lib/tls-flags/client-hello.js'
import { cat, be, ext, handshake, hex, vec } from '../support/hex.js'

/** The captured Node 20 ClientHello (one record). */
export const NODE_HELLO: { readonly hex: string; readonly serverName: string; readonly alpn: string[] } = JSON.parse(
  readFileSync(new URL('./node-client-hello.json', import.meta.url), 'utf8'),
) as { hex: string; serverName: string; alpn: string[] }

/** Record bytes of the captured Node ClientHello. */
export function nodeHelloRecord(): Uint8Array {
  return hex(NODE_HELLO.hex)
}

/** Fields of a ClientHello to encode; extensions in order as [type, data]. */
export interface HelloFields {
  readonly legacyVersion?: number
  readonly random?: Uint8Array
  readonly legacySessionId?: Uint8Array
  readonly cipherSuites?: readonly number[]
  readonly compressionMethods?: Uint8Array
  /** undefined: no extensions block at all. */
  readonly extensions?: readonly (readonly [number, Uint8Array])[]
}

/** A ClientHello handshake message (type 1, uint24 length, body). */
export function helloMessage(f: HelloFields = {}): Uint8Array {
  const suites = f.cipherSuites ?? [0x1301, 0x1302]
  const body = cat(
    be(f.legacyVersion ?? 0x0303, 2),
    f.random ?? new Uint8Array(32).fill(0xaa),
    vec(1, f.legacySessionId ?? new Uint8Array(0)),
    vec(2, cat(...suites.map((s) => be(s, 2)))),
    vec(1, f.compressionMethods ?? new Uint8Array([0])),
    f.extensions === undefined ? new Uint8Array(0) : vec(2, cat(...f.extensions.map(([t, d]) => ext(t, d)))),
  )
  return handshake(1, body)
}

/** Splits a handshake message into handshake records of at most `fragment` bytes. */
export function records(message: Uint8Array, fragment = 16384, version = 0x0301): Uint8Array {
  const parts: Uint8Array[] = []
  for (let p = 0; p < message.length; p += fragment) {
    const f = message.subarray(p, Math.min(message.length, p + fragment))
    parts.push(cat(be(22, 1), be(version, 2), be(f.length, 2), f))
  }
  return cat(...parts)
}

/** Re-encodes a decoded hello as one handshake message, with `changes` applied to extensions. */
export function reencode(
  hello: ClientHello,
  changes: { readonly add?: readonly (readonly [number, Uint8Array])[]; readonly remove?: readonly number[] } = {},
): Uint8Array {
  const exts: [number, Uint8Array][] = hello.extensionOrder
    .filter((t) => !(changes.remove ?? []).includes(t))
    .map((t) => [t, hello.extensions.get(t)!])
  // Keep key_share/pre_shared_key positions sane: insert new ones before the last extension.
  const add = changes.add ?? []
  exts.splice(Math.max(0, exts.length - 1), 0, ...add.map(([t, d]) => [t, d] as [number, Uint8Array]))
  return helloMessage({
    legacyVersion: hello.legacyVersion,
    random: hello.random,
    legacySessionId: hello.legacySessionId,
    cipherSuites: hello.cipherSuites,
    compressionMethods: hello.compressionMethods,
    extensions: exts,
  })
}
