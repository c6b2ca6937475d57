/**
 * Which certificate on a connection covers a request's authority (RFC 9113 §9.1.1: a connection
 * is authoritative for a host its certificate is valid for; SERVER -02 §3.2: or one a validated
 * secondary server certificate covers). Used by `h2sc request --authority` and the agent.
 */
import tls from 'node:tls'

/** What covers a host on one connection, if anything. */
export type AuthorityCoverage = 'primary' | 'secondary' | undefined

/** The host part of an authority (`host`, `host:port`, `[v6]:port`), without brackets. */
export function hostOfAuthority(authority: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(authority)
  if (m) return m[1]!
  const colon = authority.lastIndexOf(':')
  return colon > 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority
}

/**
 * Says whether `host` is covered by the TLS certificate of the connection (`peerCertificate`,
 * checked as `tls.checkServerIdentity` does) or by an accepted secondary server certificate.
 * @param secondary the connection's accepted secondary origins (`ClientSessionCerts`).
 */
export function authorityCoverage(
  host: string,
  peerCertificate: tls.PeerCertificate | undefined,
  secondary: { hasOrigin(host: string): boolean } | undefined,
): AuthorityCoverage {
  const h = host.replace(/^\[|\]$/g, '')
  if (peerCertificate && Object.keys(peerCertificate).length > 0 && tls.checkServerIdentity(h, peerCertificate) === undefined) return 'primary'
  if (secondary?.hasOrigin(h)) return 'secondary'
  return undefined
}
