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

interface ParsedLeaf {
  readonly certificate: X509Certificate
  readonly subject: string
  readonly eku: readonly string[]
}

/**
 * Parsed end-entity certificates by SHA-256 of their DER, least recently used dropped first.
 * A client presents the same device or user certificate on every connection, and parsing one
 * costs more than the rest of building an Identity; X509Certificate objects are immutable, so
 * identities can share them.
 */
const LEAF_CACHE_SIZE = 256
const leafCache = new Map<string, ParsedLeaf>()

function parseLeaf(sha256: string, der: Uint8Array): ParsedLeaf {
  const hit = leafCache.get(sha256)
  if (hit) {
    leafCache.delete(sha256)
    leafCache.set(sha256, hit)
    return hit
  }
  const certificate = new X509Certificate(der)
  const parsed: ParsedLeaf = Object.freeze({
    certificate,
    subject: certificate.subject,
    eku: Object.freeze([...(certificate.keyUsage ?? [])]),
  })
  if (leafCache.size >= LEAF_CACHE_SIZE) {
    const oldest = leafCache.keys().next()
    if (!oldest.done) leafCache.delete(oldest.value)
  }
  leafCache.set(sha256, parsed)
  return parsed
}

/** Builds an Identity from a successful verdict. */
export function identityFromVerdict(label: string, v: Extract<Verdict, { kind: 'identity' }>): Identity {
  const leafDer = v.chain[0]!
  const sha256 = createHash('sha256').update(leafDer).digest('hex')
  const { certificate, subject, eku } = parseLeaf(sha256, leafDer)
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
