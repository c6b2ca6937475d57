/**
 * EKU roles (draft-frank-mtls-via-serverauth-extension-00, EKU digest §2–§3): who a validated
 * certificate identifies — a *user* (clientAuth: a natural or legal entity) or a *device*
 * (serverAuth: a host/server) — and whether that is acceptable for what the route expects.
 *
 * Presets:
 *  - `rfc5280`: the classic column of the digest's table (RFC 5280 §4.2.1.12 + OpenSSL's
 *    "sslclient" purpose): an initiator certificate needs clientAuth, anyExtendedKeyUsage or no
 *    extKeyUsage at all; serverAuth-only and other-purpose-only certificates are rejected. EKU
 *    says nothing about user vs device here: the route's purpose is granted as the role.
 *  - `frank`: the digest's "Decision [ours]" column (rows 1–11), parameterised by `pki`
 *    (`'public'` default: rows 8–10 reject; `'private'`: they accept) and
 *    `allowClientAuthDevices` (row 2's allow-list for legacy clientAuth devices, private only).
 *  - a function: the application decides per purpose (see {@link CustomEkuPolicy}).
 *
 * The draft expired without adoption (digest §0, §6.5), so `frank` is opt-in; nothing here
 * changes how the *responder's* certificate is checked (that stays serverAuth, digest §3).
 */
import { PolicyRejectedError } from '../errors.js'
import { validateChain } from './chain.js'
import type { ChainFailure, ChainOptions, RevocationCheck } from './chain.js'
import { EkuOid, parseCertificate } from './parsed-cert.js'
import type { ParsedCert } from './parsed-cert.js'

/** What an identity can be to the application. */
export type Role = 'user' | 'device'

/**
 * What a route expects of the peer (digest §3 EXPECT): `user`, `device`, `server-peer`
 * (server-to-server federation, rows 3/4/7), or `any` (user or device; both roles reported).
 */
export type Purpose = 'user' | 'device' | 'server-peer' | 'any'

/** EKU column of the digest's table. */
export type EkuClass = 'absent' | 'server' | 'client' | 'server+client' | 'any' | 'other'

/** Result of {@link classifyEku}. */
export interface EkuClassification {
  /** Roles the listed purposes name: clientAuth → user, serverAuth → device. */
  readonly roles: ReadonlySet<Role>
  /** The extKeyUsage OIDs as listed; empty when the extension is absent. */
  readonly ekus: readonly string[]
  /** The table row group; `any` whenever anyExtendedKeyUsage is listed (row 10). */
  readonly class: EkuClass
}

/** ID column of the digest's table: device-type names vs person/organisation-type names. */
export type IdKind = 'device' | 'person'

function parsed(leaf: Uint8Array | ParsedCert): ParsedCert {
  return leaf instanceof Uint8Array ? parseCertificate(leaf) : leaf
}

/**
 * Classifies a leaf by its extKeyUsage (EKU digest §3, EKU column).
 * @param leaf - DER or parsed end-entity certificate.
 * @returns roles (user = clientAuth, device = serverAuth; both; or none), the OIDs, and the class.
 * @throws DecodeError (`ERR_SC_DECODE`) for an unparseable DER certificate.
 */
export function classifyEku(leaf: Uint8Array | ParsedCert): EkuClassification {
  const c = parsed(leaf)
  const ekus = c.eku ?? []
  const roles = new Set<Role>()
  if (ekus.includes(EkuOid.clientAuth)) roles.add('user')
  if (ekus.includes(EkuOid.serverAuth)) roles.add('device')
  const cls: EkuClass =
    c.eku === undefined
      ? 'absent'
      : ekus.includes(EkuOid.anyExtendedKeyUsage)
        ? 'any'
        : roles.size === 2
          ? 'server+client'
          : roles.has('device')
            ? 'server'
            : roles.has('user')
              ? 'client'
              : 'other'
  return { roles, ekus: [...ekus], class: cls }
}

const SRV_NAME = '1.3.6.1.5.5.7.8.7'

/**
 * The kind of identity a leaf carries (EKU digest §3, ID column): `device` when it has a SAN
 * dNSName, iPAddress, SRVName or a `spiffe:` URI; otherwise `person` (rfc822Name, other URIs,
 * or only a subject DN).
 */
export function identityKind(leaf: Uint8Array | ParsedCert): IdKind {
  const c = parsed(leaf)
  const device = c.subjectAltNames.some(
    (n) =>
      n.type === 'dns' ||
      n.type === 'ip' ||
      (n.type === 'uri' && n.value.toLowerCase().startsWith('spiffe:')) ||
      (n.type === 'other' && n.oid === SRV_NAME),
  )
  return device ? 'device' : 'person'
}

/** Why policy (not the chain) rejected an identity. */
export type EkuFailure =
  /** The EKU does not allow the expected purpose under the preset (rows 2, 3, 6, 11; rfc5280). */
  | 'eku-purpose'
  /** Acceptable only under a private PKI (rows 8, 9, 10 with `pki: 'public'`). */
  | 'eku-private-pki-only'
  /** An issuing CA's extKeyUsage does not allow the purpose (EKU nesting). */
  | 'eku-issuer'
  /** Server-peer identity checks failed (digest §4.2 step 4). */
  | 'peer-identity'
  /** A custom policy said no. */
  | 'custom-rejected'

/** Every reason a {@link Decision} can reject with. */
export type DecisionFailure = ChainFailure | EkuFailure

/** What a custom EKU policy answers. */
export type EkuVerdict = { readonly accept: true } | { readonly accept: false; readonly detail: string }

/** Input of a {@link CustomEkuPolicy}. */
export interface EkuPolicyInput {
  /** A single purpose (`any` is asked as `user` then `device`). */
  readonly purpose: Exclude<Purpose, 'any'>
  readonly eku: EkuClassification
  readonly idKind: IdKind
  /** Validated path, leaf first, anchor last. */
  readonly path: readonly ParsedCert[]
}

/** An application EKU policy. */
export type CustomEkuPolicy = (input: EkuPolicyInput) => EkuVerdict | Promise<EkuVerdict>

/** Which EKU rules apply. */
export type EkuPreset = 'rfc5280' | 'frank' | CustomEkuPolicy

/** Settings of the `frank` preset (ignored by the others). */
export interface FrankOptions {
  /** `'public'` (default): WebPKI-like anchors, rows 8–10 reject. `'private'`: they accept. */
  readonly pki?: 'public' | 'private'
  /** Row 2: accept clientAuth-only device certificates as devices (private PKI only). */
  readonly allowClientAuthDevices?: boolean
}

/** Server-peer identity checks (digest §4.2 step 4): the expected peer, when known. */
export interface PeerExpectation {
  /** Required SAN dNSName match (`X509Certificate.checkHost`, no subject CN fallback). */
  readonly dnsName?: string
  /** Required SAN iPAddress match (`X509Certificate.checkIP`, binary comparison). */
  readonly ip?: string
}

/** The outcome of the EKU table for one purpose, before chain checks are merged in. */
export interface TableOutcome {
  /** Row of the digest's table this case falls under (for logs, tests, problem details). */
  readonly row: number
  readonly accept: boolean
  readonly reason?: EkuFailure
  readonly detail: string
  /** The EKU OID that justifies acceptance, checked against issuers (EKU nesting). */
  readonly oid: string
}

/**
 * The `frank` column of the EKU digest's decision table (§3) for one purpose.
 * @param cls - EKU class of the leaf.
 * @param expect - what the route expects.
 * @param idKind - ID column.
 * @param options - PKI kind and the row 2 allow-list.
 * @returns row, verdict and the justifying OID.
 */
export function frankTable(
  cls: EkuClass,
  expect: Exclude<Purpose, 'any'>,
  idKind: IdKind,
  options: FrankOptions = {},
): TableOutcome {
  const priv = options.pki === 'private'
  const wantOid = expect === 'user' ? EkuOid.clientAuth : EkuOid.serverAuth
  const ok = (row: number, detail: string, oid = wantOid): TableOutcome => ({ row, accept: true, detail, oid })
  const no = (row: number, reason: EkuFailure, detail: string): TableOutcome => ({
    row,
    accept: false,
    reason,
    detail,
    oid: wantOid,
  })
  switch (cls) {
    case 'other':
      return no(11, 'eku-purpose', 'extKeyUsage lists neither serverAuth nor clientAuth')
    case 'absent':
      return priv
        ? ok(9, `no extKeyUsage, accepted as ${expect} under a private PKI`)
        : no(9, 'eku-private-pki-only', 'no extKeyUsage is acceptable only under a private PKI')
    case 'any':
      if (!priv) {
        return no(10, 'eku-private-pki-only', 'anyExtendedKeyUsage is acceptable only under a private PKI')
      }
      return ok(10, `anyExtendedKeyUsage, treated as serverAuth+clientAuth under a private PKI`)
    case 'client':
      if (expect === 'user') return ok(1, 'clientAuth: a user')
      if (priv && options.allowClientAuthDevices === true && idKind === 'device') {
        return ok(2, 'clientAuth device on the private-PKI allow-list', EkuOid.clientAuth)
      }
      return expect === 'server-peer' && !priv
        ? no(3, 'eku-purpose', 'clientAuth only: not a server')
        : no(2, 'eku-purpose', 'clientAuth only: a user credential, not a device')
    case 'server':
      if (expect === 'user') return no(6, 'eku-purpose', 'serverAuth only: a device, not a person')
      return expect === 'server-peer' ? ok(4, 'serverAuth: a server peer') : ok(5, 'serverAuth: a device')
    case 'server+client':
      if (expect === 'user') {
        return priv
          ? ok(8, 'serverAuth+clientAuth accepted as a user under a private PKI')
          : no(8, 'eku-private-pki-only', 'serverAuth+clientAuth is a user credential only under a private PKI')
      }
      return ok(7, `serverAuth+clientAuth accepted as ${expect === 'device' ? 'a device' : 'a server peer'}`)
  }
}

/**
 * The classic column (RFC 5280 §4.2.1.12 with OpenSSL's client purpose) for an initiator
 * certificate: clientAuth, anyExtendedKeyUsage or no extKeyUsage.
 */
export function rfc5280Table(cls: EkuClass, expect: Exclude<Purpose, 'any'>): TableOutcome {
  const row = rowOf(cls, expect)
  const oid = EkuOid.clientAuth
  if (cls === 'server' || cls === 'other') {
    const detail =
      cls === 'server'
        ? 'serverAuth without clientAuth cannot identify a client (rfc5280 preset)'
        : 'extKeyUsage lacks clientAuth'
    return { row, accept: false, reason: 'eku-purpose', detail, oid }
  }
  return { row, accept: true, detail: `accepted as ${expect} (rfc5280 preset)`, oid }
}

/** The table row of a case without the PKI split (for reporting under non-frank presets). */
function rowOf(cls: EkuClass, expect: Exclude<Purpose, 'any'>): number {
  switch (cls) {
    case 'client':
      return expect === 'user' ? 1 : expect === 'server-peer' ? 3 : 2
    case 'server':
      return expect === 'user' ? 6 : expect === 'server-peer' ? 4 : 5
    case 'server+client':
      return expect === 'user' ? 8 : 7
    case 'absent':
      return 9
    case 'any':
      return 10
    case 'other':
      return 11
  }
}

/** What {@link evaluateIdentity} decides. */
export type Decision =
  | {
      readonly accept: true
      /** Roles the identity is accepted in for this purpose (`server-peer` counts as device). */
      readonly roles: ReadonlySet<Role>
      /** Leaf first, anchor last. */
      readonly path: readonly ParsedCert[]
      readonly purpose: Purpose
      readonly eku: EkuClassification
      readonly idKind: IdKind
      /** The decision table row(s) applied (one per role asked). */
      readonly rows: readonly number[]
      readonly revocation: 'good' | 'unknown' | 'not-checked'
    }
  | {
      readonly accept: false
      readonly reason: DecisionFailure
      /** Short lower-case text, safe for a problem-details body. */
      readonly detail: string
      readonly purpose: Purpose
      /** Table row, when the EKU table (not the chain) rejected. */
      readonly row?: number
      /** Position in the chain of the certificate at fault, for chain failures. */
      readonly index?: number
    }

/** Policy input of {@link evaluateIdentity}. */
export interface IdentityPolicy extends FrankOptions {
  /** Chain validation settings (anchors, clock, limits, revocation). `requiredEku` is ignored. */
  readonly chain: ChainOptions
  /** EKU rules. */
  readonly preset: EkuPreset
  /** For `server-peer`: who the peer must be. Omitted = the caller checks the name itself. */
  readonly expectedPeer?: PeerExpectation
}

/**
 * Validates a chain and applies the EKU table for a purpose.
 *
 * @param chainDer - DER certificates, leaf first (rest in any order).
 * @param purpose - what the route expects; `any` accepts when `user` or `device` is acceptable
 *   and reports every role that is.
 * @param policy - chain options, preset, PKI kind, expected peer.
 * @returns a {@link Decision}; chain failures come back as `accept: false` with the ChainFailure.
 * @throws UsageError (`ERR_SC_USAGE`) for unparseable anchors.
 */
export async function evaluateIdentity(
  chainDer: readonly Uint8Array[],
  purpose: Purpose,
  policy: IdentityPolicy,
): Promise<Decision> {
  const { requiredEku: _ignored, ...chainOptions } = policy.chain
  const chain = await validateChain(chainDer, chainOptions)
  if (!chain.ok) {
    return {
      accept: false,
      reason: chain.reason,
      detail: chain.detail,
      purpose,
      ...(chain.index !== undefined ? { index: chain.index } : {}),
    }
  }
  return decideForPath(chain.path, chain.revocation, purpose, policy)
}

/**
 * The EKU half of {@link evaluateIdentity}, for a path that is already validated.
 * @returns the decision for `purpose`.
 */
export async function decideForPath(
  path: readonly ParsedCert[],
  revocation: 'good' | 'unknown' | 'not-checked',
  purpose: Purpose,
  policy: Omit<IdentityPolicy, 'chain'>,
): Promise<Decision> {
  const leaf = path[0]!
  const eku = classifyEku(leaf)
  const idKind = identityKind(leaf)
  const asked: Exclude<Purpose, 'any'>[] = purpose === 'any' ? ['user', 'device'] : [purpose]
  const roles = new Set<Role>()
  const rows: number[] = []
  const failures: Extract<Decision, { accept: false }>[] = []
  for (const p of asked) {
    const out = await applyPreset(policy, p, eku, idKind, path)
    if (out.accept) {
      roles.add(p === 'user' ? 'user' : 'device')
      rows.push(out.row)
    } else {
      failures.push({
        accept: false,
        reason: out.reason ?? 'eku-purpose',
        detail: out.detail,
        purpose,
        ...(out.row > 0 ? { row: out.row } : {}),
      })
    }
  }
  if (roles.size === 0) {
    const first = failures[0]!
    return failures.length === 1
      ? first
      : { ...first, detail: failures.map((f) => `${f.detail}`).join('; ') }
  }
  return { accept: true, roles, path, purpose, eku, idKind, rows, revocation }
}

async function applyPreset(
  policy: Omit<IdentityPolicy, 'chain'>,
  p: Exclude<Purpose, 'any'>,
  eku: EkuClassification,
  idKind: IdKind,
  path: readonly ParsedCert[],
): Promise<TableOutcome> {
  const preset = policy.preset
  if (typeof preset === 'function') {
    let v: EkuVerdict
    try {
      v = await preset({ purpose: p, eku, idKind, path })
    } catch (e) {
      v = { accept: false, detail: `custom policy failed: ${e instanceof Error ? e.message : 'error'}` }
    }
    // A custom policy owns every EKU rule, nesting included.
    return v.accept
      ? { row: 0, accept: true, detail: 'accepted by custom policy', oid: '' }
      : { row: 0, accept: false, reason: 'custom-rejected', detail: v.detail, oid: '' }
  }
  const out = preset === 'rfc5280' ? rfc5280Table(eku.class, p) : frankTable(eku.class, p, idKind, policy)
  if (!out.accept) return out
  // EKU nesting (digest §3 last paragraph): issuers that list purposes must allow this one.
  for (let i = 1; i < path.length; i++) {
    const e = path[i]!.eku
    if (e && !e.includes(out.oid) && !e.includes(EkuOid.anyExtendedKeyUsage)) {
      return { ...out, accept: false, reason: 'eku-issuer', detail: `issuer ${i} does not allow ${out.oid}` }
    }
  }
  if (p === 'server-peer') {
    const why = peerMismatch(path[0]!, idKind, policy.expectedPeer)
    if (why) return { ...out, accept: false, reason: 'peer-identity', detail: why }
  }
  return out
}

function peerMismatch(leaf: ParsedCert, idKind: IdKind, expected: PeerExpectation | undefined): string | undefined {
  if (idKind !== 'device') return 'no dNSName, iPAddress, SRVName or workload URI to identify a server peer'
  if (!expected) return undefined
  if (expected.dnsName !== undefined && leaf.node.checkHost(expected.dnsName, { subject: 'never' }) === undefined) {
    return `certificate does not name ${expected.dnsName}`
  }
  if (expected.ip !== undefined && leaf.node.checkIP(expected.ip) === undefined) {
    return `certificate does not name ${expected.ip}`
  }
  return undefined
}

/**
 * The error for a rejected decision, for callers that prefer throwing (route protection answers
 * 403 with it; it is never a connection error, SERVER §6.2).
 * @param d - a rejected {@link Decision}.
 * @returns PolicyRejectedError (`ERR_SC_POLICY_REJECTED`) whose `reason` is the DecisionFailure.
 */
export function decisionRejectedError(d: Extract<Decision, { accept: false }>): PolicyRejectedError {
  return new PolicyRejectedError(d.reason, `certificate not acceptable as ${d.purpose} (${d.reason}): ${d.detail}`)
}

/** Revocation hook type, re-exported for policy users. */
export type { RevocationCheck }
