/**
 * What the README snippets take as given (`key`, `cert`, `caPem`, credentials), from a fresh test
 * PKI. The snippets themselves live between `README:begin` / `README:end` markers in the files of
 * this folder and appear verbatim in README.md (spec/integration/readme-snippets.spec.ts checks
 * both: the text and that they run).
 */
import { createTestPki } from '../../lib/index.js'

export const pki = await createTestPki({ keyType: 'p256' })
export const key = pki.server.keyPem
export const cert = pki.server.chainPem
export const caPem = pki.caPem
export const otherOriginChainPem = pki.origin2.chainPem
export const otherOriginKeyPem = pki.origin2.keyPem
export const deviceChainPem = pki.device.chainPem
export const deviceKeyPem = pki.device.keyPem
export const userChainPem = pki.user.chainPem
export const userKeyPem = pki.user.keyPem
