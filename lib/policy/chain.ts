/**
 * Certificate path building and validation (RFC 5280 §6, mechanism only; which EKU a purpose
 * needs is policy and lives in `eku.ts`).
 *
 * Certificates in an exported authenticator never pass through OpenSSL's verifier (EKU digest
 * §5), so this is the whole trust decision for secondary certificates.
 *
 * What is checked, in this order, on a candidate path leaf → … → anchor:
 *  - building: each certificate's issuer Name matches the next one's subject Name (RFC 5280
 *    §7.1, simplified: case-folded, whitespace-collapsed string values) and its signature
 *    verifies with the next one's public key (node `X509Certificate.verify`, so every key type
 *    OpenSSL knows: ECDSA, RSA, RSASSA-PSS, Ed25519, Ed448; ML-DSA-44/65/87 signatures of
 *    RFC 9881 through `ml-dsa-signature.ts`, since OpenSSL 3.0 has none). The rest of the chain may be in
 *    any order, hold unrelated certificates, or include the anchor. Anchors are tried before
 *    chain certificates; a certificate never appears twice in a path (loop protection); paths
 *    are at most `maxPathLength` certificates; at most `maxSignatureChecks` signatures are
 *    checked per call.
 *  - validity period of every certificate except the anchor (RFC 5280 §6.1.3 (a)(2)), against
 *    `now` (injectable) with `clockToleranceMs`; a leaf that is itself an anchor is checked.
 *  - critical extensions: a critical extension outside basicConstraints, keyUsage,
 *    extKeyUsage, subjectAltName, nameConstraints, certificatePolicies (we do no policy
 *    processing: any policy is acceptable) and `understoodCriticalExtensions` fails the path
 *    (RFC 5280 §4.2). Anchors are exempt.
 *  - issuers (every certificate above the leaf except the anchor): basicConstraints cA=TRUE
 *    (§4.2.1.9) and, when keyUsage is present, keyCertSign (§4.2.1.3).
 *  - pathLenConstraint of every issuer, the anchor included (§4.2.1.9: non-self-issued
 *    intermediates below it).
 *  - nameConstraints of every issuer, the anchor included (RFC 5937 lets anchors carry
 *    constraints), against the subject DN and SANs of every certificate below it, self-issued
 *    intermediates excepted (§6.1.3 (b)). See `name-constraints.ts` for the forms handled.
 *  - the leaf: keyUsage, when present, must include digitalSignature (TLS 1.3 and exported
 *    authenticators sign; EKU digest §1).
 *  - `requiredEku` (any of): the leaf's extKeyUsage must list one of them. A leaf without the
 *    extension passes (RFC 5280 §4.2.1.12: no restriction) unless `acceptMissingEku: false`; a
 *    leaf whose only match is anyExtendedKeyUsage fails unless `acceptAnyEku: true` (RFC 5280
 *    lets applications that need a specific purpose reject it, and we do by default). Issuers
 *    that carry extKeyUsage must allow the purpose too (the common "EKU nesting" rule; an issuer
 *    with anyExtendedKeyUsage or without the extension allows everything).
 *  - revocation, last, on the first path that passed everything else: see {@link RevocationCheck}.
 *
 * When several paths exist the first one that passes wins; when none passes the failure of the
 * first complete path is reported (anchors are preferred, so that is usually the expected one).
 */
import { PolicyRejectedError, UsageError } from '../errors.js'
import { verifyMlDsaCertificateSignature } from './ml-dsa-signature.js'
import { nameConstraintViolation } from './name-constraints.js'
import { EkuOid, ExtensionOid, bytesEqual, parseCertificate, pemCertificates } from './parsed-cert.js'
import type { ParsedCert } from './parsed-cert.js'

/** Why a chain was rejected. One name per check; callers switch on it. */
export type ChainFailure =
  /** No certificates at all. */
  | 'empty-chain'
  /** A certificate of the chain cannot be parsed (or one of its extensions is malformed). */
  | 'malformed-certificate'
  /** No issuer could be found for some certificate (names do not chain to an anchor). */
  | 'no-path'
  /** Every way to an anchor is longer than `maxPathLength`. */
  | 'path-too-long'
  /** Names chain, but a signature does not verify with the issuer's key. */
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  /** An issuing certificate lacks basicConstraints cA=TRUE. */
  | 'not-a-ca'
  /** A pathLenConstraint is exceeded. */
  | 'path-length-exceeded'
  /** An issuing certificate has keyUsage without keyCertSign. */
  | 'issuer-key-usage'
  /** The leaf has keyUsage without digitalSignature. */
  | 'leaf-key-usage'
  /** None of `requiredEku` is allowed by the leaf (or by an issuer's extKeyUsage). */
  | 'eku-missing'
  | 'name-constraints'
  /** A critical extension this validator does not process. */
  | 'unknown-critical-extension'
  | 'revoked'
  /** Revocation status could not be established and `requireRevocationCheck` is set. */
  | 'revocation-unknown'

/** Every {@link ChainFailure}, for tests and exhaustive mappings. */
export const CHAIN_FAILURES: readonly ChainFailure[] = Object.freeze([
  'empty-chain',
  'malformed-certificate',
  'no-path',
  'path-too-long',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'not-a-ca',
  'path-length-exceeded',
  'issuer-key-usage',
  'leaf-key-usage',
  'eku-missing',
  'name-constraints',
  'unknown-critical-extension',
  'revoked',
  'revocation-unknown',
] as const)

/** A trust anchor as configured: DER, PEM text (may hold several certificates), or parsed. */
export type AnchorInput = Uint8Array | string | ParsedCert

/** Parsed trust anchors; build once with {@link prepareAnchors} and reuse. */
export interface TrustAnchors {
  readonly kind: 'trust-anchors'
  readonly certs: readonly ParsedCert[]
}

/** Revocation answer of a {@link RevocationCheck}. */
export type RevocationStatus = 'good' | 'revoked' | 'unknown'

/** What a {@link RevocationCheck} gets besides the certificate and its issuer. */
export interface RevocationContext {
  /**
   * The OCSP response stapled to this certificate's entry (RFC 8446 §4.4.2.1 `status_request`
   * entry extension, the raw DER `OCSPResponse` after the CertificateStatus header), when the
   * caller passed one through `ocspResponses`. Unparsed and unverified: parsing, signature and
   * freshness checks of the OCSP response are the callback's job.
   */
  readonly ocspResponse?: Uint8Array
  /** Position of `cert` in the validated path (0 = leaf). */
  readonly index: number
  /** The whole validated path, leaf first, anchor last. */
  readonly path: readonly ParsedCert[]
  /** The validation time. */
  readonly now: Date
}

/**
 * Application revocation hook, called after every other check passed. Return `'unknown'` when
 * no answer is available; a throw counts as `'unknown'`.
 */
export type RevocationCheck = (
  cert: ParsedCert,
  issuer: ParsedCert,
  ctx: RevocationContext,
) => RevocationStatus | Promise<RevocationStatus>

/** Options of {@link validateChain}. */
export interface ChainOptions {
  /** Trust anchors (self-signed roots or any certificate trusted by configuration). */
  readonly anchors: readonly AnchorInput[] | TrustAnchors
  /** Validation time; default the current time. */
  readonly now?: Date
  /** Allowed clock skew on validity checks, ms. Default 0. */
  readonly clockToleranceMs?: number
  /** The leaf must allow one of these extKeyUsage purposes (OIDs). Omitted = no EKU check. */
  readonly requiredEku?: readonly string[]
  /** With `requiredEku`: accept a leaf without extKeyUsage. Default true (RFC 5280 §4.2.1.12). */
  readonly acceptMissingEku?: boolean
  /** With `requiredEku`: accept anyExtendedKeyUsage in place of a listed purpose. Default false. */
  readonly acceptAnyEku?: boolean
  /** Longest path in certificates, leaf and anchor included. Default 10. */
  readonly maxPathLength?: number
  /** Cap on signature verifications while building. Default 64. */
  readonly maxSignatureChecks?: number
  /** Critical extension OIDs the caller processes itself (otherwise they fail the path). */
  readonly understoodCriticalExtensions?: readonly string[]
  /** Revocation hook; see {@link RevocationCheck}. */
  readonly checkRevocation?: RevocationCheck
  /** Fail with `'revocation-unknown'` unless every checked certificate is `'good'`. Default false. */
  readonly requireRevocationCheck?: boolean
  /** Which certificates to ask about: the leaf only (default) or every non-anchor one. */
  readonly revocationScope?: 'leaf' | 'chain'
  /** Stapled OCSP responses, index-aligned with `chainDer` (see {@link stapledOcspResponse}). */
  readonly ocspResponses?: readonly (Uint8Array | undefined)[]
}

/** Outcome of {@link validateChain}. */
export type ChainResult =
  | {
      readonly ok: true
      /** Leaf first, anchor last (a single element when the leaf is itself an anchor). */
      readonly path: readonly ParsedCert[]
      /** `'not-checked'` without a callback; `'unknown'` if any answer was unknown (and allowed). */
      readonly revocation: 'good' | 'unknown' | 'not-checked'
    }
  | {
      readonly ok: false
      readonly reason: ChainFailure
      /** Short lower-case text for logs and problem details. */
      readonly detail: string
      /**
       * Position in `chainDer` of the certificate at fault; absent when it is a configured
       * anchor the chain did not carry, or when no single certificate is to blame.
       */
      readonly index?: number
    }

/** Failed variant of {@link ChainResult}. */
export type ChainRejection = Extract<ChainResult, { ok: false }>

const UNDERSTOOD_CRITICAL = new Set<string>([
  ExtensionOid.basicConstraints,
  ExtensionOid.keyUsage,
  ExtensionOid.extKeyUsage,
  ExtensionOid.subjectAltName,
  ExtensionOid.nameConstraints,
  ExtensionOid.certificatePolicies,
])

/**
 * Parses trust anchors once, for reuse across many {@link validateChain} calls.
 * @param input - DER certificates, PEM text (every CERTIFICATE block), or parsed certificates.
 * @returns the prepared anchors (as given, when already prepared).
 * @throws UsageError (`ERR_SC_USAGE`) when an anchor cannot be parsed, or none is given.
 */
export function prepareAnchors(input: readonly AnchorInput[] | TrustAnchors): TrustAnchors {
  if (isTrustAnchors(input)) return input
  const certs: ParsedCert[] = []
  for (const a of input) {
    try {
      if (typeof a === 'string') certs.push(...pemCertificates(a).map(parseCertificate))
      else if (a instanceof Uint8Array) certs.push(parseCertificate(a))
      else certs.push(a)
    } catch (e) {
      throw new UsageError('a trust anchor is not a parseable certificate', { cause: e })
    }
  }
  if (certs.length === 0) throw new UsageError('no trust anchors configured')
  return Object.freeze({ kind: 'trust-anchors' as const, certs: Object.freeze(certs) })
}

function isTrustAnchors(x: readonly AnchorInput[] | TrustAnchors): x is TrustAnchors {
  return !Array.isArray(x) && (x as TrustAnchors).kind === 'trust-anchors'
}

/** A certificate in a candidate path: where it came from. */
interface Node {
  readonly cert: ParsedCert
  /** Position in chainDer, when the chain carried it. */
  readonly chainIndex: number | undefined
  readonly isAnchor: boolean
  /** Unique id for signature caching. */
  readonly id: string
}

function sameEntity(a: ParsedCert, b: ParsedCert): boolean {
  return a.subjectKey === b.subjectKey && bytesEqual(a.spkiDer, b.spkiDer)
}

function fail(reason: ChainFailure, detail: string, node?: Node): ChainRejection {
  return node?.chainIndex !== undefined ? { ok: false, reason, detail, index: node.chainIndex } : { ok: false, reason, detail }
}

function who(c: ParsedCert): string {
  return c.subject.replace(/\n/g, ', ')
}

/**
 * Validates `chainDer` (leaf first; the rest in any order) against trust anchors.
 *
 * @param chainDer - DER certificates as received, end-entity first.
 * @param options - anchors, clock, EKU, limits and revocation; see {@link ChainOptions}.
 * @returns `{ ok: true, path }` or `{ ok: false, reason, detail, index? }`; never throws for a
 *   bad chain.
 * @throws UsageError (`ERR_SC_USAGE`) when the anchors themselves cannot be parsed.
 */
export async function validateChain(
  chainDer: readonly Uint8Array[],
  options: ChainOptions,
): Promise<ChainResult> {
  const anchors = prepareAnchors(options.anchors)
  if (chainDer.length === 0) return { ok: false, reason: 'empty-chain', detail: 'no certificates' }
  const chain: ParsedCert[] = []
  for (let i = 0; i < chainDer.length; i++) {
    try {
      chain.push(parseCertificate(chainDer[i]!))
    } catch (e) {
      const what = e instanceof Error ? e.message : 'unparseable'
      return { ok: false, reason: 'malformed-certificate', detail: `certificate ${i}: ${what}`, index: i }
    }
  }
  const now = options.now ?? new Date()
  const maxLen = options.maxPathLength ?? 10
  let budget = options.maxSignatureChecks ?? 64

  const anchorNodes: Node[] = anchors.certs.map((cert, i) => {
    const at = chain.findIndex((c) => sameEntity(c, cert))
    return { cert, chainIndex: at >= 0 ? at : undefined, isAnchor: true, id: `a${i}` }
  })
  const chainNodes: Node[] = chain.map((cert, i) => ({ cert, chainIndex: i, isAnchor: false, id: `c${i}` }))
  const anchorFor = (c: ParsedCert): Node | undefined => anchorNodes.find((a) => sameEntity(a.cert, c))

  const sigCache = new Map<string, boolean>()
  let sigFailure: ChainRejection | undefined
  let depthCut = false
  let budgetOut = false
  let dangling: Node | undefined

  const signedBy = (child: Node, issuer: Node): boolean => {
    const key = `${child.id}>${issuer.id}`
    let ok = sigCache.get(key)
    if (ok === undefined) {
      if (budget <= 0) {
        budgetOut = true
        return false
      }
      budget--
      try {
        // RFC 9881 ML-DSA signatures (or ML-DSA issuer keys) are checked with noble: OpenSSL 3.0
        // parses such certificates but has no ML-DSA. Everything else stays with node.
        const ml = verifyMlDsaCertificateSignature(child.cert.der, issuer.cert.spkiDer)
        ok = ml ?? child.cert.node.verify(issuer.cert.node.publicKey)
      } catch {
        ok = false
      }
      sigCache.set(key, ok)
    }
    return ok
  }

  // Depth-first over issuer candidates: anchors first, then chain certificates.
  function* build(path: Node[]): Generator<Node[]> {
    const top = path[path.length - 1]!
    if (top.isAnchor) {
      yield path
      return
    }
    const candidates = [
      ...anchorNodes.filter((a) => a.cert.subjectKey === top.cert.issuerKey),
      ...chainNodes.filter(
        (c) =>
          c.cert.subjectKey === top.cert.issuerKey &&
          !anchorFor(c.cert) &&
          !path.some((p) => sameEntity(p.cert, c.cert)),
      ),
    ]
    if (candidates.length === 0) {
      dangling ??= top
      return
    }
    if (path.length >= maxLen) {
      depthCut = true
      return
    }
    for (const cand of candidates) {
      if (!signedBy(top, cand)) {
        if (budgetOut) return
        sigFailure ??= fail(
          'bad-signature',
          `signature of ${who(top.cert)} does not verify with the key of ${who(cand.cert)}`,
          top,
        )
        continue
      }
      yield* build([...path, cand])
    }
  }

  const leafNode = chainNodes[0]!
  const leafAnchor = anchorFor(leafNode.cert)
  const start: Node = leafAnchor ? { ...leafAnchor, chainIndex: 0 } : leafNode

  let firstFailure: ChainRejection | undefined
  for (const path of build([start])) {
    const failure = checkPath(path, options, now)
    if (!failure) return revocation(path, options, now)
    firstFailure ??= failure
  }
  if (firstFailure) return firstFailure
  if (budgetOut) {
    return fail('no-path', `gave up after ${options.maxSignatureChecks ?? 64} signature checks`)
  }
  if (sigFailure) return sigFailure
  if (depthCut) return fail('path-too-long', `no path to an anchor within ${maxLen} certificates`)
  const d = dangling ?? leafNode
  return fail('no-path', `no trusted issuer found for ${who(d.cert)}`, d)
}

function checkPath(path: readonly Node[], options: ChainOptions, now: Date): ChainRejection | undefined {
  const skew = options.clockToleranceMs ?? 0
  const understood = new Set([...UNDERSTOOD_CRITICAL, ...(options.understoodCriticalExtensions ?? [])])
  const last = path.length - 1
  for (let i = 0; i <= last; i++) {
    const n = path[i]!
    const c = n.cert
    const exempt = n.isAnchor && i > 0
    if (!exempt) {
      // RFC 5280 §6.1.3 (a)(2)
      if (now.getTime() + skew < c.notBefore.getTime()) {
        return fail('not-yet-valid', `${who(c)} is valid from ${c.notBefore.toISOString()}`, n)
      }
      if (now.getTime() - skew > c.notAfter.getTime()) {
        return fail('expired', `${who(c)} expired at ${c.notAfter.toISOString()}`, n)
      }
      const unknown = c.extensions.find((e) => e.critical && !understood.has(e.oid))
      if (unknown) {
        return fail('unknown-critical-extension', `${who(c)} has critical extension ${unknown.oid}`, n)
      }
    }
    if (i === 0) {
      if (c.keyUsage && !c.keyUsage.has('digitalSignature')) {
        return fail('leaf-key-usage', `${who(c)} keyUsage lacks digitalSignature`, n)
      }
      continue
    }
    // Issuer checks (RFC 5280 §6.1.4 (k), (n)); the anchor is trusted by configuration.
    if (!n.isAnchor) {
      if (!c.basicConstraints?.ca) return fail('not-a-ca', `${who(c)} is not a CA (basicConstraints)`, n)
      if (c.keyUsage && !c.keyUsage.has('keyCertSign')) {
        return fail('issuer-key-usage', `${who(c)} keyUsage lacks keyCertSign`, n)
      }
    }
    // RFC 5280 §4.2.1.9: non-self-issued intermediates between this CA and the leaf.
    const pathLen = c.basicConstraints?.pathLen
    if (pathLen !== undefined) {
      const below = path.slice(1, i).filter((p) => !p.cert.isSelfIssued).length
      if (below > pathLen) {
        return fail('path-length-exceeded', `${who(c)} allows ${pathLen} intermediates, path has ${below}`, n)
      }
    }
    // RFC 5280 §6.1.3 (b)/(c): the leaf and non-self-issued certificates below this CA.
    if (c.nameConstraints) {
      for (let j = 0; j < i; j++) {
        const below = path[j]!
        if (j > 0 && below.cert.isSelfIssued) continue
        const v = nameConstraintViolation(below.cert, c.nameConstraints)
        if (v) return fail('name-constraints', `${v} (constraints of ${who(c)})`, below)
      }
    }
  }
  if (options.requiredEku && options.requiredEku.length > 0) return checkEku(path, options)
  return undefined
}

function checkEku(path: readonly Node[], options: ChainOptions): ChainRejection | undefined {
  const required = options.requiredEku ?? []
  const leaf = path[0]!
  const any = EkuOid.anyExtendedKeyUsage
  let allowed: string[]
  const leafEku = leaf.cert.eku
  if (leafEku === undefined) {
    if (options.acceptMissingEku === false) {
      return fail('eku-missing', `${who(leaf.cert)} has no extKeyUsage`, leaf)
    }
    allowed = [...required]
  } else {
    allowed = required.filter((o) => leafEku.includes(o))
    if (allowed.length === 0 && options.acceptAnyEku === true && leafEku.includes(any)) {
      allowed = [...required]
    }
    if (allowed.length === 0) {
      return fail('eku-missing', `${who(leaf.cert)} extKeyUsage allows none of ${required.join(', ')}`, leaf)
    }
  }
  // EKU nesting: an issuer that lists purposes limits what it may certify.
  for (let i = 1; i < path.length; i++) {
    const n = path[i]!
    const e = n.cert.eku
    if (e === undefined || e.includes(any)) continue
    allowed = allowed.filter((o) => e.includes(o))
    if (allowed.length === 0) {
      return fail('eku-missing', `issuer ${who(n.cert)} extKeyUsage allows none of ${required.join(', ')}`, n)
    }
  }
  return undefined
}

async function revocation(path: readonly Node[], options: ChainOptions, now: Date): Promise<ChainResult> {
  const certs = path.map((n) => n.cert)
  const checker = options.checkRevocation
  const require = options.requireRevocationCheck === true
  // A path of one (the leaf is an anchor) has nothing to ask about.
  const count = path.length < 2 ? 0 : options.revocationScope === 'chain' ? path.length - 1 : 1
  if (!checker) {
    if (require && count > 0) {
      return fail('revocation-unknown', 'revocation check required but no checker configured', path[0])
    }
    return { ok: true, path: certs, revocation: 'not-checked' }
  }
  let unknown = false
  for (let i = 0; i < count; i++) {
    const n = path[i]!
    const ocsp = n.chainIndex !== undefined ? options.ocspResponses?.[n.chainIndex] : undefined
    let status: RevocationStatus
    try {
      status = await checker(n.cert, path[i + 1]!.cert, {
        ...(ocsp ? { ocspResponse: ocsp } : {}),
        index: i,
        path: certs,
        now,
      })
    } catch {
      status = 'unknown'
    }
    if (status === 'revoked') return fail('revoked', `${who(n.cert)} is revoked`, n)
    if (status !== 'good') {
      if (require) return fail('revocation-unknown', `revocation status of ${who(n.cert)} is unknown`, n)
      unknown = true
    }
  }
  if (count === 0) return { ok: true, path: certs, revocation: 'not-checked' }
  return { ok: true, path: certs, revocation: unknown ? 'unknown' : 'good' }
}

/**
 * The stapled OCSP response of a CertificateEntry's `status_request` extension data
 * (RFC 8446 §4.4.2.1, RFC 6066 §8):
 *   struct { CertificateStatusType status_type;  // ocsp(1)
 *            select (status_type) { case ocsp: OCSPResponse response; } } CertificateStatus;
 *   opaque OCSPResponse<1..2^24-1>;
 * @param data - the extension_data.
 * @returns the DER OCSPResponse, or undefined when the data is not a well-formed ocsp status.
 */
export function stapledOcspResponse(data: Uint8Array): Uint8Array | undefined {
  if (data.length < 5 || data[0] !== 1) return undefined
  const len = (data[1]! << 16) | (data[2]! << 8) | data[3]!
  if (len === 0 || 4 + len !== data.length) return undefined
  return data.subarray(4)
}

/**
 * The error for a rejected chain, for callers that prefer throwing.
 * @param r - a failed {@link ChainResult}.
 * @returns a PolicyRejectedError (`ERR_SC_POLICY_REJECTED`) whose `reason` is the ChainFailure.
 */
export function chainRejectedError(r: ChainRejection): PolicyRejectedError {
  return new PolicyRejectedError(r.reason, `certificate chain rejected (${r.reason}): ${r.detail}`)
}

/**
 * {@link validateChain}, throwing on failure.
 * @returns the validated path, leaf first, anchor last.
 * @throws PolicyRejectedError (`ERR_SC_POLICY_REJECTED`, `reason` = the ChainFailure);
 *   UsageError (`ERR_SC_USAGE`) for unparseable anchors.
 */
export async function assertChainValid(
  chainDer: readonly Uint8Array[],
  options: ChainOptions,
): Promise<readonly ParsedCert[]> {
  const r = await validateChain(chainDer, options)
  if (!r.ok) throw chainRejectedError(r)
  return r.path
}
