/**
 * ML-DSA (FIPS 204) for exported authenticators and X.509, on `@noble/post-quantum`:
 * the parameter sets, their RFC 9881 key encodings (SubjectPublicKeyInfo and the PKCS#8
 * `ML-DSA-PrivateKey` CHOICE), and pure ML-DSA sign / verify with the empty context string that
 * the TLS schemes use (draft-ietf-tls-mldsa §3: "pure" mode, context "" ; RFC 9881 §4 for X.509).
 *
 * Synchronous, no `node:crypto`: the noble provider and the policy layer (certificate signatures
 * that OpenSSL 3.0 cannot check) both use it.
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js'
import { DecodeError, UsageError } from '../errors.js'

/** ML-DSA parameter set names, as `KeyObject.asymmetricKeyType` spells them on Node ≥ 24.6. */
export type MlDsaName = 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87'

/** One ML-DSA parameter set: sizes (FIPS 204 Table 2), OID (RFC 9881 §2), TLS codepoint. */
export interface MlDsaParams {
  readonly name: MlDsaName
  /** TLS 1.3 SignatureScheme (draft-ietf-tls-mldsa, IANA registry): 0x0904 / 0x0905 / 0x0906. */
  readonly scheme: number
  /** Dotted id-ML-DSA-NN. */
  readonly oid: string
  /** Content octets of the OBJECT IDENTIFIER, hex. */
  readonly oidHex: string
  readonly publicKeyBytes: number
  /** Expanded private key (FIPS 204 skEncode) length. */
  readonly secretKeyBytes: number
  readonly signatureBytes: number
}

const SEED_BYTES = 32

type Noble = typeof ml_dsa44

const IMPL: Readonly<Record<MlDsaName, Noble>> = {
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
}

/** The three parameter sets, weakest first. */
export const ML_DSA: readonly MlDsaParams[] = Object.freeze([
  Object.freeze({
    name: 'ml-dsa-44',
    scheme: 0x0904,
    oid: '2.16.840.1.101.3.4.3.17',
    oidHex: '608648016503040311',
    publicKeyBytes: 1312,
    secretKeyBytes: 2560,
    signatureBytes: 2420,
  }),
  Object.freeze({
    name: 'ml-dsa-65',
    scheme: 0x0905,
    oid: '2.16.840.1.101.3.4.3.18',
    oidHex: '608648016503040312',
    publicKeyBytes: 1952,
    secretKeyBytes: 4032,
    signatureBytes: 3309,
  }),
  Object.freeze({
    name: 'ml-dsa-87',
    scheme: 0x0906,
    oid: '2.16.840.1.101.3.4.3.19',
    oidHex: '608648016503040313',
    publicKeyBytes: 2592,
    secretKeyBytes: 4896,
    signatureBytes: 4627,
  }),
])

const BY_NAME = new Map<string, MlDsaParams>(ML_DSA.map((p) => [p.name, p]))
const BY_OID_HEX = new Map<string, MlDsaParams>(ML_DSA.map((p) => [p.oidHex, p]))
const BY_OID = new Map<string, MlDsaParams>(ML_DSA.map((p) => [p.oid, p]))

/** Parameters of a set by name, or undefined. */
export function mlDsaParams(name: string): MlDsaParams | undefined {
  return BY_NAME.get(name)
}

/** Parameters by dotted OID (`2.16.840.1.101.3.4.3.17`), or undefined. */
export function mlDsaByOid(oid: string): MlDsaParams | undefined {
  return BY_OID.get(oid)
}

/** Parameters by the hex content octets of an OID, or undefined. */
export function mlDsaByOidHex(oidHex: string): MlDsaParams | undefined {
  return BY_OID_HEX.get(oidHex)
}

/** A decoded ML-DSA private key: the expanded key always, the seed when the encoding had one. */
export interface MlDsaPrivateKey {
  readonly params: MlDsaParams
  readonly seed: Uint8Array | undefined
  readonly secretKey: Uint8Array
  readonly publicKey: Uint8Array
}

// ---------------------------------------------------------------------------------------------
// DER (X.690): the few shapes RFC 9881 uses. Single-byte tags, definite lengths.

interface Tlv {
  readonly tag: number
  readonly start: number
  readonly end: number
  /** Offset of the tag octet. */
  readonly at: number
}

function tlv(b: Uint8Array, pos: number, limit: number, s: string): Tlv {
  if (pos + 2 > limit) throw new DecodeError(s, pos, 'truncated DER element')
  const tag = b[pos] as number
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(s, pos, 'multi-byte DER tag')
  let len = b[pos + 1] as number
  let start = pos + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 3) throw new DecodeError(s, pos + 1, 'bad DER length')
    if (start + n > limit) throw new DecodeError(s, pos + 1, 'truncated DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] as number)
    // X.690 §10.1: the shortest length form.
    if (len < 0x80 || (n > 1 && (b[start] as number) === 0)) {
      throw new DecodeError(s, pos + 1, 'non-minimal DER length')
    }
    start += n
  }
  if (start + len > limit) throw new DecodeError(s, pos, 'DER element overruns its parent')
  return { tag, start, end: start + len, at: pos }
}

function kids(b: Uint8Array, parent: Tlv, s: string): Tlv[] {
  const out: Tlv[] = []
  for (let pos = parent.start; pos < parent.end; ) {
    const t = tlv(b, pos, parent.end, s)
    out.push(t)
    pos = t.end
  }
  return out
}

function outer(b: Uint8Array, tag: number, s: string): Tlv {
  const t = tlv(b, 0, b.length, s)
  if (t.tag !== tag) throw new DecodeError(s, 0, `expected DER tag 0x${tag.toString(16)}`)
  if (t.end !== b.length) throw new DecodeError(s, t.end, 'trailing bytes after DER')
  return t
}

function want(t: Tlv | undefined, tag: number, s: string, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DecodeError(s, t?.at ?? 0, `expected ${what}`)
  return t
}

function hexOf(b: Uint8Array, t: Tlv): string {
  let out = ''
  for (let i = t.start; i < t.end; i++) out += (b[i] as number).toString(16).padStart(2, '0')
  return out
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n]
  if (n < 0x100) return [0x81, n]
  if (n < 0x10000) return [0x82, n >> 8, n & 0xff]
  return [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const len = derLength(n)
  const out = new Uint8Array(1 + len.length + n)
  out[0] = tag
  out.set(len, 1)
  let at = 1 + len.length
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** `AlgorithmIdentifier { id-ML-DSA-NN }`, parameters absent (RFC 9881 §2). */
function algorithmIdentifier(p: MlDsaParams): Uint8Array {
  return der(0x30, der(0x06, fromHex(p.oidHex)))
}

/**
 * Reads `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }` and
 * returns the ML-DSA set, undefined for another algorithm. RFC 9881 §2: "The parameters field
 * of the AlgorithmIdentifier for the ML-DSA public key MUST be absent."
 */
function readAlgorithm(b: Uint8Array, t: Tlv | undefined, s: string): MlDsaParams | undefined {
  const [oid, params] = kids(b, want(t, 0x30, s, 'AlgorithmIdentifier'), s)
  const p = BY_OID_HEX.get(hexOf(b, want(oid, 0x06, s, 'algorithm OID')))
  if (p && params) throw new DecodeError(s, params.at, 'ML-DSA parameters must be absent')
  return p
}

/** True when DER `spki` is a SubjectPublicKeyInfo whose algorithm is one of the ML-DSA OIDs. */
export function isMlDsaSpki(spki: Uint8Array): boolean {
  try {
    const s = 'SubjectPublicKeyInfo'
    const [alg] = kids(spki, outer(spki, 0x30, s), s)
    return readAlgorithm(spki, alg, s) !== undefined
  } catch {
    return false
  }
}

/**
 * RFC 9881 §4 / RFC 5280 §4.1.2.7:
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 * with the raw FIPS 204 public key (pkEncode) as the BIT STRING's content.
 * @throws DecodeError (`ERR_SC_DECODE`) when malformed, not ML-DSA, or of the wrong length
 */
export function decodeMlDsaSpki(spki: Uint8Array): { params: MlDsaParams; publicKey: Uint8Array } {
  const s = 'SubjectPublicKeyInfo'
  const [alg, bits, extra] = kids(spki, outer(spki, 0x30, s), s)
  if (extra) throw new DecodeError(s, extra.at, 'unexpected element')
  const params = readAlgorithm(spki, alg, s)
  if (!params) throw new DecodeError(s, alg?.at ?? 0, 'not an ML-DSA key')
  const b = want(bits, 0x03, s, 'subjectPublicKey')
  if (b.end <= b.start || spki[b.start] !== 0) throw new DecodeError(s, b.start, 'bad BIT STRING')
  if (b.end - b.start - 1 !== params.publicKeyBytes) {
    throw new DecodeError(s, b.start, `${params.name} public key must be ${params.publicKeyBytes} bytes`)
  }
  return { params, publicKey: spki.slice(b.start + 1, b.end) }
}

/** Encodes an ML-DSA SubjectPublicKeyInfo (RFC 9881 §4). */
export function encodeMlDsaSpki(params: MlDsaParams, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== params.publicKeyBytes) {
    throw new UsageError(`${params.name} public key must be ${params.publicKeyBytes} bytes`)
  }
  return der(0x30, algorithmIdentifier(params), der(0x03, new Uint8Array([0]), publicKey))
}

/**
 * RFC 9881 §6 (inside RFC 5958 OneAsymmetricKey.privateKey):
 *   ML-DSA-PrivateKey ::= CHOICE {
 *     seed [0] OCTET STRING (SIZE (32)),
 *     expandedKey OCTET STRING (SIZE (2560 | 4032 | 4896)),
 *     both SEQUENCE { seed OCTET STRING (SIZE (32)), expandedKey OCTET STRING (SIZE (...)) } }
 * All three are accepted. For `both`, RFC 9881 §6 says a consumer SHOULD check that the expanded
 * key is the one the seed produces; we always do and refuse a mismatch.
 *
 *   OneAsymmetricKey ::= SEQUENCE { version INTEGER { v1(0), v2(1) },
 *     privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING,
 *     attributes [0] IMPLICIT Attributes OPTIONAL, ..., publicKey [1] IMPLICIT BIT STRING OPTIONAL }
 * When a v2 publicKey is present it must match the private key.
 *
 * @returns the key, or undefined when the PKCS#8 algorithm is not ML-DSA (so callers can try
 *   other key types)
 * @throws DecodeError (`ERR_SC_DECODE`) for a malformed or inconsistent ML-DSA key
 */
export function decodeMlDsaPkcs8(pkcs8: Uint8Array): MlDsaPrivateKey | undefined {
  const s = 'PrivateKeyInfo'
  const [version, alg, priv, ...rest] = kids(pkcs8, outer(pkcs8, 0x30, s), s)
  const v = want(version, 0x02, s, 'version')
  const params = readAlgorithm(pkcs8, alg, s)
  if (!params) return undefined
  if (v.end - v.start !== 1 || (pkcs8[v.start] as number) > 1) {
    throw new DecodeError(s, v.at, 'unsupported PKCS#8 version')
  }
  const p = want(priv, 0x04, s, 'privateKey')
  const inner = pkcs8.subarray(p.start, p.end)
  const S = 'ML-DSA-PrivateKey'
  const choice = tlv(inner, 0, inner.length, S)
  if (choice.end !== inner.length) throw new DecodeError(S, choice.end, 'trailing bytes after DER')
  let seed: Uint8Array | undefined
  let expanded: Uint8Array | undefined
  switch (choice.tag) {
    case 0x80: // seed [0] IMPLICIT OCTET STRING
      seed = inner.slice(choice.start, choice.end)
      break
    case 0x04: // expandedKey
      expanded = inner.slice(choice.start, choice.end)
      break
    case 0x30: {
      const [a, b, extra] = kids(inner, choice, S)
      if (extra) throw new DecodeError(S, extra.at, 'unexpected element')
      const sa = want(a, 0x04, S, 'seed')
      const sb = want(b, 0x04, S, 'expandedKey')
      seed = inner.slice(sa.start, sa.end)
      expanded = inner.slice(sb.start, sb.end)
      break
    }
    default:
      throw new DecodeError(S, 0, 'expected seed, expandedKey or both')
  }
  if (seed !== undefined && seed.length !== SEED_BYTES) {
    throw new DecodeError(S, 0, 'ML-DSA seed must be 32 bytes')
  }
  if (expanded !== undefined && expanded.length !== params.secretKeyBytes) {
    throw new DecodeError(S, 0, `${params.name} expanded key must be ${params.secretKeyBytes} bytes`)
  }
  const impl = IMPL[params.name]
  let secretKey: Uint8Array
  let publicKey: Uint8Array
  if (seed !== undefined) {
    const kp = impl.keygen(seed)
    if (expanded !== undefined && !sameBytes(kp.secretKey, expanded)) {
      throw new DecodeError(S, 0, 'expandedKey does not match seed')
    }
    secretKey = kp.secretKey
    publicKey = kp.publicKey
  } else {
    secretKey = expanded as Uint8Array
    try {
      publicKey = impl.getPublicKey(secretKey)
    } catch (e) {
      throw new DecodeError(S, 0, 'malformed ML-DSA expanded key', { cause: e })
    }
  }
  for (const t of rest) {
    if (t.tag !== 0x81) continue // attributes [0] are ignored
    // publicKey [1] IMPLICIT BIT STRING: unused-bits octet, then the key.
    if (t.end <= t.start || pkcs8[t.start] !== 0 || !sameBytes(pkcs8.subarray(t.start + 1, t.end), publicKey)) {
      throw new DecodeError(s, t.at, 'publicKey does not match the private key')
    }
  }
  return { params, seed, secretKey, publicKey }
}

/** What private-key form {@link encodeMlDsaPkcs8} writes. */
export type MlDsaPrivateKeyForm = 'seed' | 'expandedKey' | 'both'

/**
 * Encodes a PKCS#8 v1 ML-DSA private key. The default form is `seed` (RFC 9881 §6 recommends
 * it: 32 bytes, and every other value is derived from it).
 * @throws UsageError (`ERR_SC_USAGE`) when the form needs a seed the key does not have
 */
export function encodeMlDsaPkcs8(key: MlDsaPrivateKey, form: MlDsaPrivateKeyForm = 'seed'): Uint8Array {
  if (form !== 'expandedKey' && key.seed === undefined) {
    throw new UsageError(`the ${form} form needs the key's seed`)
  }
  const inner =
    form === 'seed'
      ? der(0x80, key.seed as Uint8Array)
      : form === 'expandedKey'
        ? der(0x04, key.secretKey)
        : der(0x30, der(0x04, key.seed as Uint8Array), der(0x04, key.secretKey))
  return der(0x30, new Uint8Array([0x02, 0x01, 0x00]), algorithmIdentifier(key.params), der(0x04, inner))
}

/** Generates a key from a 32-byte seed (random when omitted), FIPS 204 ML-DSA.KeyGen. */
export function generateMlDsaKey(params: MlDsaParams, seed?: Uint8Array): MlDsaPrivateKey {
  const s = seed ?? globalThis.crypto.getRandomValues(new Uint8Array(SEED_BYTES))
  if (s.length !== SEED_BYTES) throw new UsageError('ML-DSA seed must be 32 bytes')
  const kp = IMPL[params.name].keygen(s)
  return { params, seed: Uint8Array.from(s), secretKey: kp.secretKey, publicKey: kp.publicKey }
}

/**
 * ML-DSA.Sign (FIPS 204 Algorithm 2, hedged: fresh randomness per signature) with the empty
 * context string, as the TLS schemes (draft-ietf-tls-mldsa) and X.509 (RFC 9881 §3) require.
 */
export function mlDsaSign(params: MlDsaParams, secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return IMPL[params.name].sign(message, secretKey)
}

/**
 * ML-DSA.Verify (FIPS 204 Algorithm 3) with the empty context. False for any failure,
 * including a signature or key of the wrong length.
 */
export function mlDsaVerify(
  params: MlDsaParams,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== params.signatureBytes || publicKey.length !== params.publicKeyBytes) return false
  try {
    return IMPL[params.name].verify(signature, message, publicKey)
  } catch {
    return false
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number)
  return d === 0
}

/**
 * Checks an X.509 signature made with ML-DSA (RFC 9881 §3): `signatureAlgorithm` is
 * id-ML-DSA-NN with absent parameters, equal to the TBSCertificate's `signature` field (RFC 5280
 * §4.1.1.2), the issuer's key is of the same parameter set, and the BIT STRING holds a pure
 * ML-DSA signature over the DER TBSCertificate with the empty context.
 *
 *   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
 *     signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
 *
 * @param certDer - the certificate whose signature is checked
 * @param issuerSpki - DER SubjectPublicKeyInfo of the issuer
 * @returns undefined when neither the signature algorithm nor the issuer key is ML-DSA (not our
 *   business: classical signatures are node's), otherwise whether the signature verifies
 */
export function verifyMlDsaCertificateSignature(certDer: Uint8Array, issuerSpki: Uint8Array): boolean | undefined {
  const s = 'Certificate'
  let tbs: Tlv | undefined
  let sigAlg: Tlv | undefined
  let sig: Tlv | undefined
  try {
    ;[tbs, sigAlg, sig] = kids(certDer, outer(certDer, 0x30, s), s)
  } catch {
    return isMlDsaSpki(issuerSpki) ? false : undefined
  }
  let params: MlDsaParams | undefined
  try {
    params = readAlgorithm(certDer, sigAlg, s)
  } catch {
    // An ML-DSA OID with parameters present: RFC 9881 §3 says they MUST be absent.
    return false
  }
  const issuerIsMlDsa = isMlDsaSpki(issuerSpki)
  if (!params) return issuerIsMlDsa ? false : undefined
  if (!issuerIsMlDsa || !tbs || !sig || sig.tag !== 0x03 || tbs.tag !== 0x30) return false
  try {
    const { params: keyParams, publicKey } = decodeMlDsaSpki(issuerSpki)
    if (keyParams !== params) return false
    // The TBSCertificate's own signature field must be the same AlgorithmIdentifier.
    const f = kids(certDer, tbs, s)
    const inner = f[0]?.tag === 0xa0 ? f[2] : f[1]
    if (!inner || !sameBytes(certDer.subarray(inner.at, inner.end), certDer.subarray(sigAlg!.at, sigAlg!.end))) {
      return false
    }
    if (sig.end <= sig.start || certDer[sig.start] !== 0) return false
    return mlDsaVerify(params, publicKey, certDer.subarray(tbs.at, tbs.end), certDer.subarray(sig.start + 1, sig.end))
  } catch {
    return false
  }
}
