/**
 * Name constraints matching (RFC 5280 §4.2.1.10, applied per §6.1.3 (b)/(c)).
 *
 * Supported name forms: dNSName, iPAddress, rfc822Name, URI (its host) and directoryName (RDN
 * prefix). Names of any other form (otherName such as SRVName, x400Address, ediPartyName,
 * registeredID) cannot be evaluated: when a constraint of such a form exists and the certificate
 * carries a name of the same form, the certificate is rejected (fail closed). Email addresses in
 * the subject DN (emailAddress attribute) and host names in the subject CN are not checked; only
 * subjectAltName entries and the subject DN as a whole are.
 */
import { nameRdnKeys } from './der.js'
import type { GeneralName } from './der.js'
import type { GeneralSubtree, ParsedCert } from './parsed-cert.js'

/** Kind of a GeneralName for grouping constraints with names (`other:<tag>` for unsupported ones). */
function kindOf(n: GeneralName): string {
  return n.type === 'other' ? `other:${n.tag}` : n.type
}

const lower = (s: string): string => s.toLowerCase().replace(/\.$/, '')

/** dNSName: the constraint plus zero or more labels on the left (a leading dot: subdomains only). */
function dnsMatches(name: string, constraint: string): boolean {
  const n = lower(name)
  const c = lower(constraint)
  if (c === '') return true
  if (c.startsWith('.')) return n.endsWith(c)
  return n === c || n.endsWith('.' + c)
}

/** rfc822Name: a mailbox (exact), a host (all mailboxes on it), or `.domain` (its subdomains). */
function emailMatches(name: string, constraint: string): boolean {
  const at = name.lastIndexOf('@')
  if (at < 0) return false
  const host = lower(name.slice(at + 1))
  const c = constraint
  const cat = constraint.lastIndexOf('@')
  if (cat >= 0) {
    // Local parts compare exactly, hosts case-insensitively (RFC 5280 §7.5).
    return name.slice(0, at) === constraint.slice(0, cat) && host === lower(constraint.slice(cat + 1))
  }
  if (c.startsWith('.')) return host.endsWith(lower(c))
  return host === lower(c)
}

/** URI: the host of the URI against a host (exact) or `.domain` (subdomains). No host: no match. */
function uriMatches(name: string, constraint: string): boolean {
  let host: string
  try {
    host = new URL(name).hostname
  } catch {
    return false
  }
  if (host === '') return false
  const h = lower(host.replace(/^\[|\]$/g, ''))
  const c = lower(constraint)
  if (c.startsWith('.')) return h.endsWith(c)
  return h === c
}

/** iPAddress: same family and equal under the constraint's mask. */
function ipMatches(addr: Uint8Array, constraint: Uint8Array): boolean {
  const n = addr.length
  if (constraint.length !== 2 * n) return false
  for (let i = 0; i < n; i++) {
    const mask = constraint[n + i]!
    if ((addr[i]! & mask) !== (constraint[i]! & mask)) return false
  }
  return true
}

/** directoryName: the constraint's RDNs are a prefix of the name's RDNs. */
function dnMatches(nameDer: Uint8Array, constraintDer: Uint8Array): boolean {
  const n = nameRdnKeys(nameDer)
  const c = nameRdnKeys(constraintDer)
  return c.length <= n.length && c.every((rdn, i) => rdn === n[i])
}

/** Whether `name` is within the subtree `base` (both of the same kind). Unknown kinds: undefined. */
function within(name: GeneralName, base: GeneralName): boolean | undefined {
  if (name.type === 'dns' && base.type === 'dns') return dnsMatches(name.value, base.value)
  if (name.type === 'email' && base.type === 'email') return emailMatches(name.value, base.value)
  if (name.type === 'uri' && base.type === 'uri') return uriMatches(name.value, base.value)
  if (name.type === 'ip' && base.type === 'ip') return ipMatches(name.bytes, base.bytes)
  if (name.type === 'dn' && base.type === 'dn') return dnMatches(name.der, base.der)
  return undefined
}

/** The names of `cert` that constraints apply to: subject DN (when not empty) and SAN entries. */
export function constrainedNames(cert: ParsedCert): GeneralName[] {
  const names: GeneralName[] = [...cert.subjectAltNames]
  if (cert.subjectKey !== '') names.unshift({ type: 'dn', der: cert.subjectDer })
  return names
}

/** Text of a GeneralName for messages. */
export function describeName(n: GeneralName): string {
  switch (n.type) {
    case 'ip':
      return `ip ${n.bytes.length === 4 ? n.bytes.join('.') : Buffer.from(n.bytes).toString('hex')}`
    case 'dn':
      return 'directoryName'
    case 'other':
      return `name with tag 0x${n.tag.toString(16)}${n.oid ? ` (${n.oid})` : ''}`
    default:
      return `${n.type} ${n.value}`
  }
}

/**
 * Checks the names of `cert` against one CA's constraints.
 * @returns undefined when every name is allowed, else a short reason.
 */
export function nameConstraintViolation(
  cert: ParsedCert,
  constraints: { readonly permitted: readonly GeneralSubtree[]; readonly excluded: readonly GeneralSubtree[] },
): string | undefined {
  for (const name of constrainedNames(cert)) {
    const kind = kindOf(name)
    const permitted = constraints.permitted.filter((s) => kindOf(s.base) === kind)
    const excluded = constraints.excluded.filter((s) => kindOf(s.base) === kind)
    for (const s of excluded) {
      const m = within(name, s.base)
      if (m === undefined) return `${describeName(name)} cannot be checked against excluded subtrees`
      if (m) return `${describeName(name)} is in an excluded subtree`
    }
    if (permitted.length > 0) {
      const results = permitted.map((s) => within(name, s.base))
      if (results.includes(undefined)) {
        return `${describeName(name)} cannot be checked against permitted subtrees`
      }
      if (!results.includes(true)) return `${describeName(name)} is outside the permitted subtrees`
    }
  }
  return undefined
}
