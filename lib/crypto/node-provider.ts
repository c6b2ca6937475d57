/**
 * The default crypto provider, on `node:crypto` (OpenSSL). Public keys are cached per certificate
 * because `crypto.createPublicKey` / `X509Certificate` parsing costs far more than one ECDSA verify
 * (measured ≈ 170 µs, see notes/node20-feasibility §4).
 */
import {
  type Hash,
  KeyObject,
  X509Certificate,
  type SignKeyObjectInput,
  constants,
  createHash,
  createHmac,
  hash as oneShotHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
} from 'node:crypto'
import { DecodeError, UnsupportedError, UsageError } from '../errors.js'
import { decodeMlDsaPkcs8, isMlDsaSpki } from './ml-dsa.js'
import {
  ML_DSA_SCHEMES,
  TLS13_SCHEMES,
  schemeInfo,
  schemeMatchesKey,
  schemeName,
  schemesForKey,
} from '../wire/tls/signature-scheme.js'
import type { Curve, HashName, KeyType, SchemeInfo } from '../wire/tls/signature-scheme.js'
import type { CryptoProvider, PublicKeyInfo, RunningHash, SigningKey } from './provider.js'

/** Options of {@link createNodeProvider}. */
export interface NodeProviderOptions {
  /**
   * How many certificates' public keys to keep (least recently used are dropped first).
   * Default 256; 0 disables the cache.
   */
  readonly cacheSize?: number
  /**
   * Whether to sign and verify ML-DSA (0x0904–0x0906) with OpenSSL. Default: where the running
   * Node has it (OpenSSL ≥ 3.5, Node ≥ 24.6), found by trying it once ({@link opensslMlDsa}).
   * `false` leaves ML-DSA to another provider even there.
   */
  readonly mlDsa?: boolean
}

interface CachedKey {
  readonly key: KeyObject
  readonly info: PublicKeyInfo
}

const CURVES: Readonly<Record<string, Curve>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
}

const HASH_NAMES: Readonly<Record<string, HashName>> = {
  sha256: 'sha256',
  'sha-256': 'sha256',
  sha384: 'sha384',
  'sha-384': 'sha384',
  sha512: 'sha512',
  'sha-512': 'sha512',
}

/** Key objects behind the SigningKeys this module handed out (the public shape stays plain). */
const PRIVATE_KEYS = new WeakMap<SigningKey, KeyObject>()

/** Key type and curve of a node KeyObject, or UnsupportedError. */
function describeKey(key: KeyObject): PublicKeyInfo {
  const t = key.asymmetricKeyType
  switch (t) {
    case 'ec': {
      const named = key.asymmetricKeyDetails?.namedCurve
      const curve = named === undefined ? undefined : CURVES[named]
      if (curve === undefined) throw new UnsupportedError(`unsupported EC curve ${named ?? '?'}`)
      return { keyType: 'ec', curve }
    }
    case 'ed25519':
    case 'ed448':
    case 'rsa':
    case 'rsa-pss':
      return { keyType: t }
    default:
      // Node ≥ 24.6 names ML-DSA keys as the scheme table does (types for Node 20 lack them).
      {
        const name = t as string | undefined
        if (name === 'ml-dsa-44' || name === 'ml-dsa-65' || name === 'ml-dsa-87') return { keyType: name }
      }
      throw new UnsupportedError(`unsupported key type ${t ?? '?'}`)
  }
}

/**
 * Schemes a key can sign with. An RSASSA-PSS key may carry restrictions (RFC 4055 §3.1): a fixed
 * hash and a minimum salt length; OpenSSL enforces them, so only offer schemes that fit.
 */
function keySchemes(key: KeyObject, info: PublicKeyInfo): number[] {
  const all = schemesForKey(info.keyType, info.curve)
  if (info.keyType !== 'rsa-pss') return all
  const d = key.asymmetricKeyDetails
  const hash = d?.hashAlgorithm === undefined ? undefined : HASH_NAMES[d.hashAlgorithm.toLowerCase()]
  const minSalt = d?.saltLength ?? 0
  return all.filter((code) => {
    const s = schemeInfo(code)
    if (!s) return false
    if (d?.hashAlgorithm !== undefined && s.hash !== hash) return false
    return (s.saltLength ?? 0) >= minSalt
  })
}

/**
 * A Buffer over the same memory as `b`, cached per `b`: digestInto's targets are the long-lived
 * transcript, pad and content buffers of the RFC 9261 hot path.
 */
const VIEWS = new WeakMap<Uint8Array, Buffer>()
function bufferView(b: Uint8Array): Buffer {
  if (Buffer.isBuffer(b)) return b
  let v = VIEWS.get(b)
  if (v === undefined) {
    v = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    VIEWS.set(b, v)
  }
  return v
}

/**
 * Buffer's latin1 encoder, callable on any Uint8Array (`(string, offset, length)`, bounds checked
 * by node). Not in Node's documentation, so used only when present; it skips the argument
 * handling of `Buffer#write` (≈ 0.3 µs and ≈ 120 bytes of garbage per digest on Node 20).
 */
const LATIN1_WRITE = (Buffer.prototype as unknown as {
  latin1Write?: (this: Uint8Array, s: string, offset: number, length: number) => number
}).latin1Write

/** Writes a digest held as a 'binary' (latin1) string into `out` at `offset`. */
function writeBinary(out: Uint8Array, offset: number, s: string): void {
  if (offset < 0 || offset + s.length > out.length) throw new RangeError('digest does not fit the output buffer')
  if (LATIN1_WRITE !== undefined) LATIN1_WRITE.call(out, s, offset, s.length)
  else bufferView(out).write(s, offset, 'binary')
}

/** RunningHash over a node Hash; `peekInto` digests a copy (Hash.copy, Node >= 13.1). */
class NodeRunningHash implements RunningHash {
  private readonly h: Hash
  constructor(h: Hash) {
    this.h = h
  }
  update(data: Uint8Array): void {
    this.h.update(data)
  }
  peekInto(out: Uint8Array, offset: number): void {
    writeBinary(out, offset, this.h.copy().digest('binary'))
  }
  finishInto(out: Uint8Array, offset: number): void {
    writeBinary(out, offset, this.h.digest('binary'))
  }
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

/** Signature options for node's sign/verify; TLS 1.3 forms (RFC 8446 §4.2.3). */
function signOptions(
  s: SchemeInfo,
  key: KeyObject,
): { algorithm: string | null; key: KeyObject | SignKeyObjectInput } {
  switch (s.keyType) {
    case 'ec':
      // RFC 8446 §4.2.3: ECDSA signatures are DER-encoded ECDSA-Sig-Value, which is node's
      // default dsaEncoding; passing the KeyObject itself skips node's option parsing.
      return { algorithm: s.hash, key }
    case 'ed25519':
    case 'ed448':
    case 'ml-dsa-44':
    case 'ml-dsa-65':
    case 'ml-dsa-87':
      // RFC 8032 PureEdDSA / FIPS 204 pure ML-DSA with an empty context (draft-ietf-tls-mldsa):
      // the content is signed as is, which is what node does with a null algorithm.
      return { algorithm: null, key }
    case 'rsa':
    case 'rsa-pss':
      // RFC 8446 §4.2.3: "The length of the Salt MUST be equal to the length of the output of the
      // digest algorithm." Fixed on both sides, never RSA_PSS_SALTLEN_AUTO.
      return {
        algorithm: s.hash,
        key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.saltLength },
      }
  }
}

type SignOptions = ReturnType<typeof signOptions>

/**
 * signOptions per key object and scheme, made once: sign and verify run per authenticator, and
 * an options object per call is garbage (and, for RSA-PSS, parsed by node each time).
 */
const OPTIONS = new WeakMap<KeyObject, Map<number, SignOptions>>()
function cachedOptions(s: SchemeInfo, key: KeyObject): SignOptions {
  let byScheme = OPTIONS.get(key)
  if (byScheme === undefined) OPTIONS.set(key, (byScheme = new Map()))
  let o = byScheme.get(s.code)
  if (o === undefined) byScheme.set(s.code, (o = signOptions(s, key)))
  return o
}

let mlDsaProbe: boolean | undefined

/**
 * Whether this process's `node:crypto` signs and verifies ML-DSA-44/65/87 (OpenSSL ≥ 3.5, which
 * Node bundles from 24.6). Found once, by generating a key of each set and checking a signature:
 * feature detection, not a version check, so a Node built against another OpenSSL is judged by
 * what it does.
 * @returns true when all three parameter sets work
 */
export function opensslMlDsa(): boolean {
  if (mlDsaProbe !== undefined) return mlDsaProbe
  try {
    const data = Buffer.from('ml-dsa probe')
    mlDsaProbe = (['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const).every((name) => {
      // @types/node 20 does not list the ML-DSA key types; the call fails on Node < 24.6.
      const gen = generateKeyPairSync as unknown as (t: string) => { publicKey: KeyObject; privateKey: KeyObject }
      const { publicKey, privateKey } = gen(name)
      return nodeVerify(null, data, publicKey, nodeSign(null, data, privateKey))
    })
  } catch {
    mlDsaProbe = false
  }
  return mlDsaProbe
}

/**
 * Creates a provider on `node:crypto` with its own public-key cache.
 *
 * The cache maps the SHA-256 of a certificate's DER bytes to its parsed public `KeyObject` and
 * key description, so equal certificates in different buffers share an entry. It holds at most
 * `cacheSize` entries (default 256) and evicts the least recently used one.
 *
 * @param options - cache size.
 * @returns a {@link CryptoProvider} named `'node'`.
 */
export function createNodeProvider(options: NodeProviderOptions = {}): CryptoProvider {
  const cacheSize = Math.max(0, options.cacheSize ?? 256)
  const cache = new Map<string, CachedKey>()
  const withMlDsa = options.mlDsa ?? opensslMlDsa()
  const schemes = withMlDsa ? TLS13_SCHEMES : Object.freeze(TLS13_SCHEMES.filter((c) => !ML_DSA_SCHEMES.includes(c)))

  // The last certificate looked up, as a private copy: validation asks for the same leaf twice in
  // a row (key type, then verify), and a byte comparison is far cheaper than hashing it again.
  let lastDer: Buffer | undefined
  let lastEntry: CachedKey | undefined

  function certKey(certDer: Uint8Array): CachedKey {
    if (lastEntry && lastDer && lastDer.length === certDer.length && lastDer.equals(certDer)) return lastEntry
    const entry = lookup(certDer)
    if (cacheSize > 0) {
      lastDer = Buffer.from(certDer)
      lastEntry = entry
    }
    return entry
  }

  function lookup(certDer: Uint8Array): CachedKey {
    const id = cacheSize > 0 ? createHash('sha256').update(certDer).digest('base64') : ''
    const hit = cacheSize > 0 ? cache.get(id) : undefined
    if (hit) {
      // Refresh its position: Map iterates in insertion order, so the first entry is the LRU.
      cache.delete(id)
      cache.set(id, hit)
      return hit
    }
    // X509Certificate also accepts PEM text; we take DER only (RFC 8446 §4.4.2 cert_data).
    if (certDer.length === 0 || certDer[0] !== 0x30) {
      throw new DecodeError('Certificate', 0, 'not a DER X.509 certificate')
    }
    let key: KeyObject
    let x509: X509Certificate
    try {
      x509 = new X509Certificate(toBuffer(certDer))
    } catch (e) {
      throw new DecodeError('Certificate', 0, 'not a DER X.509 certificate', { cause: e })
    }
    try {
      // The publicKey getter parses the SPKI; an invalid EC point fails here.
      key = x509.publicKey
    } catch (e) {
      // OpenSSL < 3.5 parses an ML-DSA certificate but has no key type for it: say so, so that
      // a combined provider can hand the certificate to one that can (see default-provider.ts).
      if (isMlDsaSpki(spkiOfCertificate(x509))) {
        throw new UnsupportedError('this OpenSSL has no ML-DSA (Node >= 24.6 needed)', { cause: e })
      }
      throw new DecodeError('Certificate', 0, 'not a DER X.509 certificate', { cause: e })
    }
    const entry: CachedKey = { key, info: describeKey(key) }
    if (!withMlDsa && isMlDsaKeyType(entry.info.keyType)) {
      throw new UnsupportedError('ML-DSA is disabled in this node provider')
    }
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
      cache.set(id, entry)
    }
    return entry
  }

  const provider: CryptoProvider = {
    name: 'node',
    schemes,

    digest(hash: HashName, data: Uint8Array): Uint8Array {
      // One-shot: no Hash object for the garbage collector (Node >= 20.12, our engines say 20.19).
      return oneShotHash(hash, data, 'buffer')
    },

    digestInto(hash: HashName, data: Uint8Array, out: Uint8Array, offset: number): void {
      // The digest as a 'binary' (latin1) string, one byte per char on the V8 heap, written into `out`
      // costs ~1.5 µs less than a digest Buffer, whose backing store the GC must track.
      writeBinary(out, offset, oneShotHash(hash, data, 'binary'))
    },

    runningHash(hash: HashName): RunningHash {
      return new NodeRunningHash(createHash(hash))
    },

    digestParts(hash: HashName, parts: readonly Uint8Array[]): Uint8Array {
      const h = createHash(hash)
      for (const p of parts) h.update(p)
      return h.digest()
    },

    hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
      return createHmac(hash, key).update(data).digest()
    },

    equal(a: Uint8Array, b: Uint8Array): boolean {
      return a.length === b.length && timingSafeEqual(a, b)
    },

    randomBytes(n: number): Uint8Array {
      return nodeRandomBytes(n)
    },

    publicKeyInfo(certDer: Uint8Array): PublicKeyInfo {
      return certKey(certDer).info
    },

    verify(scheme: number, certDer: Uint8Array, content: Uint8Array, signature: Uint8Array): boolean {
      const s = schemeInfo(scheme)
      if (!s) throw new UnsupportedError(`${schemeName(scheme)} is not a TLS 1.3 signature scheme`)
      if (!withMlDsa && isMlDsaKeyType(s.keyType)) {
        throw new UnsupportedError(`this node provider cannot verify ${schemeName(scheme)}`)
      }
      const { key, info } = certKey(certDer)
      // Guard even though callers check: an RSA key under an ECDSA scheme would otherwise be
      // verified with PKCS#1 v1.5 padding, which RFC 9261 §5.2.2 forbids.
      if (!schemeMatchesKey(scheme, info.keyType, info.curve)) return false
      const o = cachedOptions(s, key)
      try {
        return nodeVerify(o.algorithm, content, o.key, signature)
      } catch {
        return false
      }
    },

    importPrivateKey(input: string | Uint8Array): SigningKey {
      let key: KeyObject
      try {
        key =
          typeof input === 'string'
            ? createPrivateKey(input)
            : createPrivateKey({ key: toBuffer(input), format: 'der', type: 'pkcs8' })
      } catch (e) {
        if (isMlDsaPkcs8Input(input)) {
          throw new UnsupportedError('this OpenSSL has no ML-DSA (Node >= 24.6 needed)', { cause: e })
        }
        throw new DecodeError('PrivateKey', 0, 'not a PKCS#8, SEC1 or PKCS#1 private key', {
          cause: e,
        })
      }
      const info = describeKey(key)
      if (!withMlDsa && isMlDsaKeyType(info.keyType)) {
        throw new UnsupportedError('ML-DSA is disabled in this node provider')
      }
      const base = { provider: 'node', keyType: info.keyType, schemes: keySchemes(key, info) }
      const signing: SigningKey = Object.freeze(
        info.curve === undefined ? base : { ...base, curve: info.curve },
      )
      PRIVATE_KEYS.set(signing, key)
      return signing
    },

    sign(scheme: number, key: SigningKey, content: Uint8Array): Uint8Array {
      const s = schemeInfo(scheme)
      if (!s) throw new UsageError(`${schemeName(scheme)} is not a TLS 1.3 signature scheme`)
      const keyObject = PRIVATE_KEYS.get(key)
      if (!keyObject) throw new UsageError('signing key was not imported by the node provider')
      // key.schemes also reflects RSASSA-PSS parameter restrictions (see keySchemes).
      if (!schemeMatchesKey(scheme, key.keyType, key.curve) || !key.schemes.includes(scheme)) {
        throw new UsageError(`${schemeName(scheme)} does not match a ${keyLabel(key)} key`)
      }
      const o = cachedOptions(s, keyObject)
      return nodeSign(o.algorithm, content, o.key)
    },
  }
  return Object.freeze(provider)
}

function isMlDsaKeyType(t: KeyType): boolean {
  return t === 'ml-dsa-44' || t === 'ml-dsa-65' || t === 'ml-dsa-87'
}

/** The SubjectPublicKeyInfo DER of a parsed certificate, from its own DER (no key parsing). */
function spkiOfCertificate(x509: X509Certificate): Uint8Array {
  // Certificate → tbsCertificate → [version], serial, signature, issuer, validity, subject, spki.
  const d = x509.raw
  const seq = (at: number): { start: number; end: number; next: number } => {
    let len = d[at + 1] as number
    let start = at + 2
    if (len & 0x80) {
      const n = len & 0x7f
      len = 0
      for (let i = 0; i < n; i++) len = len * 256 + (d[start + i] as number)
      start += n
    }
    return { start, end: start + len, next: start + len }
  }
  const tbs = seq(seq(0).start)
  let at = tbs.start
  if (d[at] === 0xa0) at = seq(at).next
  for (let i = 0; i < 5; i++) at = seq(at).next
  const spki = seq(at)
  return new Uint8Array(d.subarray(at, spki.end))
}

/** True when a private key input (PEM or PKCS#8 DER) holds an RFC 9881 ML-DSA key. */
function isMlDsaPkcs8Input(input: string | Uint8Array): boolean {
  try {
    let der: Uint8Array
    if (typeof input === 'string') {
      const m = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(input)
      if (!m) return false
      der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'))
    } else der = input
    return decodeMlDsaPkcs8(der) !== undefined
  } catch {
    return false
  }
}

function keyLabel(k: { keyType: KeyType; curve?: Curve }): string {
  return k.curve ? `${k.keyType} ${k.curve}` : k.keyType
}

/**
 * The default provider: `node:crypto`, every TLS 1.3 scheme, a 256-certificate key cache.
 *
 * `verify` returns false for a bad or malformed signature and for a key that does not fit the
 * scheme; it throws `UnsupportedError` (`ERR_SC_UNSUPPORTED`) for a scheme that is not a TLS 1.3
 * one, and `DecodeError` (`ERR_SC_DECODE`) when `certDer` is not a certificate. `sign` throws
 * `UsageError` (`ERR_SC_USAGE`) when the scheme is not TLS 1.3 or does not fit the key.
 */
export const nodeCrypto: CryptoProvider = createNodeProvider()
