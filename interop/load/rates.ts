/**
 * Bare signature rates measured in the same process and run as the load: P-256 ECDSA-SHA256
 * (ecdsa_secp256r1_sha256, the scheme of the load's credentials) with a cached KeyObject.
 * One authentication costs the server one verify and the client one sign (RFC 9261 §5.2.2
 * CertificateVerify), plus HMACs, TLS and HTTP/2 work.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto'

export interface SignatureRates {
  readonly verifyPerSecond: number
  readonly signPerSecond: number
}

/** Runs sign and verify loops for `ms` each. */
export function measureSignatureRates(ms = 1000): SignatureRates {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // About the size of an RFC 9261 §5.2.2 signed content (64 spaces, label, 0, hash).
  const data = Buffer.alloc(64 + 33 + 1 + 32, 0x20)
  const sig = sign('sha256', data, privateKey)
  let n = 0
  let t0 = performance.now()
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) sign('sha256', data, privateKey)
    n += 50
  }
  const signPerSecond = (n / (performance.now() - t0)) * 1000
  n = 0
  t0 = performance.now()
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) if (!verify('sha256', data, publicKey, sig)) throw new Error('verify failed')
    n += 50
  }
  const verifyPerSecond = (n / (performance.now() - t0)) * 1000
  return { verifyPerSecond, signPerSecond }
}
