/**
 * ML-DSA certificate signatures (RFC 9881 §3) for path validation: OpenSSL 3.0 (Node 20) parses
 * ML-DSA certificates but cannot verify them, so chain building checks them here, with
 * `@noble/post-quantum`. Pure ML-DSA over the DER TBSCertificate, empty context; the
 * AlgorithmIdentifier (id-ML-DSA-44/65/87) has no parameters and equals the TBSCertificate's
 * `signature` field (RFC 5280 §4.1.1.2); the issuer's SubjectPublicKeyInfo carries the raw key.
 * (The key codecs for signing live in `crypto/ml-dsa.ts`; policy/ may not import crypto/.)
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js'
import { children, content, decodeOid, readTlv, whole } from './der.js'
import type { Tlv } from './der.js'

const SETS: Readonly<Record<string, { impl: typeof ml_dsa44; pk: number; sig: number }>> = {
  '2.16.840.1.101.3.4.3.17': { impl: ml_dsa44, pk: 1312, sig: 2420 },
  '2.16.840.1.101.3.4.3.18': { impl: ml_dsa65, pk: 1952, sig: 3309 },
  '2.16.840.1.101.3.4.3.19': { impl: ml_dsa87, pk: 2592, sig: 4627 },
}

/** The ML-DSA OID of an AlgorithmIdentifier, '' for another algorithm, 'bad' when it has parameters. */
function mlDsaAlgorithm(b: Uint8Array, alg: Tlv | undefined): string {
  if (!alg || alg.tag !== 0x30) return ''
  const [oid, params] = children(b, alg)
  if (!oid || oid.tag !== 0x06) return ''
  const dotted = decodeOid(content(b, oid), oid.contentStart)
  if (!SETS[dotted]) return ''
  return params ? 'bad' : dotted
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * @param certDer - the certificate whose signature is checked
 * @param issuerSpki - DER SubjectPublicKeyInfo of the candidate issuer
 * @returns undefined when neither the signature nor the issuer key is ML-DSA (node's job),
 *   otherwise whether the ML-DSA signature verifies with that key
 */
export function verifyMlDsaCertificateSignature(certDer: Uint8Array, issuerSpki: Uint8Array): boolean | undefined {
  try {
    const spki = readTlv(issuerSpki, 0)
    const [keyAlg, keyBits] = children(issuerSpki, spki)
    const keyOid = mlDsaAlgorithm(issuerSpki, keyAlg)
    const cert = readTlv(certDer, 0)
    const [tbs, sigAlg, sig] = children(certDer, cert)
    const sigOid = mlDsaAlgorithm(certDer, sigAlg)
    if (keyOid === '' && sigOid === '') return undefined
    if (keyOid === 'bad' || sigOid === 'bad' || keyOid !== sigOid || !tbs || !sig || !keyBits) return false
    const set = SETS[sigOid]!
    const f = children(certDer, tbs)
    const inner = f[0]?.tag === 0xa0 ? f[2] : f[1]
    if (!inner || !sameBytes(whole(certDer, inner), whole(certDer, sigAlg!))) return false
    const pk = content(issuerSpki, keyBits)
    const s = content(certDer, sig)
    if (pk[0] !== 0 || s[0] !== 0 || pk.length - 1 !== set.pk || s.length - 1 !== set.sig) return false
    return set.impl.verify(s.subarray(1), whole(certDer, tbs), pk.subarray(1))
  } catch {
    return false
  }
}
