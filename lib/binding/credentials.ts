import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { SecondaryCertError, UnsupportedError, UsageError } from '../errors.js'
import type { CryptoProvider, SigningKey } from '../crypto/provider.js'
import type { Credential } from '../ea/authenticators.js'
import type { Extension } from '../wire/tls/extensions.js'
import { formatDistinguishedName } from '../oauth/distinguished-name.js'
import { parseCertificate } from '../policy/parsed-cert.js'

/** A chain and key as users give them: PEM text or DER bytes. */
export interface CredentialInput {
  /** PEM with one or more certificates (leaf first), or DER certificates (leaf first). */
  readonly cert: string | Buffer | readonly Uint8Array[]
  /** Private key of the leaf: PEM (PKCS#8, SEC1, PKCS#1) or PKCS#8 DER. */
  readonly key: string | Buffer | Uint8Array
  /** Extensions for the leaf's CertificateEntry (e.g. a stapled OCSP response), sent when asked. */
  readonly leafExtensions?: readonly Extension[]
}

/** A credential the client may present, with a label and purpose for selection and reporting. */
export interface LabelledCredentialInput extends CredentialInput {
  readonly label: string
  /** What it proves, e.g. 'device' or 'user'. Default: the label. */
  readonly purpose?: string
}

/** A credential ready to sign, with its parsed leaf. */
export interface LoadedCredential extends Credential {
  readonly label: string
  readonly purpose: string
  readonly leaf: X509Certificate
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * Splits PEM text into DER certificates (order kept).
 * @param pem - PEM text with one or more CERTIFICATE blocks.
 * @param what - what the text is, for the error message (e.g. `credential 'user' certificate`).
 * @throws UsageError (`ERR_SC_USAGE`) when there is no certificate
 */
export function pemToDerChain(pem: string, what?: string): Uint8Array[] {
  const blocks = pem.match(PEM_CERT) ?? []
  if (blocks.length === 0) {
    throw new UsageError(`${what ?? 'certificate text'}: no PEM certificate found`)
  }
  return blocks.map((b) => new Uint8Array(Buffer.from(b.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')))
}

/**
 * Normalises a credential input: parses certificates, imports the key into the provider, and
 * checks that the key is the private half of the leaf certificate's public key.
 *
 * The check matters because a mismatch is otherwise found by the peer: a CertificateVerify made
 * with another key fails validation (RFC 9261 §5.2.1), which ends the connection with
 * SERVER_CERTIFICATE_INVALID / a PROTOCOL_ERROR GOAWAY (SERVER-02 §6.3, CLIENT-00 §4.1.4) long
 * after the mistake was made.
 *
 * @param input - chain and key, PEM or DER.
 * @param provider - the crypto provider that will sign with the key.
 * @param label - names the credential in error messages.
 * @param purpose - what the credential proves; default the label.
 * @returns the loaded credential.
 * @throws UsageError (`ERR_SC_USAGE`) naming the label when the certificate or key cannot be
 *   read, or when the key does not belong to the leaf certificate; UnsupportedError
 *   (`ERR_SC_UNSUPPORTED`) for a key type the provider does not handle.
 */
export function loadCredential(
  input: CredentialInput,
  provider: CryptoProvider,
  label = 'credential',
  purpose?: string,
): LoadedCredential {
  const name = `credential '${label}'`
  const chain =
    typeof input.cert === 'string' || Buffer.isBuffer(input.cert)
      ? pemToDerChain(input.cert.toString(), `${name} certificate`)
      : input.cert.map((c) => new Uint8Array(c))
  if (chain.length === 0) throw new UsageError(`${name} has no certificate`)
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(chain[0]!)
  } catch (e) {
    throw new UsageError(`${name} certificate: leaf is not a readable X.509 certificate`, { cause: e })
  }
  const keyInput = typeof input.key === 'string' ? input.key : Buffer.isBuffer(input.key) && isPem(input.key) ? input.key.toString() : new Uint8Array(input.key)
  let key: SigningKey
  try {
    key = provider.importPrivateKey(keyInput)
  } catch (e) {
    if (e instanceof SecondaryCertError && e.code === 'ERR_SC_UNSUPPORTED') {
      throw new UnsupportedError(`${name} key: ${e.message}`, { cause: e })
    }
    throw new UsageError(`${name} key: not a readable PKCS#8, SEC1 or PKCS#1 private key`, { cause: e })
  }
  assertKeyMatchesLeaf(keyInput, leaf, chain[0]!, key, provider, name)
  const entryExtensions = input.leafExtensions ? [input.leafExtensions] : undefined
  return {
    chain,
    key,
    label,
    purpose: purpose ?? label,
    leaf,
    ...(entryExtensions ? { entryExtensions } : {}),
  }
}

/**
 * Throws unless the private key belongs to the leaf's public key. The cheap way first: derive the
 * public key with node:crypto and compare SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) bytes, which
 * covers EC P-256/384/521, RSA, RSA-PSS, Ed25519 and Ed448 (ML-DSA where node reads it). When node cannot read either side
 * (a key type only the provider knows), sign a fixed message with the provider and verify it
 * against the certificate instead.
 */
function assertKeyMatchesLeaf(
  keyInput: string | Uint8Array,
  leaf: X509Certificate,
  leafDer: Uint8Array,
  key: SigningKey,
  provider: CryptoProvider,
  name: string,
): void {
  const mismatch = (detail?: string): UsageError =>
    new UsageError(
      `${name}: the private key does not match the certificate's public key` +
        ` (${detail ? detail + '; ' : ''}${subjectText(leafDer, leaf)})`,
    )
  let fromKey: KeyObject | undefined
  let fromCert: KeyObject | undefined
  try {
    fromKey = createPublicKey(typeof keyInput === 'string' ? createPrivateKey(keyInput) : createPrivateKey({ key: Buffer.from(keyInput), format: 'der', type: 'pkcs8' }))
    fromCert = leaf.publicKey
  } catch {
    fromKey = undefined
  }
  if (fromKey && fromCert) {
    if (spkiEqual(fromKey, fromCert)) return
    // rsaEncryption vs id-RSASSA-PSS of one modulus also lands here, on purpose: the schemes such
    // a key signs with (rsa_pss_rsae_* vs rsa_pss_pss_*) do not fit the certificate (RFC 8446
    // §4.2.3), so the peer would reject every CertificateVerify.
    throw mismatch(fromKey.asymmetricKeyType !== fromCert.asymmetricKeyType ? `${article(fromKey.asymmetricKeyType)} key for ${article(fromCert.asymmetricKeyType)} certificate` : undefined)
  }
  const scheme = key.schemes[0]
  if (scheme === undefined) throw new UsageError(`${name} key: no TLS 1.3 signature scheme can use it`)
  const probe = new TextEncoder().encode('h2-secondary-certs key check')
  let ok: boolean
  try {
    ok = provider.verify(scheme, leafDer, probe, provider.sign(scheme, key, probe))
  } catch {
    ok = false
  }
  if (!ok) throw mismatch()
}

/** The leaf's subject as RFC 4514 text (the one subject format of the library, issue 10). */
function subjectText(der: Uint8Array, leaf: X509Certificate): string {
  try {
    return formatDistinguishedName(parseCertificate(der).subjectDer)
  } catch {
    return leaf.subject.replace(/\n/g, ', ')
  }
}

/** `an ec`, `a rsa-pss`: the key type with its article, for messages. */
function article(t: string | undefined): string {
  const name = t ?? 'unknown'
  return `${/^[aeio]/.test(name) ? 'an' : 'a'} ${name}`
}

function spkiEqual(a: KeyObject, b: KeyObject): boolean {
  const da = a.export({ type: 'spki', format: 'der' })
  const db = b.export({ type: 'spki', format: 'der' })
  return da.equals(db)
}

function isPem(b: Buffer): boolean {
  return b.subarray(0, 64).toString('latin1').includes('-----BEGIN')
}
