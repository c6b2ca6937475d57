/** Server facade: re-exports of the server binding. */
export {
  createSecureServer,
  attachSecondaryCerts,
  serverSettings,
  sessionCerts,
  identitiesOf,
  ServerSessionCerts,
} from './binding/attach-server.js'
export type {
  ServerExtensionOptions,
  IdentityRequest,
  IdentityOutcome,
  SecondaryCertServer,
} from './binding/attach-server.js'
