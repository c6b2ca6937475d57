import type { IdentityRequest } from '../binding/attach-server.js'
import { pemToDerChain } from '../binding/credentials.js'
import { certificateAuthoritiesFromAnchors, ekuOidFilter } from '../policy/certificate-policy.js'

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/** user (clientAuth), device (serverAuth), both, or neither — per the EKU digest's table. */
export function describeRole(eku: readonly string[]): string {
  const user = eku.includes(CLIENT_AUTH)
  const device = eku.includes(SERVER_AUTH)
  return user && device ? 'user+device' : user ? 'user' : device ? 'device' : 'none'
}

const CA_NAMES = new Map<string, Uint8Array[]>()

function caNames(caPem: string): Uint8Array[] {
  let names = CA_NAMES.get(caPem)
  if (!names) {
    names = certificateAuthoritiesFromAnchors(pemToDerChain(caPem))
    if (CA_NAMES.size > 64) CA_NAMES.clear()
    CA_NAMES.set(caPem, names)
  }
  return names
}

/**
 * A request shaped for a purpose: `device` asks for serverAuth, `user` for clientAuth through
 * oid_filters (RFC 8446 §4.2.5), both limited to chains under `caPem` (certificate_authorities).
 */
export function purposeRequest(label: string, caPem?: string): IdentityRequest {
  const certificateAuthorities = caPem ? caNames(caPem) : undefined
  const purpose = label === 'device' || label === 'user' ? label : undefined
  return {
    label,
    ...(certificateAuthorities && certificateAuthorities.length > 0 ? { certificateAuthorities } : {}),
    ...(purpose ? { oidFilters: [ekuOidFilter(purpose)] } : {}),
  }
}
