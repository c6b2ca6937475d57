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
import { fakeExporter } from '../spec/support/fake-exporter.js'

export interface EaBenchRow {
  scheme: string
  provider: string
  authenticateOps: number
  bareSignOps: number
  authenticateRatio: number
  validateOps: number
  bareVerifyOps: number
  validateRatio: number
}

/** Runs `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns ops/s. */
function rate(fn: (i: number) => void, ms: number, maxOps = Infinity): number {
  const warm = 20
  for (let i = 0; i < warm; i++) fn(i)
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < ms && n < maxOps) {
    fn(warm + n++)
    if ((n & 7) === 0) now = performance.now()
  }
  return n / ((performance.now() - start) / 1000)
}

const CASES: { keyType: PkiKeyType; scheme: number }[] = [
  { keyType: 'p256', scheme: 0x0403 },
  { keyType: 'ed25519', scheme: 0x0807 },
  { keyType: 'p384', scheme: 0x0503 },
  { keyType: 'rsa', scheme: 0x0804 },
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
      const priv = createPrivateKey(pki.user.keyPem)
      const pub = createPublicKey(new X509Certificate(pki.user.certDer).publicKey.export({ format: 'pem', type: 'spki' }))
      const opts = info.saltLength ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.saltLength } : {}
      const sig = provider.sign(scheme, cred.key, content)
      const bareSign =
        provider === nodeCrypto
          ? rate(() => sign(info.hash, content, { key: priv, ...opts }), budget)
          : rate(() => provider.sign(scheme, cred.key, content), budget, maxOps)
      const bareVerify =
        provider === nodeCrypto
          ? rate(() => verify(info.hash, content, { key: pub, ...opts }, sig), budget)
          : rate(() => provider.verify(scheme, pki.user.certDer, content, sig), budget, maxOps)
      // Requests are made up front so each measured authenticate is one RFC 9261 §7.3 call.
      const requests = Array.from({ length: 60000 }, () => server.request({ signatureAlgorithms: [scheme] }))
      const auths: Uint8Array[] = []
      const authOps = rate((i) => {
        auths.push(client.authenticate({ request: requests[i]!, credential: cred }))
      }, budget, Math.min(maxOps, requests.length - 40))
      let k = 0
      const valOps = rate(() => {
        const i = k++
        const v = server.validate(auths[i]!, { request: requests[i]! })
        if (v.kind !== 'identity') throw new Error(`bench: validate failed (${v.kind})`)
      }, budget, auths.length - 40)
      rows.push({
        scheme: schemeName(scheme),
        provider: provider.name,
        authenticateOps: Math.round(authOps),
        bareSignOps: Math.round(bareSign),
        authenticateRatio: round2(bareSign / authOps),
        validateOps: Math.round(valOps),
        bareVerifyOps: Math.round(bareVerify),
        validateRatio: round2(bareVerify / valOps),
      })
    }
  }
  return rows
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

export function formatEaRows(rows: readonly EaBenchRow[]): string {
  const head = 'scheme                   provider  authenticate/s  bare sign/s  ratio   validate/s  bare verify/s  ratio'
  const lines = rows.map(
    (r) =>
      `${r.scheme.padEnd(24)} ${r.provider.padEnd(8)} ${String(r.authenticateOps).padStart(14)} ${String(r.bareSignOps).padStart(12)} ${r.authenticateRatio.toFixed(2).padStart(6)} ${String(r.validateOps).padStart(12)} ${String(r.bareVerifyOps).padStart(14)} ${r.validateRatio.toFixed(2).padStart(6)}`,
  )
  return [head, ...lines].join('\n')
}
