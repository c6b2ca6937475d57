/** README "Fastify": the plugin snippet, verbatim between the markers. Exports the app. */
import { key, cert, caPem } from './setup.js'

// README:begin fastify
import Fastify from 'fastify'
import { fastifySecondaryCerts } from '../../lib/fastify.js'
import { createCertificatePolicy } from '../../lib/index.js'
const app = Fastify({ http2: true, https: { key, cert } })
await app.register(fastifySecondaryCerts, {
  policy: createCertificatePolicy({ anchors: [caPem], preset: 'frank' }),
  requestAnchors: [caPem],                       // named in certificate_authorities
})
app.get('/whoami', { config: { requireIdentities: ['device', 'user'] } }, async (req) => ({
  identities: req.identityCheck?.met.map((m) => [m.label, m.identity.subject]),
}))
// README:end

export { app }
