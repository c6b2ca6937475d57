/**
 * README "HTTP/2 client": the client snippet, verbatim between the markers (two regions: the
 * import, then the body, joined). `origin` and `console` are the test's.
 */
import type http2 from 'node:http2'
import { caPem as ca, deviceChainPem, deviceKeyPem, userChainPem, userKeyPem } from './setup.js'
// README:begin http2-client
import { connect, clientCerts } from '../../lib/index.js'
// README:end

/** Connects to `origin` as the README does; `log` receives what the snippet prints. */
export function readmeClient(origin: string, log: (...args: unknown[]) => void): http2.ClientHttp2Session {
  const console = { log }
  // README:begin http2-client
  const session = connect(origin, { ca, secondaryCerts: {
    credentials: [
      { label: 'device', cert: deviceChainPem, key: deviceKeyPem },
      { label: 'user', cert: userChainPem, key: userKeyPem },
    ],
    // select: (info, credentials) => credential | null   (default: honours the request's fields)
  } })
  clientCerts(session)?.on('serverCertificate', (ev) => console.log(ev.accepted, ev.origins))
  // README:end
  return session
}
