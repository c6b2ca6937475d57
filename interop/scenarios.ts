/**
 * The interop scenarios: names, what each checks, and for the error paths the GOAWAY code and
 * the violation name (lib/proto/violations.ts) expected. Which endpoint can play which scenario
 * is data too: interop/skips.json.
 */

/** Who is expected to detect a misbehaviour: the server (a client misbehaves) or the client. */
export type Detector = 'server' | 'client'

export interface Scenario {
  readonly name: string
  readonly description: string
  /** Draft section or RFC the scenario exercises. */
  readonly section: string
  /** Error scenarios: expected GOAWAY code, and our endpoint's violation name when ours detects it. */
  readonly expect?: { readonly detector: Detector; readonly code: number; readonly violation?: string }
  /** The server endpoint reports its own verdict (`result pass|fail`) that must be pass. */
  readonly serverVerdict: boolean
  /** Per-run time limit (ms). */
  readonly timeoutMs?: number
}

/** TLS 1.3 signature schemes (RFC 8446 §4.2.3) with the test-PKI key type that signs with each. */
export const SCHEMES: readonly { readonly name: string; readonly code: number; readonly keyType: string }[] = [
  { name: 'ecdsa_secp256r1_sha256', code: 0x0403, keyType: 'p256' },
  { name: 'ecdsa_secp384r1_sha384', code: 0x0503, keyType: 'p384' },
  { name: 'ecdsa_secp521r1_sha512', code: 0x0603, keyType: 'p521' },
  { name: 'ed25519', code: 0x0807, keyType: 'ed25519' },
  { name: 'ed448', code: 0x0808, keyType: 'ed448' },
  { name: 'rsa_pss_rsae_sha256', code: 0x0804, keyType: 'rsa' },
  { name: 'rsa_pss_rsae_sha384', code: 0x0805, keyType: 'rsa' },
  { name: 'rsa_pss_rsae_sha512', code: 0x0806, keyType: 'rsa' },
  { name: 'rsa_pss_pss_sha256', code: 0x0809, keyType: 'rsa-pss' },
  { name: 'rsa_pss_pss_sha384', code: 0x080a, keyType: 'rsa-pss' },
  { name: 'rsa_pss_pss_sha512', code: 0x080b, keyType: 'rsa-pss' },
]

/**
 * Post-quantum runs (issue 14): device + user identities and a secondary server certificate, all
 * ML-DSA (draft-ietf-tls-mldsa, RFC 9881), after a P-256 TLS handshake (Node 20 cannot sign TLS
 * with ML-DSA). `default` is the provider used when none is configured (node:crypto, with
 * `@noble/post-quantum` for ML-DSA where OpenSSL has none); `noble` the pure-JS provider.
 */
export const ML_DSA_RUNS: readonly {
  readonly name: string
  readonly keyType: 'mldsa65' | 'mldsa87'
  readonly code: number
  readonly provider: 'default' | 'noble'
}[] = [
  { name: 'ml-dsa-65-default-provider', keyType: 'mldsa65', code: 0x0905, provider: 'default' },
  { name: 'ml-dsa-87-default-provider', keyType: 'mldsa87', code: 0x0906, provider: 'default' },
  { name: 'ml-dsa-65-noble-provider', keyType: 'mldsa65', code: 0x0905, provider: 'noble' },
  { name: 'ml-dsa-87-noble-provider', keyType: 'mldsa87', code: 0x0906, provider: 'noble' },
]

/** The ML-DSA run of a scenario name, if it is one. */
export function mlDsaRun(name: string): (typeof ML_DSA_RUNS)[number] | undefined {
  return ML_DSA_RUNS.find((r) => r.name === name)
}

const PROTOCOL_ERROR = 0x1
const FRAME_SIZE_ERROR = 0x6
const SERVER_CERTIFICATE_INVALID = 0xf5a1

const s = (name: string, description: string, section: string, serverVerdict = true, extra: Partial<Scenario> = {}): Scenario => ({
  name,
  description,
  section,
  serverVerdict,
  ...extra,
})

const err = (name: string, detector: Detector, code: number, violation: string | undefined, description: string, section: string): Scenario => ({
  name,
  description,
  section,
  serverVerdict: detector === 'server' && violation !== undefined,
  expect: { detector, code, ...(violation ? { violation } : {}) },
})

export const SCENARIOS: readonly Scenario[] = [
  s('device-and-user', 'server asks for a device and a user identity; client presents both, in order', 'CLIENT -00 §4, §4.1.4'),
  s('decline-one', 'client holds only the user credential: device declined (empty authenticator), user presented', 'CLIENT -00 §4.2; RFC 9261 §5.2.4'),
  s('server-certificate-second-origin', 'spontaneous SERVER_CERTIFICATE for other.localhost accepted and used as :authority', 'SERVER -02 §3.2, §5.3'),
  s('suite-sha256', 'device+user on TLS_AES_128_GCM_SHA256 (32-byte exporter, HMAC-SHA256)', 'RFC 9261 §5.1'),
  s('suite-sha384', 'device+user on TLS_AES_256_GCM_SHA384 (48-byte exporter, HMAC-SHA384)', 'RFC 9261 §5.1'),
  ...SCHEMES.map((x) => s(`scheme-${x.name}`, `request offers only ${x.name}; client signs with a ${x.keyType} key`, 'RFC 9261 §5.2.2; RFC 8446 §4.2.3')),
  s('provider-noble', 'device+user with the noble crypto provider on both sides', 'RFC 9261 §5'),
  ...ML_DSA_RUNS.map((r) =>
    s(
      r.name,
      `device + user and a SERVER_CERTIFICATE, all ${r.keyType} (${r.provider} provider on both sides)${r.keyType === 'mldsa87' ? '; authenticators over 16 KB' : ''}`,
      'RFC 9261 §5.2.2; draft-ietf-tls-mldsa; RFC 9881; digest §4',
    ),
  ),
  s('select-by-ca-and-oid', 'client holds 4 credentials (2 CAs x device/user); the default selector picks by certificate_authorities and oid_filters', 'RFC 9261 §5.2.1; RFC 8446 §4.2.4, §4.2.5'),
  s('oversized-authenticator', 'a client authenticator over 16 KB (large certificate) with raised SETTINGS_MAX_FRAME_SIZE', 'digest §4; RFC 9113 §4.2'),
  s('codepoint-mismatch-timeout', 'client and server use different frame codepoints: the server request times out cleanly (504), nothing hangs', 'digest §5; RFC 9113 §5.5', true, { timeoutMs: 15000 }),
  s('wire-capture', 'tshark with the key log decrypts a capture: 0xf8/0xf9/0xfa frames with the lengths the endpoints logged', 'SERVER -02 §5.1; CLIENT -00 §4.1.1, §4.2', false, { timeoutMs: 30000 }),
  s('exporter-agreement', 'openssl s_client -keymatexport equals the server exporter for the four RFC 9261 labels', 'RFC 9261 §5.1; RFC 8446 §7.5', true),
  s('plain-request', 'an ordinary HTTP/2 request from a stack we did not write', 'RFC 9113; digest §5 (unknown settings ignored)', false),
  // Misbehaving clients (our server detects).
  err('err-authenticator-requests-at-server', 'server', PROTOCOL_ERROR, 'authenticator-requests-at-server', 'AUTHENTICATOR_REQUESTS sent to a server', 'CLIENT -00 §4.1.1'),
  err('err-unsolicited-client-certificate', 'server', PROTOCOL_ERROR, 'unsolicited-client-certificate', 'CLIENT_CERTIFICATE with no outstanding request', 'CLIENT -00 §4.2'),
  err('err-certificate-on-stream', 'server', PROTOCOL_ERROR, 'certificate-on-stream', 'CLIENT_CERTIFICATE on stream 1', 'SERVER -02 §5.1; CLIENT -00 §4.2'),
  err('err-server-certificate-from-client', 'server', PROTOCOL_ERROR, 'server-certificate-from-client', 'SERVER_CERTIFICATE sent by a client', 'SERVER -02 §3.2'),
  err('err-before-negotiation', 'server', PROTOCOL_ERROR, 'frame-before-negotiation', 'CLIENT_CERTIFICATE without SETTINGS_HTTP_CLIENT_CERT_AUTH', 'CLIENT -00 §3.1'),
  err('err-invalid-client-authenticator', 'server', PROTOCOL_ERROR, 'client-authenticator-invalid', 'client authenticator with a bad CertificateVerify signature', 'CLIENT -00 §4.2.1; digest §2.4'),
  err('err-replayed-client-authenticator', 'server', PROTOCOL_ERROR, 'client-authenticator-invalid', 'a valid client authenticator replayed for the next request', 'CLIENT -00 §5.2; RFC 9261 §5.2.1'),
  err('err-frame-too-large', 'server', FRAME_SIZE_ERROR, undefined, 'extension frame larger than the server SETTINGS_MAX_FRAME_SIZE', 'RFC 9113 §4.2'),
  // Misbehaving servers (our client detects).
  err('err-requests-on-stream', 'client', PROTOCOL_ERROR, 'authenticator-requests-on-stream', 'AUTHENTICATOR_REQUESTS on stream 1', 'CLIENT -00 §4.1.1'),
  err('err-requests-empty', 'client', PROTOCOL_ERROR, 'authenticator-requests-malformed', 'empty AUTHENTICATOR_REQUESTS', 'CLIENT -00 §4.1'),
  err('err-requests-malformed', 'client', PROTOCOL_ERROR, 'authenticator-requests-malformed', 'request length past the end of the frame', 'CLIENT -00 §4.1.1'),
  err('err-too-many-outstanding', 'client', PROTOCOL_ERROR, 'too-many-outstanding-requests', 'two requests when the client advertised N = 1', 'CLIENT -00 §4.1.4'),
  err('err-invalid-server-certificate', 'client', SERVER_CERTIFICATE_INVALID, 'server-authenticator-invalid', 'SERVER_CERTIFICATE with a bad signature', 'SERVER -02 §6.1'),
  err('err-replayed-server-certificate', 'client', SERVER_CERTIFICATE_INVALID, 'server-authenticator-invalid', 'a valid SERVER_CERTIFICATE sent twice', 'SERVER -02 §5.3; RFC 9261 §7.4'),
  err('err-client-certificate-from-server', 'client', PROTOCOL_ERROR, 'client-certificate-from-server', 'CLIENT_CERTIFICATE sent by a server', 'CLIENT -00 §4.2'),
]

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((x) => x.name === name)
}
