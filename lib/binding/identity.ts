import { X509Certificate, createHash } from 'node:crypto'
import type { Verdict } from '../ea/authenticators.js'

/** An identity proven on a connection by a validated exported authenticator. */
export interface Identity {
  /** The label of the request it answered (server side), or of the credential (client side). */
  readonly label: string
  /** DER certificates as received, end-entity first. */
  readonly chain: readonly Uint8Array[]
  /** The end-entity certificate. */
  readonly certificate: X509Certificate
  /** Subject of the end-entity certificate, one RDN per line as Node prints it. */
  readonly subject: string
  /** SHA-256 of the end-entity DER, lower-case hex. */
  readonly sha256: string
  /** Extended key usages of the end-entity certificate (OIDs); empty when the extension is absent. */
  readonly eku: readonly string[]
  /** TLS SignatureScheme of the CertificateVerify. */
  readonly scheme: number
  readonly validatedAt: Date
  /** Per-entry extensions as received (e.g. a stapled OCSP response). */
  readonly entries: Extract<Verdict, { kind: 'identity' }>['entries']
}

/** Builds an Identity from a successful verdict. */
export function identityFromVerdict(label: string, v: Extract<Verdict, { kind: 'identity' }>): Identity {
  const leafDer = v.chain[0]!
  const certificate = new X509Certificate(leafDer)
  return {
    label,
    chain: v.chain,
    certificate,
    subject: certificate.subject,
    sha256: createHash('sha256').update(leafDer).digest('hex'),
    eku: certificate.keyUsage ?? [],
    scheme: v.scheme,
    validatedAt: v.validatedAt,
    entries: v.entries,
  }
}
