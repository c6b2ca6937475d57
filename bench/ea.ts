/**
 * RFC 9261 authenticate / validate throughput per scheme and provider, each beside the bare
 * sign / verify of the same key measured in the same run. Ratio = bare ops/s ÷ EA ops/s (time
 * per EA operation relative to one bare signature operation); 1.00 means no overhead.
 */
import { createHash, createPrivateKey, createPublicKey, hash, sign, verify, X509Certificate, constants } from 'node:crypto'
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
  /**
   * The floor (node rows only): the bare node:crypto work RFC 9261 requires per operation — the
   * sign or verify, the two transcript hashes over the real transcript prefixes, and the HMAC as
   * two hashes over RFC 2104 pads — ÷ the bare sign / verify, measured in the same rounds.
   */
  authenticateFloor?: number
  validateFloor?: number
}

/**
 * Milliseconds spent in each operation, measured in interleaved rounds so that all see the same
 * machine state (frequency, other load). An RFC 9261 round makes `batch` fresh requests, answers
 * them, validates the answers, and runs `batch` bare signs and verifies; a floor round (node rows,
 * every other round) runs the floor's operations and the same bare ones. Nothing is kept between
 * rounds, so the garbage collector sees what a long-lived server sees.
 */
interface Times {
  ops: number
  authenticate: number
  validate: number
  sign: number
  verify: number
  floorSign: number
  floorVerify: number
  floorSignRunning: number
  floorVerifyRunning: number
  /** Bare sign / verify time in the floor rounds (the floor's own baseline). */
  floorBareSign: number
  floorBareVerify: number
  eaRounds: number
  floorRounds: number
}

function measure(
  budgetMs: number,
  batch: number,
  maxOps: number,
  warmRounds: number,
  round: (t: Times) => void,
): Times {
  const t: Times = { ops: 0, authenticate: 0, validate: 0, sign: 0, verify: 0, floorSign: 0, floorVerify: 0, floorSignRunning: 0, floorVerifyRunning: 0, floorBareSign: 0, floorBareVerify: 0, eaRounds: 0, floorRounds: 0 }
  // Warm-up, discarded (see WARM_ROUNDS).
  for (let i = 0; i < warmRounds; i++) round({ ...t })
  const start = performance.now()
  while (performance.now() - start < budgetMs && t.ops < maxOps) {
    round(t)
    t.ops += batch
  }
  return t
}

/**
 * Warm-up rounds of the node rows, discarded: 25 of each kind (2 500 operations each of
 * authenticate, validate and the bare ones). V8 takes 1 000–2 000 calls of validate to settle:
 * per call, in rounds of 100 in one process on Node 20, P-256 took 80–107 µs in the first 11
 * rounds and 73–78 µs from the 20th, RSA-PSS 50–104 µs and then 35–36 µs. With two warm-up
 * rounds the RSA-PSS row, whose rounds are long (its signs; ≈ 38 per row), counted those first
 * rounds as a third of its samples and read validate at 1.47–1.71× bare verify in eleven runs;
 * with these, 1.39–1.45× in the five that followed.
 */
const WARM_ROUNDS = 50

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

export async function runEaBench(ms = 1000, keyTypes?: readonly string[]): Promise<EaBenchRow[]> {
  const rows: EaBenchRow[] = []
  for (const { keyType, scheme } of CASES) {
    if (keyTypes !== undefined && !keyTypes.includes(keyType)) continue
    const pki = await createTestPki({ keyType })
    const info = schemeInfo(scheme)!
    for (const provider of [nodeCrypto, nobleCrypto] as CryptoProvider[]) {
      if (!provider.schemes.includes(scheme)) continue
      const exporter = fakeExporter()
      const server = new ExportedAuthenticators({ role: 'server', exporter, hash: 'sha384', provider })
      const client = new ExportedAuthenticators({ role: 'client', exporter, hash: 'sha384', provider })
      const cred = { chain: pki.user.chainDer, key: provider.importPrivateKey(pki.user.keyPem) }
      // Node rows split their time between RFC 9261 rounds and floor rounds.
      const budget = provider === nodeCrypto ? ms * 1.5 : ms / 2
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
      const sample = server.request({ signatureAlgorithms: [scheme] })
      const sampleAuth = client.authenticate({ request: sample, credential: cred })
      const authenticatorBytes = sampleAuth.length
      // The floor's inputs: the real transcript (HC || request || Certificate || CertificateVerify)
      // of one authenticator, and the HMAC's padded-key buffers (block 128 + hash 48 for SHA-384).
      const floor = provider === nodeCrypto ? floorOps(sample, sampleAuth, alg, content, signKey, verifyKey, sig) : undefined
      const batch = provider === nodeCrypto ? 100 : 10
      // Rounds alternate (node rows): an RFC 9261 round (requests, authenticate, validate, bare
      // sign and verify), then a floor round (the floor's sign and verify, bare sign and verify)
      // whose garbage is collected, untimed, before the next RFC 9261 round.
      let round = 0
      const t = measure(budget * 4, batch, provider === nodeCrypto ? Infinity : maxOps, provider === nodeCrypto ? WARM_ROUNDS : 2, (acc) => {
        const bareRound = (): void => {
          let at = performance.now()
          for (let i = 0; i < batch; i++) bareSign()
          let now = performance.now()
          if (floorRound) acc.floorBareSign += now - at
          else acc.sign += now - at
          at = now
          for (let i = 0; i < batch; i++) bareVerify()
          now = performance.now()
          if (floorRound) acc.floorBareVerify += now - at
          else acc.verify += now - at
        }
        const floorRound = floor !== undefined && round++ % 2 === 1
        if (floorRound) {
          acc.floorRounds++
          let at = performance.now()
          for (let i = 0; i < batch; i++) floor.sign()
          let now = performance.now()
          acc.floorSign += now - at
          at = now
          for (let i = 0; i < batch; i++) floor.verify()
          now = performance.now()
          acc.floorVerify += now - at
          at = now
          for (let i = 0; i < batch; i++) floor.signRunning()
          now = performance.now()
          acc.floorSignRunning += now - at
          at = now
          for (let i = 0; i < batch; i++) floor.verifyRunning()
          acc.floorVerifyRunning += performance.now() - at
          bareRound()
          // The floor round's garbage (≈ 10 dead node:crypto objects per operation, each ≈ 1 µs
          // for the scavenger) is collected here, untimed: left in the heap it was collected by
          // the scavenges that the RFC 9261 phases trigger (they allocate the most), i.e. charged
          // to them. The floor is the instrument, not the thing measured.
          collectYoung()
          return
        }
        acc.eaRounds++
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
        bareRound()
      })
      const perSecond = (ms: number): number => (t.eaRounds * batch) / (ms / 1000)
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
        ...(floor
          ? {
              authenticateFloor: round2(Math.min(t.floorSign, t.floorSignRunning) / t.floorBareSign),
              validateFloor: round2(Math.min(t.floorVerify, t.floorVerifyRunning) / t.floorBareVerify),
            }
          : {}),
      })
    }
  }
  return rows
}

/**
 * The bare node:crypto calls one RFC 9261 operation cannot avoid (§5.2.2, §5.2.3), on inputs of
 * the real sizes: `H(HC || request || Certificate)`, the sign or verify of the signed content,
 * `H(HC || request || Certificate || CertificateVerify)`, and HMAC(FK, ·) as two hashes over the
 * precomputed inner and outer pads; digests as binary strings written into reused buffers (the
 * cheapest output form). The transcript hashes either as two one-shot digests or as one running
 * hash read twice (`copy()`); both are measured and the floor is the cheaper. Nothing else: no
 * encoding, decoding or bookkeeping.
 */
function floorOps(
  request: Uint8Array,
  auth: Uint8Array,
  alg: string | null,
  content: Uint8Array,
  signKey: Parameters<typeof sign>[2],
  verifyKey: Parameters<typeof verify>[2],
  sig: Uint8Array,
): { sign: () => void; verify: () => void; signRunning: () => void; verifyRunning: () => void } {
  const L = 48
  const certLen = 4 + ((auth[1]! << 16) | (auth[2]! << 8) | auth[3]!)
  const cvLen = 4 + ((auth[certLen + 1]! << 16) | (auth[certLen + 2]! << 8) | auth[certLen + 3]!)
  const transcript = new Uint8Array(L + request.length + certLen + cvLen).fill(3, 0, L)
  transcript.set(request, L)
  transcript.set(auth.subarray(0, certLen + cvLen), L + request.length)
  const cut = L + request.length + certLen
  const prefix1 = transcript.subarray(0, cut)
  const cv = transcript.subarray(cut)
  const inner = Buffer.alloc(128 + L, 0x36)
  const outer = Buffer.alloc(128 + L, 0x5c)
  const signed = Buffer.alloc(135, 0x20)
  const pads = (): void => {
    outer.write(hash('sha384', inner, 'binary'), 128, 'binary')
    hash('sha384', outer, 'binary')
  }
  const oneShot = (op: () => void): void => {
    signed.write(hash('sha384', prefix1, 'binary'), 87, 'binary')
    op()
    inner.write(hash('sha384', transcript, 'binary'), 128, 'binary')
    pads()
  }
  const running = (op: () => void): void => {
    const h = createHash('sha384').update(prefix1)
    signed.write(h.copy().digest('binary'), 87, 'binary')
    op()
    inner.write(h.update(cv).digest('binary'), 128, 'binary')
    pads()
  }
  const s = (): unknown => sign(alg, content, signKey)
  const v = (): unknown => verify(alg, content, verifyKey, sig)
  return {
    sign: (): void => oneShot(s),
    verify: (): void => oneShot(v),
    signRunning: (): void => running(s),
    verifyRunning: (): void => running(v),
  }
}

/** A young-generation collection when the bench runs with --expose-gc (`npm run bench` does). */
function collectYoung(): void {
  const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc
  if (gc !== undefined) gc({ type: 'minor' })
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

export function formatEaRows(rows: readonly EaBenchRow[]): string {
  const head = 'scheme                   provider  authenticate/s  bare sign/s  ratio  floor   validate/s  bare verify/s  ratio  floor  auth bytes'
  const fl = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2)).padStart(6)
  const lines = rows.map(
    (r) =>
      `${r.scheme.padEnd(24)} ${r.provider.padEnd(8)} ${String(r.authenticateOps).padStart(14)} ${String(r.bareSignOps).padStart(12)} ${r.authenticateRatio.toFixed(2).padStart(6)} ${fl(r.authenticateFloor)} ${String(r.validateOps).padStart(12)} ${String(r.bareVerifyOps).padStart(14)} ${r.validateRatio.toFixed(2).padStart(6)} ${fl(r.validateFloor)} ${String(r.authenticatorBytes).padStart(11)}`,
  )
  return [head, ...lines].join('\n')
}
