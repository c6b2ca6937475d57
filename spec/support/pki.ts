/**
 * Memoised test PKIs: each key type is generated once per test process (RSA keys take up to a
 * second), then shared by every spec that asks for it. Treat the result as read-only.
 */
import { createTestPki } from '../../lib/pki/test-pki.js'
import type { PkiKeyType, TestPki } from '../../lib/pki/test-pki.js'

const cache = new Map<PkiKeyType, Promise<TestPki>>()

/** The process-wide test PKI of `keyType` (default `'p256'`), created on first use. */
export function testPki(keyType: PkiKeyType = 'p256'): Promise<TestPki> {
  let p = cache.get(keyType)
  if (!p) {
    p = createTestPki({ keyType })
    // A failed generation should not poison later callers.
    p.catch(() => cache.delete(keyType))
    cache.set(keyType, p)
  }
  return p
}
