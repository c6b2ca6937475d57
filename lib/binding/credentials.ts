import { X509Certificate } from 'node:crypto'
import { UsageError } from '../errors.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Credential } from '../ea/authenticators.js'
import type { Extension } from '../wire/tls/extensions.js'

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
 * @throws UsageError (`ERR_SC_USAGE`) when there is no certificate
 */
export function pemToDerChain(pem: string): Uint8Array[] {
  const blocks = pem.match(PEM_CERT) ?? []
  if (blocks.length === 0) throw new UsageError('no PEM certificate found')
  return blocks.map((b) => new Uint8Array(Buffer.from(b.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')))
}

/** Normalises a credential input: parses certificates, imports the key into the provider. */
export function loadCredential(
  input: CredentialInput,
  provider: CryptoProvider,
  label = 'credential',
  purpose?: string,
): LoadedCredential {
  const chain =
    typeof input.cert === 'string' || Buffer.isBuffer(input.cert)
      ? pemToDerChain(input.cert.toString())
      : input.cert.map((c) => new Uint8Array(c))
  if (chain.length === 0) throw new UsageError(`credential ${label} has no certificate`)
  const keyInput = typeof input.key === 'string' ? input.key : Buffer.isBuffer(input.key) && isPem(input.key) ? input.key.toString() : new Uint8Array(input.key)
  const key = provider.importPrivateKey(keyInput)
  const leaf = new X509Certificate(chain[0]!)
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

function isPem(b: Buffer): boolean {
  return b.subarray(0, 64).toString('latin1').includes('-----BEGIN')
}
