/**
 * The provider used when none is configured: `node:crypto` for every scheme OpenSSL has, the
 * pure-JS noble provider for the rest — on Node 20 that is ML-DSA (0x0904–0x0906), which
 * OpenSSL 3.0 lacks. Where the running Node has ML-DSA (OpenSSL ≥ 3.5, Node ≥ 24.6, found at run
 * time by `opensslMlDsa()`), node serves it too and noble is not used at all.
 *
 * The rule, per operation:
 *  - `schemes`: the union, node's first; `verify(scheme)` goes to the first provider that lists
 *    the scheme;
 *  - `importPrivateKey`: the first provider that does not answer `UnsupportedError`; `sign` goes
 *    to the provider that imported the key;
 *  - `publicKeyInfo`: the first provider that does not answer `UnsupportedError`;
 *  - hashes, HMAC, randomness and comparison: node.
 */
import { UnsupportedError, UsageError } from '../errors.js'
import { schemeName } from '../wire/tls/signature-scheme.js'
import type { HashName } from '../wire/tls/signature-scheme.js'
import { nobleCrypto } from './noble-provider.js'
import { nodeCrypto } from './node-provider.js'
import type { CryptoProvider, PublicKeyInfo, RunningHash, SigningKey } from './provider.js'

/**
 * Combines providers scheme by scheme (see the module comment for the rule).
 * @param providers - in order of preference; the first also does hashing, HMAC and randomness.
 * @param name - the combined provider's name. Default: the names joined with `+`.
 * @returns a {@link CryptoProvider}
 * @throws UsageError (`ERR_SC_USAGE`) for an empty list
 */
export function combineProviders(providers: readonly CryptoProvider[], name?: string): CryptoProvider {
  const first = providers[0]
  if (!first) throw new UsageError('combineProviders needs at least one provider')
  const byScheme = new Map<number, CryptoProvider>()
  for (const p of providers) for (const s of p.schemes) if (!byScheme.has(s)) byScheme.set(s, p)
  const schemes = Object.freeze([...byScheme.keys()])
  const owners = new WeakMap<SigningKey, CryptoProvider>()

  const firstSupported = <T>(fn: (p: CryptoProvider) => T, from = 0): T => {
    let last: unknown
    for (let i = from; i < providers.length; i++) {
      const p = providers[i]!
      try {
        return fn(p)
      } catch (e) {
        if (!(e instanceof UnsupportedError)) throw e
        last = e
      }
    }
    throw last
  }

  const combined: CryptoProvider = {
    name: name ?? providers.map((p) => p.name).join('+'),
    schemes,
    digest: (hash: HashName, data: Uint8Array): Uint8Array => first.digest(hash, data),
    ...(first.runningHash ? { runningHash: (hash: HashName): RunningHash => first.runningHash!(hash) } : {}),
    digestInto(hash: HashName, data: Uint8Array, out: Uint8Array, offset: number): void {
      if (first.digestInto) first.digestInto(hash, data, out, offset)
      else out.set(first.digest(hash, data), offset)
    },
    digestParts: (hash: HashName, parts: readonly Uint8Array[]): Uint8Array => first.digestParts(hash, parts),
    hmac: (hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array => first.hmac(hash, key, data),
    equal: (a: Uint8Array, b: Uint8Array): boolean => first.equal(a, b),
    randomBytes: (n: number): Uint8Array => first.randomBytes(n),
    publicKeyInfo(certDer: Uint8Array): PublicKeyInfo {
      // The first provider without a closure (validate asks once per authenticator); the others,
      // in order, only when it answers Unsupported.
      try {
        return first.publicKeyInfo(certDer)
      } catch (e) {
        if (!(e instanceof UnsupportedError) || providers.length === 1) throw e
      }
      return firstSupported((p) => p.publicKeyInfo(certDer), 1)
    },
    verify(scheme: number, certDer: Uint8Array, content: Uint8Array, signature: Uint8Array): boolean {
      const p = byScheme.get(scheme)
      if (!p) throw new UnsupportedError(`no provider can verify ${schemeName(scheme)}`)
      return p.verify(scheme, certDer, content, signature)
    },
    importPrivateKey(key: string | Uint8Array): SigningKey {
      return firstSupported((p) => {
        const k = p.importPrivateKey(key)
        owners.set(k, p)
        return k
      })
    },
    sign(scheme: number, key: SigningKey, content: Uint8Array): Uint8Array {
      const p = owners.get(key) ?? providers.find((x) => x.name === key.provider)
      if (!p) throw new UsageError('signing key was not imported by this provider')
      return p.sign(scheme, key, content)
    },
  }
  return Object.freeze(combined)
}

/**
 * The default provider: `node:crypto` first, `@noble/post-quantum` / noble for what this Node's
 * OpenSSL lacks (ML-DSA on Node 20). What the binding, the server, the client and
 * `ExportedAuthenticators` use when no `provider` is given.
 */
export const defaultCrypto: CryptoProvider = combineProviders([nodeCrypto, nobleCrypto], 'default')
