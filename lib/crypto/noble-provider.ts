/**
 * A pure-JS crypto provider on `@noble/curves` and `@noble/hashes` (v2). It exists to cross-check
 * the `node:crypto` provider and for runtimes without OpenSSL; it is 10–40× slower
 * (notes/node20-feasibility §4). Certificates are parsed with `@peculiar/x509`, key structures
 * (SubjectPublicKeyInfo, PKCS#8, SEC1) with the small DER reader below; no `node:crypto`.
 *
 * RSA is not available in noble: `schemes` lists ECDSA P-256/P-384/P-521, Ed25519, Ed448 and
 * ML-DSA-44/65/87 (FIPS 204 on `@noble/post-quantum`, RFC 9881 keys; see `ml-dsa.ts`).
 */
import 'reflect-metadata'
import { X509Certificate as PeculiarCertificate } from '@peculiar/x509'
import { ed25519 } from '@noble/curves/ed25519.js'
import { ed448 } from '@noble/curves/ed448.js'
import { p256, p384, p521 } from '@noble/curves/nist.js'
import { hmac as nobleHmac } from '@noble/hashes/hmac.js'
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js'
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js'
import { DecodeError, UnsupportedError, UsageError } from '../errors.js'
import { decodeMlDsaPkcs8, decodeMlDsaSpki, mlDsaByOidHex, mlDsaParams, mlDsaSign, mlDsaVerify } from './ml-dsa.js'
import { schemeInfo, schemeMatchesKey, schemeName } from '../wire/tls/signature-scheme.js'
import type { Curve, HashName, KeyType } from '../wire/tls/signature-scheme.js'
import type { CryptoProvider, PublicKeyInfo, SigningKey } from './provider.js'

/** Schemes the noble provider signs and verifies, in our preference order. */
const NOBLE_SCHEMES: readonly number[] = Object.freeze([
  0x0807, 0x0403, 0x0503, 0x0603, 0x0808, 0x0904, 0x0905, 0x0906,
])

const HASHES = { sha256, sha384, sha512 } as const

const EC = { 'P-256': p256, 'P-384': p384, 'P-521': p521 } as const
/** Private scalar length in bytes (SEC1 §2.3.7 pads it to ceil(log2(n)/8)). */
const EC_SCALAR_BYTES: Readonly<Record<Curve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }
const ED_KEY_BYTES = { ed25519: 32, ed448: 57 } as const

// Content octets of the OBJECT IDENTIFIERs we recognise, in hex.
const OID = {
  ecPublicKey: '2a8648ce3d0201', // 1.2.840.10045.2.1 (RFC 5480 §2.1.1)
  prime256v1: '2a8648ce3d030107', // 1.2.840.10045.3.1.7
  secp384r1: '2b81040022', // 1.3.132.0.34
  secp521r1: '2b81040023', // 1.3.132.0.35
  ed25519: '2b6570', // 1.3.101.112 (RFC 8410 §3)
  ed448: '2b6571', // 1.3.101.113
  rsaEncryption: '2a864886f70d010101', // 1.2.840.113549.1.1.1 (RFC 8017 App. C)
  rsassaPss: '2a864886f70d01010a', // 1.2.840.113549.1.1.10 (RFC 4055 §3.1)
} as const

const CURVE_BY_OID: Readonly<Record<string, Curve>> = {
  [OID.prime256v1]: 'P-256',
  [OID.secp384r1]: 'P-384',
  [OID.secp521r1]: 'P-521',
}

// ---------------------------------------------------------------------------------------------
// Minimal DER reader (X.690 §8, §10): single-byte tags, definite lengths only.

interface Tlv {
  readonly tag: number
  /** Offset of the first content octet. */
  readonly start: number
  /** Offset just past the last content octet. */
  readonly end: number
}

function readTlv(b: Uint8Array, pos: number, limit: number, structure: string): Tlv {
  if (pos + 2 > limit) throw new DecodeError(structure, pos, 'truncated DER element')
  const tag = b[pos] as number
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(structure, pos, 'multi-byte DER tag')
  let len = b[pos + 1] as number
  let start = pos + 2
  if (len & 0x80) {
    const n = len & 0x7f
    // X.690 §10.1: DER uses the definite form; 0x80 (indefinite) is BER only.
    if (n === 0 || n > 4) throw new DecodeError(structure, pos + 1, 'bad DER length')
    if (start + n > limit) throw new DecodeError(structure, pos + 1, 'truncated DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] as number)
    start += n
  }
  if (start + len > limit) throw new DecodeError(structure, pos, 'DER element overruns its parent')
  return { tag, start, end: start + len }
}

/** Reads the children of a constructed element. */
function children(b: Uint8Array, parent: Tlv, structure: string): Tlv[] {
  const out: Tlv[] = []
  let pos = parent.start
  while (pos < parent.end) {
    const t = readTlv(b, pos, parent.end, structure)
    out.push(t)
    pos = t.end
  }
  return out
}

/** Reads one whole element that must span `b` exactly. */
function readOuter(b: Uint8Array, tag: number, structure: string): Tlv {
  const t = readTlv(b, 0, b.length, structure)
  if (t.tag !== tag) throw new DecodeError(structure, 0, `expected DER tag 0x${tag.toString(16)}`)
  if (t.end !== b.length) throw new DecodeError(structure, t.end, 'trailing bytes after DER')
  return t
}

function expect(t: Tlv | undefined, tag: number, structure: string, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DecodeError(structure, t?.start ?? 0, `expected ${what}`)
  return t
}

function hex(b: Uint8Array, t: Tlv): string {
  let s = ''
  for (let i = t.start; i < t.end; i++) s += (b[i] as number).toString(16).padStart(2, '0')
  return s
}

/** BIT STRING content without the unused-bits octet (which must be 0 for keys). */
function bitString(b: Uint8Array, t: Tlv, structure: string): Uint8Array {
  if (t.end <= t.start || b[t.start] !== 0) {
    throw new DecodeError(structure, t.start, 'bad BIT STRING')
  }
  return b.slice(t.start + 1, t.end)
}

// ---------------------------------------------------------------------------------------------
// Key structures.

interface ParsedPublicKey {
  readonly info: PublicKeyInfo
  /** SEC1 point (EC), raw key (EdDSA); empty for RSA, which this provider cannot use. */
  readonly key: Uint8Array
}

/**
 * RFC 5280 §4.1.2.7:
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 */
function parseSpki(b: Uint8Array): ParsedPublicKey {
  const S = 'SubjectPublicKeyInfo'
  const [algId, bits, extra] = children(b, readOuter(b, 0x30, S), S)
  if (extra) throw new DecodeError(S, extra.start, 'unexpected element')
  const [alg, params] = children(b, expect(algId, 0x30, S, 'AlgorithmIdentifier'), S)
  const oid = hex(b, expect(alg, 0x06, S, 'algorithm OID'))
  const key = bitString(b, expect(bits, 0x03, S, 'subjectPublicKey'), S)
  switch (oid) {
    case OID.ecPublicKey: {
      // RFC 5480 §2.1.1: parameters is namedCurve here (implicitCurve/specifiedCurve refused).
      const curveOid = params && params.tag === 0x06 ? hex(b, params) : ''
      const curve = CURVE_BY_OID[curveOid]
      if (!curve) throw new UnsupportedError('unsupported EC curve')
      if (!EC[curve].utils.isValidPublicKey(key)) {
        throw new DecodeError(S, bits?.start ?? 0, 'invalid EC point')
      }
      return { info: { keyType: 'ec', curve }, key }
    }
    case OID.ed25519:
    case OID.ed448: {
      // RFC 8410 §3: parameters MUST be absent.
      const keyType = oid === OID.ed25519 ? 'ed25519' : 'ed448'
      if (params) throw new DecodeError(S, params.start, 'EdDSA parameters must be absent')
      if (key.length !== ED_KEY_BYTES[keyType]) throw new DecodeError(S, 0, 'bad EdDSA key size')
      return { info: { keyType }, key }
    }
    case OID.rsaEncryption:
      return { info: { keyType: 'rsa' }, key: new Uint8Array(0) }
    case OID.rsassaPss:
      return { info: { keyType: 'rsa-pss' }, key: new Uint8Array(0) }
    default: {
      // RFC 9881 §4: id-ML-DSA-NN, parameters absent, the raw public key in the BIT STRING.
      if (mlDsaByOidHex(oid)) {
        const { params: p, publicKey } = decodeMlDsaSpki(b)
        return { info: { keyType: p.name }, key: publicKey }
      }
      throw new UnsupportedError('unsupported public key algorithm')
    }
  }
}

interface ParsedPrivateKey {
  readonly info: PublicKeyInfo
  /** EC private scalar padded to the curve size, or the EdDSA seed. */
  readonly secret: Uint8Array
}

/**
 * SEC1 (RFC 5915 §3):
 *   ECPrivateKey ::= SEQUENCE { version INTEGER { ecPrivkeyVer1(1) }, privateKey OCTET STRING,
 *     parameters [0] ECParameters OPTIONAL, publicKey [1] BIT STRING OPTIONAL }
 * `curve` comes from the PKCS#8 AlgorithmIdentifier when the key was wrapped in one.
 */
function parseEcPrivateKey(b: Uint8Array, curveFromAlg: Curve | undefined): ParsedPrivateKey {
  const S = 'ECPrivateKey'
  const [version, priv, ...rest] = children(b, readOuter(b, 0x30, S), S)
  const v = expect(version, 0x02, S, 'version')
  if (v.end - v.start !== 1 || b[v.start] !== 1) throw new DecodeError(S, v.start, 'bad version')
  const d = expect(priv, 0x04, S, 'privateKey')
  let curve = curveFromAlg
  for (const t of rest) {
    if (t.tag !== 0xa0) continue
    const [oid] = children(b, t, S)
    const named = CURVE_BY_OID[hex(b, expect(oid, 0x06, S, 'namedCurve'))]
    if (!named) throw new UnsupportedError('unsupported EC curve')
    if (curve && curve !== named) throw new DecodeError(S, t.start, 'curve mismatch')
    curve = named
  }
  if (!curve) throw new DecodeError(S, 0, 'no curve named')
  const size = EC_SCALAR_BYTES[curve]
  const len = d.end - d.start
  if (len === 0 || len > size) throw new DecodeError(S, d.start, 'bad private key size')
  const secret = new Uint8Array(size)
  secret.set(b.subarray(d.start, d.end), size - len)
  if (!EC[curve].utils.isValidSecretKey(secret)) {
    throw new DecodeError(S, d.start, 'private key out of range')
  }
  return { info: { keyType: 'ec', curve }, secret }
}

/**
 * RFC 5208 §5 / RFC 5958 §2:
 *   PrivateKeyInfo ::= SEQUENCE { version INTEGER, privateKeyAlgorithm AlgorithmIdentifier,
 *     privateKey OCTET STRING, attributes [0] IMPLICIT Attributes OPTIONAL, ... }
 */
function parsePkcs8(b: Uint8Array): ParsedPrivateKey {
  const S = 'PrivateKeyInfo'
  // RFC 9881 §6: ML-DSA keys (seed, expandedKey or both); `secret` is the expanded key.
  const ml = decodeMlDsaPkcs8(b)
  if (ml) return { info: { keyType: ml.params.name }, secret: ml.secretKey }
  const [version, algId, priv] = children(b, readOuter(b, 0x30, S), S)
  expect(version, 0x02, S, 'version')
  const [alg, params] = children(b, expect(algId, 0x30, S, 'AlgorithmIdentifier'), S)
  const oid = hex(b, expect(alg, 0x06, S, 'algorithm OID'))
  const p = expect(priv, 0x04, S, 'privateKey')
  const inner = b.subarray(p.start, p.end)
  switch (oid) {
    case OID.ecPublicKey: {
      const curve = params && params.tag === 0x06 ? CURVE_BY_OID[hex(b, params)] : undefined
      if (!curve) throw new UnsupportedError('unsupported EC curve')
      return parseEcPrivateKey(inner, curve)
    }
    case OID.ed25519:
    case OID.ed448: {
      // RFC 8410 §7: privateKey holds CurvePrivateKey ::= OCTET STRING (the seed).
      const keyType = oid === OID.ed25519 ? 'ed25519' : 'ed448'
      const seed = readOuter(inner, 0x04, 'CurvePrivateKey')
      if (seed.end - seed.start !== ED_KEY_BYTES[keyType]) {
        throw new DecodeError('CurvePrivateKey', 0, 'bad EdDSA key size')
      }
      return { info: { keyType }, secret: inner.slice(seed.start, seed.end) }
    }
    case OID.rsaEncryption:
    case OID.rsassaPss:
      throw new UnsupportedError('the noble provider does not support RSA keys')
    default:
      throw new UnsupportedError('unsupported private key algorithm')
  }
}

/**
 * RFC 7468 §2 textual encoding: label and base64 body of the first PEM block that is not
 * `EC PARAMETERS` (which `openssl ecparam -genkey` writes before the key).
 */
function fromPem(pem: string): { label: string; der: Uint8Array } {
  for (const m of pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    const label = m[1] as string
    if (label === 'EC PARAMETERS') continue
    const body = (m[2] as string).replace(/\s+/g, '')
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new DecodeError('PEM', m.index, 'bad base64')
    return { label, der: base64Decode(body) }
  }
  throw new DecodeError('PEM', 0, 'no PEM block')
}

function base64Decode(s: string): Uint8Array {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const clean = s.replace(/=+$/, '')
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (const ch of clean) {
    acc = (acc << 6) | A.indexOf(ch)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out
}

function parsePrivateKey(input: string | Uint8Array): ParsedPrivateKey {
  if (typeof input !== 'string') return parsePkcs8(input)
  const { label, der } = fromPem(input)
  switch (label) {
    case 'PRIVATE KEY':
      return parsePkcs8(der)
    case 'EC PRIVATE KEY':
      return parseEcPrivateKey(der, undefined)
    case 'RSA PRIVATE KEY':
      throw new UnsupportedError('the noble provider does not support RSA keys')
    case 'ENCRYPTED PRIVATE KEY':
      throw new UnsupportedError('encrypted private keys are not supported')
    default:
      throw new DecodeError('PEM', 0, `unexpected PEM label ${label}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Provider.

/** Options of {@link createNobleProvider}. */
export interface NobleProviderOptions {
  /** How many parsed certificate keys to keep (LRU). Default 64; 0 disables the cache. */
  readonly cacheSize?: number
}

const SECRETS = new WeakMap<SigningKey, Uint8Array>()

function keySchemes(info: PublicKeyInfo): number[] {
  return NOBLE_SCHEMES.filter((c) => schemeMatchesKey(c, info.keyType, info.curve))
}

function keyLabel(k: { keyType: KeyType; curve?: Curve }): string {
  return k.curve ? `${k.keyType} ${k.curve}` : k.keyType
}

function toHex(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/**
 * Creates a pure-JS provider (`name: 'noble'`).
 *
 * Certificates' parsed public keys are cached under the hex SHA-256 of their DER bytes (so equal
 * certificates in different buffers share an entry), at most `cacheSize` (default 64), LRU.
 *
 * `verify` throws `UnsupportedError` (`ERR_SC_UNSUPPORTED`) for schemes outside `schemes` (all
 * RSA-PSS ones, so callers can tell "cannot check" from "bad signature") and `DecodeError` when
 * `certDer` is not a certificate; otherwise it returns false for a bad, malformed or mismatched
 * signature. ECDSA is verified with `lowS: false`, as OpenSSL signs both halves of s.
 *
 * @param options - cache size.
 * @returns a {@link CryptoProvider}.
 */
export function createNobleProvider(options: NobleProviderOptions = {}): CryptoProvider {
  const cacheSize = Math.max(0, options.cacheSize ?? 64)
  const cache = new Map<string, ParsedPublicKey>()

  function certKey(certDer: Uint8Array): ParsedPublicKey {
    const id = cacheSize > 0 ? toHex(sha256(certDer)) : ''
    const hit = cacheSize > 0 ? cache.get(id) : undefined
    if (hit) {
      cache.delete(id)
      cache.set(id, hit)
      return hit
    }
    // @peculiar/x509 also accepts PEM/base64 text; cert_data is DER (RFC 8446 §4.4.2).
    if (certDer.length === 0 || certDer[0] !== 0x30) {
      throw new DecodeError('Certificate', 0, 'not a DER X.509 certificate')
    }
    let spki: Uint8Array
    try {
      spki = new Uint8Array(new PeculiarCertificate(certDer).publicKey.rawData)
    } catch (e) {
      throw new DecodeError('Certificate', 0, 'not a DER X.509 certificate', { cause: e })
    }
    const parsed = parseSpki(spki)
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
      cache.set(id, parsed)
    }
    return parsed
  }

  const provider: CryptoProvider = {
    name: 'noble',
    schemes: NOBLE_SCHEMES,

    digest(hash: HashName, data: Uint8Array): Uint8Array {
      return HASHES[hash](data)
    },

    digestParts(hash: HashName, parts: readonly Uint8Array[]): Uint8Array {
      const h = HASHES[hash].create()
      for (const p of parts) h.update(p)
      return h.digest()
    },

    hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
      return nobleHmac(HASHES[hash], key, data)
    },

    equal(a: Uint8Array, b: Uint8Array): boolean {
      if (a.length !== b.length) return false
      let diff = 0
      for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
      return diff === 0
    },

    randomBytes(n: number): Uint8Array {
      return nobleRandomBytes(n)
    },

    publicKeyInfo(certDer: Uint8Array): PublicKeyInfo {
      return certKey(certDer).info
    },

    verify(scheme: number, certDer: Uint8Array, content: Uint8Array, signature: Uint8Array): boolean {
      const s = schemeInfo(scheme)
      if (!s || !NOBLE_SCHEMES.includes(scheme)) {
        throw new UnsupportedError(`the noble provider cannot verify ${schemeName(scheme)}`)
      }
      const { info, key } = certKey(certDer)
      if (!schemeMatchesKey(scheme, info.keyType, info.curve)) return false
      try {
        if (info.keyType === 'ec' && info.curve && s.hash) {
          // Hash once with the scheme's hash (RFC 8446 §4.2.3), then verify the digest
          // (prehash: false). DER signature; high s allowed, as OpenSSL produces it.
          const digest = HASHES[s.hash](content)
          return EC[info.curve].verify(signature, digest, key, {
            prehash: false,
            lowS: false,
            format: 'der',
          })
        }
        // RFC 8032 §5.1.7 strict verification (no ZIP-215 leniency), as OpenSSL does.
        if (info.keyType === 'ed25519') return ed25519.verify(signature, content, key, { zip215: false })
        if (info.keyType === 'ed448') return ed448.verify(signature, content, key)
        const ml = mlDsaParams(info.keyType)
        if (ml) return mlDsaVerify(ml, key, content, signature)
        return false
      } catch {
        return false
      }
    },

    importPrivateKey(input: string | Uint8Array): SigningKey {
      const { info, secret } = parsePrivateKey(input)
      const base = { provider: 'noble', keyType: info.keyType, schemes: keySchemes(info) }
      const signing: SigningKey = Object.freeze(
        info.curve === undefined ? base : { ...base, curve: info.curve },
      )
      SECRETS.set(signing, secret)
      return signing
    },

    sign(scheme: number, key: SigningKey, content: Uint8Array): Uint8Array {
      const s = schemeInfo(scheme)
      if (!s) throw new UsageError(`${schemeName(scheme)} is not a TLS 1.3 signature scheme`)
      const secret = SECRETS.get(key)
      if (!secret) throw new UsageError('signing key was not imported by the noble provider')
      if (!schemeMatchesKey(scheme, key.keyType, key.curve)) {
        throw new UsageError(`${schemeName(scheme)} does not match a ${keyLabel(key)} key`)
      }
      if (key.keyType === 'ec' && key.curve && s.hash) {
        const digest = HASHES[s.hash](content)
        return EC[key.curve].sign(digest, secret, {
          prehash: false,
          format: 'der',
          extraEntropy: true,
        })
      }
      if (key.keyType === 'ed25519') return ed25519.sign(content, secret)
      if (key.keyType === 'ed448') return ed448.sign(content, secret)
      const ml = mlDsaParams(key.keyType)
      if (ml) return mlDsaSign(ml, secret, content)
      throw new UnsupportedError(`the noble provider cannot sign with ${schemeName(scheme)}`)
    },
  }
  return Object.freeze(provider)
}

/** The pure-JS provider with default options. See {@link createNobleProvider}. */
export const nobleCrypto: CryptoProvider = createNobleProvider()
