import { X509Certificate, createHash } from 'node:crypto'
import type { Verdict } from '../ea/authenticators.js'
import { DecodeError } from '../errors.js'
import { parseCertificate } from '../policy/parsed-cert.js'

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

const NO_EKU: readonly string[] = Object.freeze([])

/**
 * Certificate, subject and EKU of a leaf through the policy layer's parse cache (the same device
 * and user certificates come back on every connection, and route protection parses them anyway).
 * A leaf whose extensions our DER walk refuses still validated its authenticator, so it gets an
 * identity from node's parse alone; policy will reject it with the reason.
 */
function leafView(der: Uint8Array): { certificate: X509Certificate; subject: string; eku: readonly string[] } {
  try {
    const p = parseCertificate(der)
    return { certificate: p.node, subject: p.subject, eku: p.eku ?? NO_EKU }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
    const certificate = new X509Certificate(der)
    return { certificate, subject: certificate.subject, eku: Object.freeze([...(certificate.keyUsage ?? [])]) }
  }
}

/** Builds an Identity from a successful verdict. */
export function identityFromVerdict(label: string, v: Extract<Verdict, { kind: 'identity' }>): Identity {
  const leafDer = v.chain[0]!
  const sha256 = createHash('sha256').update(leafDer).digest('hex')
  const { certificate, subject, eku } = leafView(leafDer)
  return {
    label,
    chain: v.chain,
    certificate,
    subject,
    sha256,
    eku,
    scheme: v.scheme,
    validatedAt: v.validatedAt,
    entries: v.entries,
  }
}
