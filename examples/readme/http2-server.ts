/** README "HTTP/2 server": the server snippet, verbatim between the markers. Exports the server. */
import { key, cert, caPem, otherOriginChainPem, otherOriginKeyPem } from './setup.js'

// README:begin http2-server
import { createSecureServer, sessionCerts, ekuOidFilter } from '../../lib/index.js'

const server = createSecureServer({ key, cert, secondaryCerts: {
  trust: { anchors: [caPem], preset: 'frank' },   // who may authenticate; without it nothing is trusted
  serverCertificates: [{ cert: otherOriginChainPem, key: otherOriginKeyPem }],   // optional
} }, async (req, res) => {
  const certs = sessionCerts(req)   // undefined for HTTP/1.1 and for clients without the extension
  if (!certs) {
    res.writeHead(403, { 'content-type': 'text/plain' })
    res.end('this route needs HTTP/2 secondary certificates\n')
    return
  }
  try {
    const outcomes = await certs.requestIdentities([
      { label: 'device', oidFilters: [ekuOidFilter('device')] },
      { label: 'user', oidFilters: [ekuOidFilter('user')] },
    ], { timeoutMs: 10000 })
    res.end(JSON.stringify(outcomes.map((o) => o.kind)))   // 'identity' | 'untrusted' | 'declined'
  } catch (e) {                     // ERR_SC_TIMEOUT, ERR_SC_CLOSED or ERR_SC_PROTOCOL
    if (!res.headersSent) res.writeHead(504).end(String((e as { code?: unknown }).code))
  }
})
// README:end

export { server }
