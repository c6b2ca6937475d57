/**
 * Is a certificate that passed RFC 9261 validation acceptable? The policy object the HTTP/2
 * server calls with each validated identity, and the data helpers that shape requests so the
 * peer's default selector picks the right credential (RFC 8446 §4.2.4 certificate_authorities,
 * §4.2.5 oid_filters; EKU digest §4.3).
 *
 * Mechanism (chain.ts) and EKU policy (eku.ts) are combined here with per-purpose anchors (digest
 * §3: keep user, device and server-peer anchors apart) and stapled OCSP extraction.
 */
import type { Extension, OidFilter } from '../wire/tls/extensions.js'
import { prepareAnchors, stapledOcspResponse, validateChain } from './chain.js'
import type { AnchorInput, ChainOptions, RevocationCheck, TrustAnchors } from './chain.js'
import { children, content, decodeOid, encodeOid, encodeTlv, readTlv, topTlv } from './der.js'
import { decideForPath } from './eku.js'
import type { Decision, EkuPreset, PeerExpectation, Purpose } from './eku.js'
import { EkuOid, ExtensionOid, KEY_USAGE_BITS, nameKey, parseCertificate } from './parsed-cert.js'
import type { ParsedCert } from './parsed-cert.js'

/** RFC 8446 §4.2 extension type of status_request (stapled OCSP in certificate entries). */
const STATUS_REQUEST = 0x0005

/** Options of {@link createCertificatePolicy}. */
export interface CertificatePolicy {
  /** Trust anchors for every purpose without its own entry in `anchorsByPurpose`. */
  readonly anchors: readonly AnchorInput[] | TrustAnchors
  /** Separate anchors per purpose (digest §3: user, device and server-peer CAs kept apart). */
  readonly anchorsByPurpose?: Partial<Record<Exclude<Purpose, 'any'>, readonly AnchorInput[] | TrustAnchors>>
  /** EKU rules: `'rfc5280'`, `'frank'` or a callback. */
  readonly preset: EkuPreset
  /** `frank`: `'public'` (default) or `'private'` PKI (rows 8–10). */
  readonly pki?: 'public' | 'private'
  /** `frank` row 2: accept clientAuth-only device certificates (private PKI only). */
  readonly allowClientAuthDevices?: boolean
  /** Clock; default `() => new Date()`. */
  readonly now?: () => Date
  /** Revocation hook; gets the stapled OCSP response of each entry when there is one. */
  readonly checkRevocation?: RevocationCheck
  readonly requireRevocationCheck?: boolean
  readonly revocationScope?: 'leaf' | 'chain'
  /** Other chain settings (clock tolerance, limits, understood critical extensions). */
  readonly chain?: Pick<
    ChainOptions,
    'clockToleranceMs' | 'maxPathLength' | 'maxSignatureChecks' | 'understoodCriticalExtensions'
  >
}

/** What the policy function gets: a validated authenticator's chain and entry extensions. */
export interface PolicyIdentity {
  /** DER certificates as received, end-entity first. */
  readonly chain: readonly Uint8Array[]
  /** Certificate entries as received (binding `Identity.entries`), index-aligned with `chain`. */
  readonly entries?: readonly { readonly extensions: readonly Extension[] }[]
  /** Alternatively, just the per-entry extensions, index-aligned with `chain`. */
  readonly entryExtensions?: readonly (readonly Extension[])[]
}

/** Per-call extras. */
export interface PolicyContext {
  /** `server-peer`: the expected peer name or address (digest §4.2 step 4). */
  readonly expectedPeer?: PeerExpectation
}

/** The function {@link createCertificatePolicy} returns. */
export type CertificatePolicyFn = (
  identity: PolicyIdentity,
  purpose: Purpose,
  context?: PolicyContext,
) => Promise<Decision>

/**
 * Builds the policy function the HTTP/2 server calls after RFC 9261 validation succeeded.
 * Anchors are parsed once here.
 *
 * @param opts - anchors, preset and chain settings; see {@link CertificatePolicy}.
 * @returns `(identity, purpose, context?) => Promise<Decision>`; never throws for a bad peer
 *   certificate (rejections are decisions, SERVER §6.2).
 * @throws UsageError (`ERR_SC_USAGE`) for unparseable or missing anchors.
 */
export function createCertificatePolicy(opts: CertificatePolicy): CertificatePolicyFn {
  const shared = prepareAnchors(opts.anchors)
  const byPurpose = new Map<Exclude<Purpose, 'any'>, TrustAnchors>()
  for (const [p, a] of Object.entries(opts.anchorsByPurpose ?? {})) {
    if (a) byPurpose.set(p as Exclude<Purpose, 'any'>, prepareAnchors(a))
  }
  const anchorsFor = (p: Exclude<Purpose, 'any'>): TrustAnchors => byPurpose.get(p) ?? shared

  return async (identity, purpose, context) => {
    const ocspResponses = identity.chain.map((_, i) => {
      const exts = identity.entries?.[i]?.extensions ?? identity.entryExtensions?.[i] ?? []
      const sr = exts.find((e) => e.type === STATUS_REQUEST)
      return sr ? stapledOcspResponse(sr.data) : undefined
    })
    const now = opts.now?.() ?? new Date()
    const chainOptions = (anchors: TrustAnchors): ChainOptions => ({
      ...opts.chain,
      anchors,
      now,
      ocspResponses,
      ...(opts.checkRevocation ? { checkRevocation: opts.checkRevocation } : {}),
      ...(opts.requireRevocationCheck !== undefined ? { requireRevocationCheck: opts.requireRevocationCheck } : {}),
      ...(opts.revocationScope ? { revocationScope: opts.revocationScope } : {}),
    })
    const eku = {
      preset: opts.preset,
      ...(opts.pki ? { pki: opts.pki } : {}),
      ...(opts.allowClientAuthDevices !== undefined ? { allowClientAuthDevices: opts.allowClientAuthDevices } : {}),
      ...(context?.expectedPeer ? { expectedPeer: context.expectedPeer } : {}),
    }
    const single = async (p: Exclude<Purpose, 'any'>): Promise<Decision> => {
      const r = await validateChain(identity.chain, chainOptions(anchorsFor(p)))
      if (!r.ok) {
        return {
          accept: false,
          reason: r.reason,
          detail: r.detail,
          purpose: p,
          ...(r.index !== undefined ? { index: r.index } : {}),
        }
      }
      return decideForPath(r.path, r.revocation, p, eku)
    }
    if (purpose !== 'any') return single(purpose)
    // `any`: each role against its own anchors; accepted roles are merged.
    const [u, d] = await Promise.all([single('user'), single('device')])
    if (u.accept && d.accept) {
      return { ...u, purpose: 'any', roles: new Set(['user', 'device']), rows: [...u.rows, ...d.rows] }
    }
    if (u.accept) return { ...u, purpose: 'any' }
    if (d.accept) return { ...d, purpose: 'any' }
    return { ...u, purpose: 'any', detail: `as user: ${u.detail}; as device: ${d.detail}` }
  }
}

// ---------------------------------------------------------------------------------------------
// Request shaping

/**
 * DistinguishedNames for a `certificate_authorities` extension (RFC 8446 §4.2.4): the DER
 * subject Names of the anchors and of any intermediates given, deduplicated, in order.
 * @param anchors - anchors as DER, PEM text or parsed.
 * @param intermediates - optional intermediate CAs to name too.
 * @returns DER `Name` encodings.
 * @throws UsageError (`ERR_SC_USAGE`) for unparseable input.
 */
export function certificateAuthoritiesFromAnchors(
  anchors: readonly AnchorInput[] | TrustAnchors,
  intermediates: readonly AnchorInput[] = [],
): Uint8Array[] {
  const certs = [...prepareAnchors(anchors).certs, ...(intermediates.length ? prepareAnchors(intermediates).certs : [])]
  const seen = new Set<string>()
  const out: Uint8Array[] = []
  for (const c of certs) {
    const hex = Buffer.from(c.subjectDer).toString('hex')
    if (seen.has(hex)) continue
    seen.add(hex)
    out.push(Uint8Array.from(c.subjectDer))
  }
  return out
}

const EKU_OID_BODY = encodeOid(ExtensionOid.extKeyUsage)

/**
 * An `oid_filters` entry (RFC 8446 §4.2.5) asking for the EKU of a purpose: `user` → clientAuth,
 * `device` and `server-peer` → serverAuth (EKU digest §4.3).
 *
 * Encoding: `oid` holds the DER content octets of id-ce-extKeyUsage (`55 1d 25`, no tag or
 * length) — the project's reading of "DER-encoded" in §4.2.5, matching the wire codec;
 * `values` holds the DER ExtendedKeyUsage SEQUENCE with the one purpose. {@link matchesOidFilters}
 * also accepts an OID sent with its tag and length.
 */
export function ekuOidFilter(purpose: Exclude<Purpose, 'any'>): OidFilter {
  const oid = purpose === 'user' ? EkuOid.clientAuth : EkuOid.serverAuth
  return { oid: Uint8Array.from(EKU_OID_BODY), values: encodeTlv(0x30, encodeTlv(0x06, encodeOid(oid))) }
}

/** OID text of a filter's `certificate_extension_oid`, with or without tag+length. */
function filterOid(bytes: Uint8Array): string | undefined {
  try {
    if (bytes[0] === 0x06 && bytes.length >= 2 && bytes[1] === bytes.length - 2) {
      return decodeOid(bytes.subarray(2))
    }
    return decodeOid(bytes)
  } catch {
    return undefined
  }
}

/** Purpose OIDs of an EKU filter value: a SEQUENCE OF OID (or bare OID TLVs back to back). */
function filterPurposes(values: Uint8Array): string[] | undefined {
  try {
    if (values.length === 0) return []
    let list = values
    const first = readTlv(values, 0)
    if (first.tag === 0x30) {
      topTlv(values, 0x30, 'ExtendedKeyUsage filter')
      list = content(values, first)
    }
    const wrapper = { tag: 0x30, start: 0, contentStart: 0, end: list.length }
    return children(list, wrapper).map((t) => {
      if (t.tag !== 0x06) throw new Error('not an OID')
      return decodeOid(content(list, t))
    })
  } catch {
    return undefined
  }
}

/** keyUsage bits of a KeyUsage filter value (a DER BIT STRING). */
function filterKeyUsage(values: Uint8Array): string[] | undefined {
  try {
    const t = topTlv(values, 0x03, 'KeyUsage filter')
    const b = content(values, t)
    return KEY_USAGE_BITS.filter((_, bit) => ((b[1 + (bit >> 3)] ?? 0) & (0x80 >> (bit & 7))) !== 0)
  } catch {
    return undefined
  }
}

/**
 * Whether a certificate satisfies `oid_filters` (RFC 8446 §4.2.5): for extKeyUsage, the
 * certificate has the extension and lists every requested purpose; for keyUsage, every requested
 * bit is set. Filters on other extensions are not recognised and skipped, as §4.2.5 tells a
 * client to do; so are filters whose bytes cannot be parsed. An empty list matches everything.
 *
 * @param leafDer - the end-entity certificate (DER or parsed).
 * @param filters - from the CertificateRequest.
 * @returns true when the certificate matches; false also for an unparseable certificate.
 */
export function matchesOidFilters(leafDer: Uint8Array | ParsedCert, filters: readonly OidFilter[]): boolean {
  let leaf: ParsedCert
  try {
    leaf = leafDer instanceof Uint8Array ? parseCertificate(leafDer) : leafDer
  } catch {
    return false
  }
  for (const f of filters) {
    const oid = filterOid(f.oid)
    if (oid === ExtensionOid.extKeyUsage) {
      const want = filterPurposes(f.values)
      if (want === undefined) continue
      if (leaf.eku === undefined) return false
      if (!want.every((p) => leaf.eku!.includes(p))) return false
    } else if (oid === ExtensionOid.keyUsage) {
      const want = filterKeyUsage(f.values)
      if (want === undefined) continue
      if (leaf.keyUsage === undefined) return false
      if (!want.every((b) => leaf.keyUsage!.has(b as (typeof KEY_USAGE_BITS)[number]))) return false
    }
  }
  return true
}

/**
 * Whether a chain answers `certificate_authorities` (RFC 8446 §4.2.4): some certificate of it is
 * issued by one of the named CAs (names compared as in path validation). Unparseable names or
 * certificates are skipped. An empty list matches nothing.
 *
 * @param chainDer - DER certificates, leaf first (or parsed).
 * @param names - DER `Name` encodings from the request.
 * @returns true when one issuer is named.
 */
export function matchesCertificateAuthorities(
  chainDer: readonly (Uint8Array | ParsedCert)[],
  names: readonly Uint8Array[],
): boolean {
  const keys = new Set<string>()
  for (const n of names) {
    try {
      keys.add(nameKey(n))
    } catch {
      // A malformed name cannot match anything.
    }
  }
  for (const c of chainDer) {
    try {
      const p = c instanceof Uint8Array ? parseCertificate(c) : c
      if (keys.has(p.issuerKey)) return true
    } catch {
      // skip
    }
  }
  return false
}
