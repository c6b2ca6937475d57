/** Client facade: re-exports of the client binding. */
export { connect, clientCerts, defaultSelector, originsOf, ClientSessionCerts } from './binding/attach-client.js'
export type {
  ClientExtensionOptions,
  CredentialSelector,
  RequestInfo,
  ServerCertificateEvent,
} from './binding/attach-client.js'
