/**
 * A throw-away PKI for tests, examples, the `h2sc pki` command and the demo: a root CA, an
 * intermediate CA and four leaves (server, device, user, second origin), in any of seven key types.
 * Certificates are built with `@peculiar/x509`; keys are generated and used with `node:crypto`.
 *
 * NOT for production: private keys are kept in memory and written unencrypted.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import {
  KeyObject,
  X509Certificate as NodeCertificate,
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign as nodeSign,
  webcrypto,
} from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DecodeError, UnsupportedError, UsageError } from '../errors.js'
import { formatDistinguishedName } from '../oauth/distinguished-name.js'
import {
  decodeMlDsaPkcs8,
  encodeMlDsaPkcs8,
  encodeMlDsaSpki,
  generateMlDsaKey,
  mlDsaParams,
  mlDsaSign,
} from '../crypto/ml-dsa.js'
import type { MlDsaPrivateKey } from '../crypto/ml-dsa.js'

/**
 * Key types the test PKI can issue. `rsa` = rsaEncryption, `rsa-pss` = id-RSASSA-PSS SPKI,
 * `mldsa44/65/87` = id-ML-DSA-44/65/87 (RFC 9881; keys and signatures by `@noble/post-quantum`,
 * since Node 20's OpenSSL has no ML-DSA).
 */
export type PkiKeyType =
  | 'p256'
  | 'p384'
  | 'p521'
  | 'ed25519'
  | 'ed448'
  | 'rsa'
  | 'rsa-pss'
  | MlDsaPkiKeyType

/** The post-quantum key types (RFC 9881 ML-DSA). */
export type MlDsaPkiKeyType = 'mldsa44' | 'mldsa65' | 'mldsa87'

/** Every ML-DSA {@link PkiKeyType}. */
export const ML_DSA_PKI_KEY_TYPES: readonly MlDsaPkiKeyType[] = Object.freeze([
  'mldsa44',
  'mldsa65',
  'mldsa87',
])

/** True for the ML-DSA key types. */
export function isMlDsaKeyType(t: string): t is MlDsaPkiKeyType {
  return t === 'mldsa44' || t === 'mldsa65' || t === 'mldsa87'
}

/** Every {@link PkiKeyType}, in a stable order. */
export const PKI_KEY_TYPES: readonly PkiKeyType[] = Object.freeze([
  'p256',
  'p384',
  'p521',
  'ed25519',
  'ed448',
  'rsa',
  'rsa-pss',
  'mldsa44',
  'mldsa65',
  'mldsa87',
])

/** Whether `value` names a key type the test PKI can issue (one of {@link PKI_KEY_TYPES}). */
export function isPkiKeyType(value: unknown): value is PkiKeyType {
  return typeof value === 'string' && (PKI_KEY_TYPES as readonly string[]).includes(value)
}

/**
 * Throws unless `value` is a {@link PkiKeyType}: callers from JavaScript or a command line can
 * pass anything, and an unknown type must fail at once rather than leave a promise pending.
 */
function checkKeyType(value: unknown, what: string): PkiKeyType {
  if (isPkiKeyType(value)) return value
  throw new UsageError(`${what} must be one of ${PKI_KEY_TYPES.join(', ')}, got '${String(value)}'`)
}

/** Extended key usage OIDs used by the project (RFC 5280 §4.2.1.12). */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const

/** keyUsage bits (RFC 5280 §4.2.1.3). */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly'

/** A certificate with its private key, in the forms tests and servers need. */
export interface TestCredential {
  /** Key type of this certificate's key. */
  readonly keyType: PkiKeyType
  /** Subject DN as an RFC 4514 string (e.g. `CN=localhost,O=h2sc test`), as `Identity.subject` shows it. */
  readonly subject: string
  /** This certificate alone, PEM. */
  readonly certPem: string
  /** Private key, PKCS#8 PEM, unencrypted. */
  readonly keyPem: string
  /** This certificate alone, DER. */
  readonly certDer: Uint8Array
  /**
   * This certificate then its issuers up to, not including, the self-signed root, PEM
   * (a leaf: leaf + intermediate; the intermediate: itself; the root: itself).
   */
  readonly chainPem: string
  /** Same as `chainPem`, DER, leaf first. */
  readonly chainDer: Uint8Array[]
}

/** What {@link createTestPki} builds. */
export interface TestPki {
  readonly keyType: PkiKeyType
  /** What distinguishes this PKI's CA names (see {@link TestPkiOptions.name}). */
  readonly name: string
  /** Self-signed root CA (basicConstraints CA, keyUsage keyCertSign + cRLSign). */
  readonly root: TestCredential
  /** Intermediate CA signed by the root, pathLen 0. */
  readonly intermediate: TestCredential
  /** CN=localhost, SAN DNS localhost + IP 127.0.0.1, EKU serverAuth. */
  readonly server: TestCredential
  /** CN=device-<hex>, EKU serverAuth only (a secondary server certificate). */
  readonly device: TestCredential
  /** CN=user, SAN email user@example.test, EKU clientAuth only. */
  readonly user: TestCredential
  /** CN=other.localhost, SAN DNS other.localhost, EKU serverAuth. */
  readonly origin2: TestCredential
  /** The root certificate, PEM (the trust anchor to configure). */
  readonly caPem: string
}

/** An extension given as raw DER (for cases the typed options do not cover). */
export interface RawExtension {
  readonly oid: string
  readonly critical: boolean
  /** DER of the extnValue contents (what goes inside the OCTET STRING). */
  readonly value: Uint8Array
}

/** Options of {@link issueCertificate}. Omitted extensions are left out of the certificate. */
export interface IssueCertificateOptions {
  /** Subject DN, RFC 4514: `'CN=device-1, O=Example'` (CN is the last RDN of the DER Name). */
  readonly subject: string
  /** The CA that signs; omitted = self-signed. */
  readonly issuer?: TestCredential
  /** Key type of a newly generated key. Default `'p256'`. Ignored when `keyPem` is given. */
  readonly keyType?: PkiKeyType
  /** Certify this private key (PEM: PKCS#8, SEC1 or PKCS#1) instead of generating one. */
  readonly keyPem?: string
  /** subjectAltName entries; the extension is present when any list is non-empty. */
  readonly dnsNames?: readonly string[]
  readonly ipAddresses?: readonly string[]
  readonly emails?: readonly string[]
  readonly uris?: readonly string[]
  /** extendedKeyUsage OIDs (see {@link EKU}); omitted or empty = no extension. Non-critical. */
  readonly extKeyUsage?: readonly string[]
  /** keyUsage bits (critical); omitted = no extension. */
  readonly keyUsage?: readonly KeyUsageName[]
  /** basicConstraints (critical); omitted = no extension. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number }
  /** nameConstraints on dNSName (critical, RFC 5280 §4.2.1.10); omitted = no extension. */
  readonly nameConstraints?: {
    readonly permittedDns?: readonly string[]
    readonly excludedDns?: readonly string[]
  }
  /** Default: one hour before now (clock skew). */
  readonly notBefore?: Date
  /** Default: `notBefore` + 365 days. */
  readonly notAfter?: Date
  /** Hex serial number; default 16 random bytes. */
  readonly serialNumber?: string
  /** Add subjectKeyIdentifier / authorityKeyIdentifier. Default true. */
  readonly keyIdentifiers?: boolean
  /** More extensions, appended as given. */
  readonly extensions?: readonly RawExtension[]
}

type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>
type X509SigningKey = x509.X509CertificateCreateWithKeyParams['signingKey']

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

const KEY_USAGE_FLAGS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly,
}

/** A private key: a node KeyObject, or an ML-DSA key held by noble (OpenSSL 3.0 has none). */
type PkiKey = KeyObject | MlDsaPrivateKey

const ML_DSA_NAMES = { mldsa44: 'ml-dsa-44', mldsa65: 'ml-dsa-65', mldsa87: 'ml-dsa-87' } as const

function isMlDsaKey(k: PkiKey): k is MlDsaPrivateKey {
  return !(k instanceof KeyObject)
}

function mlDsaPkiParams(t: MlDsaPkiKeyType): NonNullable<ReturnType<typeof mlDsaParams>> {
  return mlDsaParams(ML_DSA_NAMES[t])!
}

/** Reads a PEM private key: RFC 9881 ML-DSA PKCS#8 (any of its three forms) or what node reads. */
function readPrivateKeyPem(keyPem: string): PkiKey {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(keyPem)
  if (m) {
    const ml = decodeMlDsaPkcs8(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')))
    if (ml) return ml
  }
  return createPrivateKey(keyPem)
}

/** SubjectPublicKeyInfo DER of a key's public half. */
function spkiOf(k: PkiKey): Uint8Array {
  if (isMlDsaKey(k)) return encodeMlDsaSpki(k.params, k.publicKey)
  return createPublicKey(k).export({ type: 'spki', format: 'der' })
}

/** PKCS#8 PEM; ML-DSA keys in the RFC 9881 seed form. */
function pkcs8PemOf(k: PkiKey): string {
  if (isMlDsaKey(k)) return pem('PRIVATE KEY', encodeMlDsaPkcs8(k, 'seed'))
  return k.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** Generates a private key of the given type (RSA: 2048 bits, e = 65537). */
function generateKey(type: PkiKeyType): Promise<PkiKey> {
  if (isMlDsaKeyType(type)) return Promise.resolve(generateMlDsaKey(mlDsaPkiParams(type)))
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => {
      if (err) reject(err)
      else resolve(priv)
    }
    switch (type) {
      case 'p256':
        return generateKeyPair('ec', { namedCurve: 'P-256' }, done)
      case 'p384':
        return generateKeyPair('ec', { namedCurve: 'P-384' }, done)
      case 'p521':
        return generateKeyPair('ec', { namedCurve: 'P-521' }, done)
      case 'ed25519':
        return generateKeyPair('ed25519', {}, done)
      case 'ed448':
        return generateKeyPair('ed448', {}, done)
      case 'rsa':
        return generateKeyPair('rsa', { modulusLength: 2048 }, done)
      case 'rsa-pss':
        // No RSASSA-PSS-params in the key: any of rsa_pss_pss_sha256/384/512 may be used with it
        // (RFC 4055 §3.1 lets the parameters be absent).
        return generateKeyPair('rsa-pss', { modulusLength: 2048 }, done)
      default:
        // Unreachable for typed callers; keeps the promise from never settling for others.
        return reject(new UsageError(`unknown test PKI key type '${String(type)}'`))
    }
  })
}

/** The PkiKeyType of a key, or UnsupportedError. */
function pkiKeyType(key: PkiKey): PkiKeyType {
  if (isMlDsaKey(key)) return ML_DSA_PKI_KEY_TYPES.find((t) => ML_DSA_NAMES[t] === key.params.name)!
  switch (key.asymmetricKeyType) {
    case 'ec':
      switch (key.asymmetricKeyDetails?.namedCurve) {
        case 'prime256v1':
          return 'p256'
        case 'secp384r1':
          return 'p384'
        case 'secp521r1':
          return 'p521'
      }
      break
    case 'ed25519':
    case 'ed448':
    case 'rsa':
    case 'rsa-pss':
      return key.asymmetricKeyType
  }
  throw new UnsupportedError(`test PKI cannot use a ${key.asymmetricKeyType ?? '?'} key`)
}

interface Signer {
  /** WebCrypto-style algorithm @peculiar/x509 maps to the certificate's signatureAlgorithm. */
  readonly algorithm: Record<string, unknown>
  /** Signature over the TBSCertificate in the form @peculiar/x509 expects (ECDSA: r || s). */
  sign(tbs: Uint8Array): Uint8Array
}

/**
 * How a CA key signs certificates. ECDSA hash follows the curve (RFC 5480 §4 pairing);
 * RSA uses PKCS#1 v1.5 with SHA-256, RSASSA-PSS keys PSS with SHA-256 and a 32-byte salt.
 */
function signerFor(key: PkiKey): Signer {
  if (isMlDsaKey(key)) {
    // RFC 9881 §3: signatureAlgorithm id-ML-DSA-NN, parameters absent; pure ML-DSA over the
    // DER TBSCertificate with the empty context. @peculiar/x509 maps the name to the OID.
    const name = `ML-DSA-${key.params.name.slice(-2)}`
    return { algorithm: { name }, sign: (tbs) => mlDsaSign(key.params, key.secretKey, tbs) }
  }
  const t = pkiKeyType(key)
  switch (t) {
    case 'p256':
    case 'p384':
    case 'p521': {
      const [namedCurve, hash] =
        t === 'p256' ? ['P-256', 'SHA-256'] : t === 'p384' ? ['P-384', 'SHA-384'] : ['P-521', 'SHA-512']
      const nodeHash = hash.replace('-', '').toLowerCase()
      return {
        algorithm: { name: 'ECDSA', namedCurve, hash },
        sign: (tbs) => nodeSign(nodeHash, tbs, { key, dsaEncoding: 'ieee-p1363' }),
      }
    }
    case 'ed25519':
      return { algorithm: { name: 'Ed25519' }, sign: (tbs) => nodeSign(null, tbs, key) }
    case 'ed448':
      // @peculiar/x509 names Ed448 signatures { name: 'EdDSA', namedCurve: 'Ed448' }.
      return {
        algorithm: { name: 'EdDSA', namedCurve: 'Ed448' },
        sign: (tbs) => nodeSign(null, tbs, key),
      }
    case 'rsa':
      return {
        algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } },
        sign: (tbs) => nodeSign('sha256', tbs, key),
      }
    case 'rsa-pss':
      return {
        algorithm: { name: 'RSA-PSS', hash: { name: 'SHA-256' }, saltLength: 32 },
        sign: (tbs) =>
          nodeSign('sha256', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      }
    default:
      throw new UnsupportedError(`test PKI cannot sign with a ${t} key`)
  }
}

function toBytes(b: ArrayBuffer | ArrayBufferView): Uint8Array {
  return b instanceof ArrayBuffer
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength)
  new Uint8Array(out).set(b)
  return out
}

/**
 * A `Crypto` for @peculiar/x509 whose `subtle.sign` is node's `crypto.sign` with our KeyObject.
 * WebCrypto cannot hold RSASSA-PSS keys nor (on Node 20, for x509) name Ed448 signatures, so
 * signing goes through node for every key type; digests and randomness stay WebCrypto.
 */
function signingCrypto(signer: Signer): X509Crypto {
  const subtle = {
    sign: (_alg: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> =>
      Promise.resolve(toArrayBuffer(signer.sign(toBytes(data)))),
    digest: (alg: string, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> =>
      webcrypto.subtle.digest(alg, data),
  }
  const shim = {
    subtle,
    getRandomValues: (a: Uint8Array): Uint8Array => webcrypto.getRandomValues(a),
  }
  return shim as unknown as X509Crypto
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64')
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

// Minimal DER writer for nameConstraints (X.690 §8.1).
function derTlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length
  const len =
    n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : undefined
  if (!len) throw new UsageError('nameConstraints too large')
  const out = new Uint8Array(1 + len.length + n)
  out[0] = tag
  out.set(len, 1)
  out.set(content, 1 + len.length)
  return out
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * RFC 5280 §4.2.1.10:
 *   NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 *                                  excludedSubtrees  [1] GeneralSubtrees OPTIONAL }
 *   GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
 * Only dNSName ([2] IA5String) bases.
 */
function nameConstraintsDer(permitted: readonly string[], excluded: readonly string[]): Uint8Array {
  const subtrees = (tag: number, names: readonly string[]): Uint8Array[] =>
    names.length === 0
      ? []
      : [
          derTlv(
            tag,
            concat(names.map((n) => derTlv(0x30, derTlv(0x82, new TextEncoder().encode(n))))),
          ),
        ]
  return derTlv(0x30, concat([...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded)]))
}

function randomSerial(): string {
  const b = randomBytes(16)
  // RFC 5280 §4.1.2.2: a positive INTEGER; keep the top bit clear and the first byte non-zero.
  b[0] = ((b[0] as number) & 0x7f) | 0x40
  return b.toString('hex')
}

/**
 * Issues one certificate (or a self-signed one when `issuer` is omitted).
 *
 * Nothing is enforced: callers may build certificates a validator must reject (expired, wrong
 * EKU, a CA without keyCertSign, pathLen violations, name constraints), which is the point.
 *
 * @param options - subject, issuer, key, extensions and validity; see {@link IssueCertificateOptions}.
 * @returns the credential; its chain is this certificate followed by the issuer's chain, unless
 *   the issuer is self-signed (the root is never part of a chain).
 * @throws UnsupportedError (`ERR_SC_UNSUPPORTED`) for a `keyPem` of a key type we do not handle;
 *   DecodeError (`ERR_SC_DECODE`) for an unreadable `keyPem`.
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<TestCredential> {
  let key: PkiKey
  if (options.keyPem !== undefined) {
    try {
      key = readPrivateKeyPem(options.keyPem)
    } catch (e) {
      throw new DecodeError('PrivateKey', 0, 'keyPem is not a readable private key', { cause: e })
    }
  } else {
    key = await generateKey(checkKeyType(options.keyType ?? 'p256', 'keyType'))
  }
  const keyType = pkiKeyType(key)
  const spki = spkiOf(key)

  let issuerKey = key
  let issuerCert: x509.X509Certificate | undefined
  if (options.issuer) {
    issuerKey = readPrivateKeyPem(options.issuer.keyPem)
    issuerCert = new x509.X509Certificate(toArrayBuffer(options.issuer.certDer))
  }
  const signer = signerFor(issuerKey)
  const crypto = signingCrypto(signer)

  const extensions: x509.Extension[] = []
  if (options.basicConstraints) {
    const bc = options.basicConstraints
    extensions.push(new x509.BasicConstraintsExtension(bc.ca, bc.pathLen, true))
  }
  if (options.keyUsage) {
    const flags = options.keyUsage.reduce((f, u) => f | KEY_USAGE_FLAGS[u], 0)
    extensions.push(new x509.KeyUsagesExtension(flags, true))
  }
  if (options.extKeyUsage && options.extKeyUsage.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension([...options.extKeyUsage], false))
  }
  const names: { type: 'dns' | 'ip' | 'email' | 'url'; value: string }[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ]
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false))
  if (options.nameConstraints) {
    const nc = options.nameConstraints
    const value = nameConstraintsDer(nc.permittedDns ?? [], nc.excludedDns ?? [])
    extensions.push(new x509.Extension('2.5.29.30', true, toArrayBuffer(value)))
  }
  if (options.keyIdentifiers ?? true) {
    extensions.push(
      await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(spki), false, webcryptoX509()),
    )
    const authorityKey = issuerCert ? issuerCert.publicKey : toArrayBuffer(spki)
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(authorityKey, false, webcryptoX509()),
    )
  }
  for (const e of options.extensions ?? []) {
    extensions.push(new x509.Extension(e.oid, e.critical, toArrayBuffer(e.value)))
  }

  const notBefore = options.notBefore ?? new Date(Date.now() - HOUR_MS)
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS)
  const signingKey = {
    algorithm: signer.algorithm,
    type: 'private',
    extractable: false,
    usages: ['sign'],
  } as unknown as X509SigningKey
  // The subject is an RFC 4514 string, whose first RDN is the *last* one of the DER Name (RFC
  // 4514 §2.1); @peculiar/x509 keeps the string's order, so the RDNs are reversed here. Then
  // `CN=user, O=h2sc test` is encoded O first and reads back as `CN=user,O=h2sc test` everywhere
  // (Identity.subject, problem bodies, the CLI, parseDistinguishedName).
  const subjectName = new x509.Name(new x509.Name(options.subject).toJSON().reverse())
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: options.serialNumber ?? randomSerial(),
      subject: subjectName,
      issuer: issuerCert ? issuerCert.subjectName : subjectName,
      notBefore,
      notAfter,
      publicKey: toArrayBuffer(spki),
      signingKey,
      extensions,
    },
    crypto,
  )
  const certDer = new Uint8Array(cert.rawData)
  const issuerChain = options.issuer && !isSelfSigned(options.issuer) ? options.issuer.chainDer : []
  const chainDer = [certDer, ...issuerChain]
  return {
    keyType,
    subject: formatDistinguishedName(new Uint8Array(cert.subjectName.toArrayBuffer())),
    certPem: pem('CERTIFICATE', certDer),
    keyPem: pkcs8PemOf(key),
    certDer,
    chainPem: chainDer.map((d) => pem('CERTIFICATE', d)).join(''),
    chainDer,
  }
}

function webcryptoX509(): X509Crypto {
  return webcrypto as unknown as X509Crypto
}

function isSelfSigned(c: TestCredential): boolean {
  const n = new NodeCertificate(c.certDer)
  return n.subject === n.issuer
}

/** Options of {@link createTestPki}. */
export interface TestPkiOptions {
  /** Key type of the leaves (and of the CAs, except `rsa-pss` whose CAs are `rsa`). */
  readonly keyType?: PkiKeyType
  /** Reference time: certificates are valid from now − 1 h; CAs for 10 years, leaves for 1. */
  readonly now?: Date
  /**
   * Distinguishes this PKI's CA names (`CN=h2sc Test Root CA (p256) <name>`). Default: 8 random
   * hex digits, so two PKIs never share CA names and a certificate from another PKI does not
   * match a request's certificate_authorities (RFC 8446 §4.2.4) by accident. Pass a fixed name for
   * reproducible names.
   */
  readonly name?: string
  /**
   * Validity of the secondary leaves (device, user, origin2), for certificates a policy must
   * reject (expired, not yet valid). The TLS server certificate keeps the default validity so a
   * server can still start with it. Each bound defaults to the normal leaf validity.
   */
  readonly leafValidity?: { readonly notBefore?: Date; readonly notAfter?: Date }
}

/**
 * Builds a fresh test PKI: root → intermediate (pathLen 0) → server, device, user, origin2.
 *
 * CA keys are of the same type as the leaves, except for `rsa-pss`: there the CAs hold
 * rsaEncryption keys (signing with PKCS#1 v1.5 SHA-256) and only the leaves carry id-RSASSA-PSS
 * keys, so that `rsa_pss_pss_*` schemes apply to them. Leaves have keyUsage digitalSignature.
 * Takes a few ms for EC/EdDSA and up to about a second for RSA (key generation).
 *
 * @param options - key type (default `'p256'`) and reference time (default now).
 * @returns the PKI.
 */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const keyType = checkKeyType(options.keyType ?? 'p256', 'keyType')
  const caKeyType: PkiKeyType = keyType === 'rsa-pss' ? 'rsa' : keyType
  const now = options.now ?? new Date()
  if (Number.isNaN(now.getTime())) throw new UsageError('now is not a valid date')
  const name = options.name ?? randomBytes(4).toString('hex')
  if (!/^[\w .:-]{1,64}$/.test(name)) {
    throw new UsageError(`name must be 1-64 letters, digits, spaces or . : - _, got '${name}'`)
  }
  const notBefore = new Date(now.getTime() - HOUR_MS)
  const caNotAfter = new Date(notBefore.getTime() + 10 * 365 * DAY_MS)
  const leafNotAfter = new Date(notBefore.getTime() + 365 * DAY_MS)
  const secondaryNotBefore = options.leafValidity?.notBefore ?? notBefore
  const secondaryNotAfter = options.leafValidity?.notAfter ?? leafNotAfter
  for (const d of [secondaryNotBefore, secondaryNotAfter]) {
    if (Number.isNaN(d.getTime())) throw new UsageError('leafValidity holds an invalid date')
  }
  if (secondaryNotAfter.getTime() < secondaryNotBefore.getTime()) {
    throw new UsageError('leafValidity.notAfter is before leafValidity.notBefore')
  }
  const secondary = { notBefore: secondaryNotBefore, notAfter: secondaryNotAfter }
  const o = 'O=h2sc test'
  const root = await issueCertificate({
    subject: `CN=h2sc Test Root CA (${keyType}) ${name}, ${o}`,
    keyType: caKeyType,
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign'],
    notBefore,
    notAfter: caNotAfter,
  })
  const intermediate = await issueCertificate({
    subject: `CN=h2sc Test Intermediate CA (${keyType}) ${name}, ${o}`,
    issuer: root,
    keyType: caKeyType,
    basicConstraints: { ca: true, pathLen: 0 },
    keyUsage: ['keyCertSign', 'cRLSign'],
    notBefore,
    notAfter: caNotAfter,
  })
  const leaf = (o2: Omit<IssueCertificateOptions, 'issuer' | 'keyType'>): Promise<TestCredential> =>
    issueCertificate({
      issuer: intermediate,
      keyType,
      keyUsage: ['digitalSignature'],
      basicConstraints: { ca: false },
      notBefore,
      notAfter: leafNotAfter,
      ...o2,
    })
  // An ML-DSA TLS certificate is of no use on Node 20 (OpenSSL 3.0 cannot sign the handshake
  // with it), so for the ML-DSA types the TLS server leaf is P-256 under its own P-256 root, and
  // caPem carries both roots; everything carried in exported authenticators stays ML-DSA.
  const tlsRoot = isMlDsaKeyType(keyType)
    ? await issueCertificate({
        subject: `CN=h2sc Test TLS Root CA (p256 for ${keyType}) ${name}, ${o}`,
        keyType: 'p256',
        basicConstraints: { ca: true },
        keyUsage: ['keyCertSign', 'cRLSign'],
        notBefore,
        notAfter: caNotAfter,
      })
    : undefined
  const tlsLeaf = (o2: Omit<IssueCertificateOptions, 'issuer' | 'keyType'>): Promise<TestCredential> =>
    tlsRoot
      ? issueCertificate({
          issuer: tlsRoot,
          keyType: 'p256',
          keyUsage: ['digitalSignature'],
          basicConstraints: { ca: false },
          notBefore,
          notAfter: leafNotAfter,
          ...o2,
        })
      : leaf(o2)
  const [server, device, user, origin2] = await Promise.all([
    tlsLeaf({
      subject: `CN=localhost, ${o}`,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      extKeyUsage: [EKU.serverAuth],
    }),
    leaf({
      subject: `CN=device-${randomBytes(4).toString('hex')}, ${o}`,
      ...secondary,
      extKeyUsage: [EKU.serverAuth],
    }),
    leaf({
      subject: `CN=user, ${o}`,
      ...secondary,
      emails: ['user@example.test'],
      extKeyUsage: [EKU.clientAuth],
    }),
    leaf({
      subject: `CN=other.localhost, ${o}`,
      ...secondary,
      dnsNames: ['other.localhost'],
      extKeyUsage: [EKU.serverAuth],
    }),
  ])
  const caPem = tlsRoot ? root.certPem + tlsRoot.certPem : root.certPem
  return { keyType, name, root, intermediate, server, device, user, origin2, caPem }
}

/**
 * Writes a PKI as PEM files into `dir` (created if missing): `ca.pem` (root) and `ca-key.pem`,
 * `intermediate.pem` and `intermediate-key.pem` (so more certificates can be issued under them),
 * and for each of server, device, user, origin2 `<name>.pem` (leaf + intermediate) and
 * `<name>-key.pem`. Keys are PKCS#8, unencrypted, mode 0600. Existing files are overwritten
 * (`h2sc pki` refuses a non-empty directory unless `--force`).
 *
 * @param pki - from {@link createTestPki}.
 * @param dir - target directory.
 * @returns the paths written.
 */
export async function writeTestPki(pki: TestPki, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const files: [string, string, number][] = [
    ['ca.pem', pki.caPem, 0o644],
    ['ca-key.pem', pki.root.keyPem, 0o600],
    ['intermediate.pem', pki.intermediate.certPem, 0o644],
    ['intermediate-key.pem', pki.intermediate.keyPem, 0o600],
  ]
  for (const name of ['server', 'device', 'user', 'origin2'] as const) {
    files.push([`${name}.pem`, pki[name].chainPem, 0o644])
    files.push([`${name}-key.pem`, pki[name].keyPem, 0o600])
  }
  const written: string[] = []
  for (const [name, text, mode] of files) {
    const path = join(dir, name)
    await writeFile(path, text, { mode })
    written.push(path)
  }
  return written
}
