import type { CryptoProvider, RunningHash } from '../crypto/provider.js'
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

// ---------------------------------------------------------------------------------------------
// Hot path (issue 14 item 4). The functions above build each transcript from parts; the ones
// below let authenticate/validate write Handshake Context || request || Certificate ||
// CertificateVerify once into a reused buffer and hash prefixes of it with one-shot digests, and
// compute the Finished HMAC from cached RFC 2104 pads. Same bytes, fewer objects per operation
// (the differential spec spec/ea/hot-path.spec.ts holds both paths to identical output).

/** HMAC block size of the authenticator hashes (RFC 2104 "B"; FIPS 180-4). */
function blockSize(hash: AuthenticatorHash): number {
  return hash === 'sha384' ? 128 : 64
}

/**
 * RFC 2104 §2 with the key already shorter than B: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) ||
 * m)). `inner` and `outer` hold the padded key followed by room for one hash output, so each
 * HMAC is two one-shot digests over buffers built once per key.
 */
interface MacPads {
  readonly inner: Uint8Array
  readonly outer: Uint8Array
  readonly block: number
}

const PADS = new WeakMap<AuthenticatorKeys, MacPads>()

function padsOf(keys: AuthenticatorKeys): MacPads {
  let p = PADS.get(keys)
  if (p === undefined) {
    const block = blockSize(keys.hash)
    // The Finished MAC Key is Hash.length bytes (RFC 9261 §5.1), always shorter than the block.
    const inner = new Uint8Array(block + keys.length).fill(0x36, 0, block)
    const outer = new Uint8Array(block + keys.length).fill(0x5c, 0, block)
    for (let i = 0; i < keys.fk.length; i++) {
      inner[i] = inner[i]! ^ keys.fk[i]!
      outer[i] = outer[i]! ^ keys.fk[i]!
    }
    p = { inner, outer, block }
    PADS.set(keys, p)
  }
  return p
}

/** `provider.digestInto` when the provider has it, else `digest` and a copy. */
function digestTo(provider: CryptoProvider, hash: AuthenticatorHash, data: Uint8Array, out: Uint8Array, offset: number): void {
  if (provider.digestInto !== undefined) provider.digestInto(hash, data, out, offset)
  else out.set(provider.digest(hash, data), offset)
}

/**
 * Finished verify_data (RFC 9261 §5.2.3) of a whole transcript: `HMAC(FK, H(transcript))`
 * written into `out` at `offset`, with three digests and no allocation.
 */
export function finishedMacInto(
  provider: CryptoProvider,
  keys: AuthenticatorKeys,
  transcript: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  const p = padsOf(keys)
  digestTo(provider, keys.hash, transcript, p.inner, p.block)
  digestTo(provider, keys.hash, p.inner, p.outer, p.block)
  digestTo(provider, keys.hash, p.outer, out, offset)
  wipePads(p)
}

/** Leaves no transcript-derived bytes behind in the long-lived pad buffers. */
function wipePads(p: MacPads): void {
  p.inner.fill(0, p.block)
  p.outer.fill(0, p.block)
}

/**
 * A Finished MAC buffer per hash length (valid until the next use). Not wiped: a Finished value
 * is sent to the peer, it is no secret.
 */
const MAC: Record<32 | 48, Uint8Array> = { 32: new Uint8Array(32), 48: new Uint8Array(48) }

/** The shared MAC buffer of length `L` (valid until the next call). */
export function macScratch(L: 32 | 48): Uint8Array {
  return MAC[L]
}

/** The signed-content buffers (RFC 9261 §5.2.2), one per hash length, prefix filled in once. */
const CONTENT: Record<32 | 48, Uint8Array> = {
  32: new Uint8Array(SIGNED_PREFIX.length + 32),
  48: new Uint8Array(SIGNED_PREFIX.length + 48),
}
CONTENT[32].set(SIGNED_PREFIX)
CONTENT[48].set(SIGNED_PREFIX)

/**
 * A reusable transcript buffer. `buf` grows and is never shrunk; callers write the messages at
 * increasing offsets and hash prefixes. One module-wide instance serves every connection, since
 * authenticate and validate are synchronous; a nested use (a provider calling back into us) gets
 * a fresh one.
 */
export class TranscriptScratch {
  buf: Uint8Array = new Uint8Array(4096)
  busy = false
  private hashes: TranscriptHashes | undefined

  /**
   * The scratch's TranscriptHashes, reset for this transcript: one object per scratch instead of
   * one per authenticate or validate call. Valid while the scratch is held.
   */
  hashesFor(provider: CryptoProvider, keys: AuthenticatorKeys): TranscriptHashes {
    return this.hashes === undefined ? (this.hashes = new TranscriptHashes(provider, keys)) : this.hashes.reset(provider, keys)
  }

  /** Drops a running hash left by a call that stopped between the two hashes. */
  clearHashes(): void {
    this.hashes?.drop()
  }

  /** Makes room for `n` bytes, keeping the first `keep`. */
  ensure(n: number, keep: number): Uint8Array {
    if (n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(n, this.buf.length * 2))
      bigger.set(this.buf.subarray(0, keep))
      this.buf.fill(0)
      this.buf = bigger
    }
    return this.buf
  }
}

/**
 * Prefix length from which a provider's running hash is used. Below it, two one-shot digests over
 * the prefixes avoid a Hash object and its copy for the garbage collector. Measured on Node 20
 * with SHA-384 (bench ea, three runs each): the RSA-PSS chain's 1.9 KB prefix validated at 1.67–1.84×
 * bare verify with the running hash and 1.84–1.98× with two one-shot digests. For the ≈ 1.2 KB
 * prefixes of P-256 and Ed25519 chains the difference was below the machine's noise, so they stay
 * one-shot. In isolation the running hash costs half as much at 20 KB (ML-DSA chains).
 */
export const RUNNING_HASH_MIN_BYTES = 1536

/**
 * The two hashes of one authenticator (RFC 9261 §5.2.2, §5.2.3) over a transcript buffer `t`
 * holding Handshake Context || request || Certificate || CertificateVerify: `signedContent`
 * hashes `t[0..cut)`, `finishedMac` all of `t[0..end)`. Short prefixes are hashed twice in one
 * shot; long ones once, through the provider's running hash when it has one.
 */
export class TranscriptHashes {
  private provider: CryptoProvider
  private keys: AuthenticatorKeys
  private running: RunningHash | undefined
  private cut = 0

  constructor(provider: CryptoProvider, keys: AuthenticatorKeys) {
    this.provider = provider
    this.keys = keys
  }

  /** Starts over for another transcript (the scratch's instance is reused, see hashesFor). */
  reset(provider: CryptoProvider, keys: AuthenticatorKeys): this {
    this.provider = provider
    this.keys = keys
    this.running = undefined
    this.cut = 0
    return this
  }

  /** Forgets the running hash (it holds state derived from the Handshake Context). */
  drop(): void {
    this.running = undefined
  }

  /**
   * `0x20 * 64 || "Exported Authenticator" || 0x00 || H(t[0..cut))` in a shared buffer, valid
   * until the next call (sign and verify consume it synchronously).
   */
  signedContent(t: Uint8Array, cut: number): Uint8Array {
    const out = CONTENT[this.keys.length]
    if (cut >= RUNNING_HASH_MIN_BYTES && this.provider.runningHash !== undefined) {
      const r = this.provider.runningHash(this.keys.hash)
      r.update(sliceView(t, 0, cut))
      r.peekInto(out, SIGNED_PREFIX.length)
      this.running = r
      this.cut = cut
    } else {
      digestTo(this.provider, this.keys.hash, sliceView(t, 0, cut), out, SIGNED_PREFIX.length)
    }
    return out
  }

  /** Finished verify_data `HMAC(FK, H(t[0..end)))` written into `out` at `offset`. */
  finishedMac(t: Uint8Array, end: number, out: Uint8Array, offset: number): void {
    const r = this.running
    if (r === undefined) {
      finishedMacInto(this.provider, this.keys, sliceView(t, 0, end), out, offset)
      return
    }
    this.running = undefined
    const p = padsOf(this.keys)
    r.update(sliceView(t, this.cut, end))
    r.finishInto(p.inner, p.block)
    digestTo(this.provider, this.keys.hash, p.inner, p.outer, p.block)
    digestTo(this.provider, this.keys.hash, p.outer, out, offset)
    wipePads(p)
  }
}

/**
 * Views `t[start..end)` of a transcript buffer, kept per (start, end): a connection's
 * authenticators repeat a few transcript layouts, and a cached view saves a typed-array object
 * (≈ 100 bytes of garbage) per hash, signature or Finished read. Cleared when another buffer is
 * viewed (the shared one grew, or a nested call's own scratch) and when 32 views are held. The
 * bytes behind a view are whatever the buffer holds now: read them before the buffer is reused.
 */
const MAX_VIEWS = 32
const VIEW_START = new Int32Array(MAX_VIEWS)
const VIEW_END = new Int32Array(MAX_VIEWS)
const VIEWS: Uint8Array[] = []
let viewsOf: Uint8Array | undefined

export function sliceView(t: Uint8Array, start: number, end: number): Uint8Array {
  if (t !== viewsOf) {
    VIEWS.length = 0
    viewsOf = t
  }
  // A linear search over int32 pairs: a numeric Map key above 2^31 would be a heap number per
  // call (start * 2^24 + end), and a few layouts repeat, so the list is short.
  const n = VIEWS.length
  for (let i = 0; i < n; i++) if (VIEW_START[i] === start && VIEW_END[i] === end) return VIEWS[i]!
  const v = t.subarray(start, end)
  if (n >= MAX_VIEWS) {
    VIEWS.length = 0
  }
  const at = VIEWS.length
  VIEW_START[at] = start
  VIEW_END[at] = end
  VIEWS.push(v)
  return v
}

const SHARED = new TranscriptScratch()

export function acquireScratch(): TranscriptScratch {
  if (SHARED.busy) return new TranscriptScratch()
  SHARED.busy = true
  return SHARED
}

/** Releases the scratch, wiping the Handshake Context (a secret) written at its start. */
export function releaseScratch(s: TranscriptScratch, hcLength: 32 | 48): void {
  s.buf.fill(0, 0, hcLength)
  CONTENT[hcLength].fill(0, SIGNED_PREFIX.length)
  s.clearHashes()
  s.busy = false
}
