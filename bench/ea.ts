/**
 * RFC 9261 authenticate / validate throughput per scheme and provider, each beside the bare
 * sign / verify of the same key measured in the same run. Ratio = bare ops/s ÷ EA ops/s (time
 * per EA operation relative to one bare signature operation); 1.00 means no overhead.
 */
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate, constants } from 'node:crypto'
import { ExportedAuthenticators } from '../lib/ea/authenticators.js'
import { nodeCrypto } from '../lib/crypto/node-provider.js'
import { nobleCrypto } from '../lib/crypto/noble-provider.js'
import type { CryptoProvider } from '../lib/crypto/provider.js'
import { createTestPki } from '../lib/pki/test-pki.js'
import type { PkiKeyType } from '../lib/pki/test-pki.js'
import { schemeInfo, schemeName } from '../lib/wire/tls/signature-scheme.js'
import { fakeExporter } from '../interop/support/fake-exporter.js'

export interface EaBenchRow {
  scheme: string
  provider: string
  authenticateOps: number
  bareSignOps: number
  authenticateRatio: number
  validateOps: number
  bareVerifyOps: number
  validateRatio: number
  /** Size of one authenticator (leaf + intermediate, SHA-384). */
  authenticatorBytes: number
}

/**
 * Seconds spent in each of the four operations, measured in interleaved rounds so that all four
 * see the same machine state (frequency, other load). Each round makes `batch` fresh requests,
 * answers them, validates the answers, and runs `batch` bare signs and verifies; nothing is kept
 * between rounds, so the garbage collector sees what a long-lived server sees.
 */
interface Times {
  ops: number
  authenticate: number
  validate: number
  sign: number
  verify: number
}

function measure(
  budgetMs: number,
  batch: number,
  maxOps: number,
  round: (t: Times) => void,
): Times {
  const t: Times = { ops: 0, authenticate: 0, validate: 0, sign: 0, verify: 0 }
  round({ ...t }) // warm-up, discarded
  const start = performance.now()
  while (performance.now() - start < budgetMs && t.ops < maxOps) {
    round(t)
    t.ops += batch
  }
  return t
}

const CASES: { keyType: PkiKeyType; scheme: number }[] = [
  { keyType: 'p256', scheme: 0x0403 },
  { keyType: 'ed25519', scheme: 0x0807 },
  { keyType: 'p384', scheme: 0x0503 },
  { keyType: 'rsa', scheme: 0x0804 },
  // ML-DSA (issue 14): noble on Node 20; node too where OpenSSL has it (Node >= 24.6).
  { keyType: 'mldsa44', scheme: 0x0904 },
  { keyType: 'mldsa65', scheme: 0x0905 },
  { keyType: 'mldsa87', scheme: 0x0906 },
]

export async function runEaBench(ms = 1000): Promise<EaBenchRow[]> {
  const rows: EaBenchRow[] = []
  for (const { keyType, scheme } of CASES) {
    const pki = await createTestPki({ keyType })
    const info = schemeInfo(scheme)!
    for (const provider of [nodeCrypto, nobleCrypto] as CryptoProvider[]) {
      if (!provider.schemes.includes(scheme)) continue
      const exporter = fakeExporter()
      const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider })
      const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider })
      const cred = { chain: pki.user.chainDer, key: provider.importPrivateKey(pki.user.keyPem) }
      const budget = provider === nodeCrypto ? ms : ms / 2
      const maxOps = provider === nodeCrypto ? Infinity : 400
      // Bare operations with the same key over content of the same size (135 bytes, SHA-384).
      const content = new Uint8Array(135).fill(7)
      // node:crypto objects only where node is measured (it cannot read ML-DSA keys on Node 20).
      const priv = provider === nodeCrypto ? createPrivateKey(pki.user.keyPem) : undefined
      const pub =
        provider === nodeCrypto
          ? createPublicKey(new X509Certificate(pki.user.certDer).publicKey.export({ format: 'pem', type: 'spki' }))
          : undefined
      const opts = info.saltLength ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.saltLength } : {}
      const sig = provider.sign(scheme, cred.key, content)
      // EdDSA signs the content itself (no prehash): its hash is null, as node wants.
      const alg = info.hash
      const signKey = info.saltLength ? { key: priv!, ...opts } : priv!
      const verifyKey = info.saltLength ? { key: pub!, ...opts } : pub!
      const bareSign =
        provider === nodeCrypto
          ? (): unknown => sign(alg, content, signKey)
          : (): unknown => provider.sign(scheme, cred.key, content)
      const bareVerify =
        provider === nodeCrypto
          ? (): unknown => verify(alg, content, verifyKey, sig)
          : (): unknown => provider.verify(scheme, pki.user.certDer, content, sig)
      const authenticatorBytes = client.authenticate({ request: server.request({ signatureAlgorithms: [scheme] }), credential: cred }).length
      const batch = provider === nodeCrypto ? 100 : 10
      const t = measure(budget * 4, batch, provider === nodeCrypto ? Infinity : maxOps, (acc) => {
        const requests = Array.from({ length: batch }, () => server.request({ signatureAlgorithms: [scheme] }))
        let at = performance.now()
        // One RFC 9261 §7.3 authenticate call per request.
        const auths = requests.map((request) => client.authenticate({ request, credential: cred }))
        let now = performance.now()
        acc.authenticate += now - at
        at = now
        for (let i = 0; i < batch; i++) {
          const v = server.validate(auths[i]!, { request: requests[i]! })
          if (v.kind !== 'identity') throw new Error(`bench: validate failed (${v.kind})`)
        }
        now = performance.now()
        acc.validate += now - at
        at = now
        for (let i = 0; i < batch; i++) bareSign()
        now = performance.now()
        acc.sign += now - at
        at = now
        for (let i = 0; i < batch; i++) bareVerify()
        acc.verify += performance.now() - at
      })
      const perSecond = (ms: number): number => t.ops / (ms / 1000)
      const authOps = perSecond(t.authenticate)
      const valOps = perSecond(t.validate)
      const bareSignOps = perSecond(t.sign)
      const bareVerifyOps = perSecond(t.verify)
      rows.push({
        scheme: schemeName(scheme),
        provider: provider.name,
        authenticateOps: Math.round(authOps),
        bareSignOps: Math.round(bareSignOps),
        authenticateRatio: round2(bareSignOps / authOps),
        validateOps: Math.round(valOps),
        bareVerifyOps: Math.round(bareVerifyOps),
        validateRatio: round2(bareVerifyOps / valOps),
        authenticatorBytes,
      })
    }
  }
  return rows
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

export function formatEaRows(rows: readonly EaBenchRow[]): string {
  const head = 'scheme                   provider  authenticate/s  bare sign/s  ratio   validate/s  bare verify/s  ratio  auth bytes'
  const lines = rows.map(
    (r) =>
      `${r.scheme.padEnd(24)} ${r.provider.padEnd(8)} ${String(r.authenticateOps).padStart(14)} ${String(r.bareSignOps).padStart(12)} ${r.authenticateRatio.toFixed(2).padStart(6)} ${String(r.validateOps).padStart(12)} ${String(r.bareVerifyOps).padStart(14)} ${r.validateRatio.toFixed(2).padStart(6)} ${String(r.authenticatorBytes).padStart(11)}`,
  )
  return [head, ...lines].join('\n')
}
