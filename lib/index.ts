/**
 * h2-secondary-certs: RFC 9261 exported authenticators carried in HTTP/2 frames
 * (draft-ietf-httpbis-secondary-server-certs, draft-rosomakho-httpbis-secondary-client-certs).
 * Public surface only: re-exports, no logic.
 */
export * from './errors.js'
export { DEFAULT_CODEPOINTS, SHARED_MODE_CODEPOINTS, DEFAULTS, resolveCodepoints } from './config.js'
export type { Codepoints } from './config.js'

// RFC 9261 core (no HTTP/2).
export { ExportedAuthenticators } from './ea/authenticators.js'
export type {
  Credential,
  Verdict,
  ExportedAuthenticatorsOptions,
  RequestOptions,
  AuthenticateOptions,
  ValidateOptions,
} from './ea/authenticators.js'
export { keysFromTlsSocket, suiteHash, hashLength } from './ea/exporter.js'
export type { Exporter, AuthenticatorHash, ConnectionKeys, TlsSocketLike } from './ea/exporter.js'
export type { Role } from './ea/transcript.js'

// Crypto providers.
export type { CryptoProvider, SigningKey, PublicKeyInfo } from './crypto/provider.js'
export { nodeCrypto } from './crypto/node-provider.js'
export { nobleCrypto } from './crypto/noble-provider.js'

// Codecs.
export { decodeCertificateRequest, encodeCertificateRequest } from './wire/tls/certificate-request.js'
export type { CertificateRequest, CertificateRequestInit } from './wire/tls/certificate-request.js'
export { decodeAuthenticator, authenticatorContext } from './wire/tls/authenticator.js'
export type { Authenticator } from './wire/tls/authenticator.js'
export { ExtensionType } from './wire/tls/extensions.js'
export type { Extension, OidFilter } from './wire/tls/extensions.js'
export { SignatureScheme, TLS13_SCHEMES, schemeName } from './wire/tls/signature-scheme.js'

// HTTP/2 binding.
export * from './server.js'
export * from './client.js'
export { loadCredential, pemToDerChain } from './binding/credentials.js'
export type { CredentialInput, LabelledCredentialInput, LoadedCredential } from './binding/credentials.js'
export type { Identity } from './binding/identity.js'
export { channels as diagnosticsChannels } from './binding/diagnostics.js'

// Test PKI (tests, examples, the CLI).
export { createTestPki, writeTestPki } from './pki/test-pki.js'

// Certificate policy: chain validation (mechanism) and EKU roles (policy).
export { validateChain, prepareAnchors, assertChainValid, stapledOcspResponse, CHAIN_FAILURES } from './policy/chain.js'
export type { ChainOptions, ChainResult, ChainFailure, AnchorInput, RevocationCheck, RevocationStatus } from './policy/chain.js'
export { classifyEku, evaluateIdentity, frankTable, rfc5280Table } from './policy/eku.js'
export type { Decision, Purpose, EkuPreset, EkuClass } from './policy/eku.js'
export {
  createCertificatePolicy,
  certificateAuthoritiesFromAnchors,
  ekuOidFilter,
  matchesOidFilters,
  matchesCertificateAuthorities,
} from './policy/certificate-policy.js'
export type { CertificatePolicy, CertificatePolicyFn } from './policy/certificate-policy.js'

// Route protection.
export {
  ensureIdentities,
  requireIdentities,
  requireIdentitiesOnStream,
  problemDetails,
} from './binding/require-identities.js'
export type { IdentityNeed, IdentityRequirement, RequirementResult, MetNeed, MissingNeed } from './binding/require-identities.js'

// OAuth 2.0 mutual-TLS (RFC 8705) with secondary certificates.
export { x5tS256, decodeX5tS256, checkCertificateBinding } from './oauth/certificate-binding.js'
export type { BindingResult, BindingFailure, ConnectionCertificates, CertificateSource } from './oauth/certificate-binding.js'
export { verifyAccessToken, authorizeRequest, AccessTokenRejectedError } from './oauth/access-token.js'
export type { AuthorizeResult, AuthorizeRequestOptions, VerifyAccessTokenOptions, AccessTokenClaims } from './oauth/access-token.js'
export { matchTlsClientAuth, matchSelfSignedTlsClientAuth, authenticateMtlsClient } from './oauth/client-auth.js'
export type { MtlsClientMetadata, ClientAuthResult, ClientAuthFailure } from './oauth/client-auth.js'
export { distinguishedNameMatches, parseDistinguishedName } from './oauth/distinguished-name.js'

// Request-mTLS TLS flag (server side).
export { decodeTlsFlags, encodeTlsFlags, hasFlag, TLS_FLAGS_EXTENSION_TYPE } from './tls-flags/tls-flags.js'
export { parseClientHello, decodeClientHello } from './tls-flags/client-hello.js'
export type { ClientHello, ClientHelloParse } from './tls-flags/client-hello.js'
export { requestMtlsSignal, hasRequestMtlsFlag, decideClientCertificateRequest, REQUEST_MTLS_FLAG_EXPERIMENTAL } from './tls-flags/request-mtls.js'
export { peekClientHello, attachRequestMtls, requestMtlsInfo } from './binding/client-hello-peek.js'
export type { RequestMtlsServerOptions, RequestMtlsFront, RequestMtlsConnectionInfo } from './binding/client-hello-peek.js'

// Public types and documented functions that had no export (issue 10 item 5).
export { issueCertificate, EKU, PKI_KEY_TYPES } from './pki/test-pki.js'
export type {
  TestPki,
  TestCredential,
  PkiKeyType,
  TestPkiOptions,
  IssueCertificateOptions,
  KeyUsageName,
  RawExtension,
} from './pki/test-pki.js'
export type { PolicyIdentity, PolicyContext } from './policy/certificate-policy.js'
export type { TrustAnchors, RevocationContext, ChainRejection } from './policy/chain.js'
export type {
  Role as IdentityRole,
  DecisionFailure,
  EkuFailure,
  EkuVerdict,
  EkuPolicyInput,
  CustomEkuPolicy,
  EkuClassification,
  FrankOptions,
  PeerExpectation,
  IdentityPolicy,
  TableOutcome,
  IdKind,
} from './policy/eku.js'
export { identityKind } from './policy/eku.js'
export type { FrameLogEntry } from './binding/frame-log.js'
export { isResponseGone } from './binding/require-identities.js'

// fetch(): an undici Dispatcher with secondary certificates (issue 12).
export { SecondaryCertsAgent } from './fetch/agent.js'
export type { SecondaryCertsAgentOptions, AgentConnect, ConnectTarget, CoalescingOptions } from './fetch/agent.js'
export { SecondaryCertsConnection } from './fetch/connection.js'
export { decodeOriginFrame, encodeOriginFrame, ORIGIN_FRAME_TYPE } from './wire/h2/origin-frame.js'

// Gateway and sidecar (issue 13): reverse proxy forwarding validated identities; client-side twin.
export { createGateway, Gateway } from './gateway/gateway.js'
export type { GatewayOptions, AccessLogEntry } from './gateway/gateway.js'
export type { RouteConfig, NeedConfig, HeaderNames, GatewayLimits, GatewayFileConfig } from './gateway/config.js'
export { DEFAULT_HEADER_NAMES } from './gateway/config.js'
export { createSidecar, Sidecar } from './sidecar/sidecar.js'
export type { SidecarOptions, SidecarAccessEntry } from './sidecar/sidecar.js'

// Trust decisions, subjects, declines and typed events (issue 10 items 1, 4, 5).
export type { TrustDecision } from './binding/identity.js'
export type { TrustOption } from './binding/trust.js'
export { NO_TRUST_ANCHORS, NO_TRUST_ANCHORS_WARNING } from './binding/trust.js'
export { formatDistinguishedName } from './oauth/distinguished-name.js'
export { selectCredential } from './binding/credential-selection.js'
export type { DeclineReason, Selection } from './binding/credential-selection.js'
export type { AnswerRecord } from './binding/attach-client.js'
export type {
  ServerSessionEvents,
  ClientSessionEvents,
  UntrustedIdentityEvent,
  AnswerEvent,
  DeclinedInsteadEvent,
} from './binding/events.js'

// Post-quantum (issue 14): the default provider (node:crypto + noble for ML-DSA), ML-DSA keys.
export { defaultCrypto, combineProviders } from './crypto/default-provider.js'
export { createNodeProvider, opensslMlDsa } from './crypto/node-provider.js'
export type { NodeProviderOptions } from './crypto/node-provider.js'
export { createNobleProvider } from './crypto/noble-provider.js'
export { ML_DSA_SCHEMES } from './wire/tls/signature-scheme.js'
export {
  ML_DSA,
  decodeMlDsaPkcs8,
  decodeMlDsaSpki,
  encodeMlDsaPkcs8,
  encodeMlDsaSpki,
  generateMlDsaKey,
} from './crypto/ml-dsa.js'
export type { MlDsaParams, MlDsaPrivateKey, MlDsaPrivateKeyForm } from './crypto/ml-dsa.js'
export { Violation, describeViolation, violationCode } from './proto/violations.js'
export type { ViolationRow, ViolationKey } from './proto/violations.js'
export { attachedSecondaryCerts } from './binding/attach-server.js'
export type { ResolvedServerOptions, ResolvedClientOptions } from './binding/options.js'
