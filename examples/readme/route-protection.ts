/** README "Route protection": the guard snippet, verbatim between the markers. Exports the server. */
import { key, cert, caPem } from './setup.js'

// README:begin route-protection
import { requireIdentities, createCertificatePolicy, createSecureServer } from '../../lib/index.js'
const guard = requireIdentities({
  needs: [{ label: 'device' }, { label: 'user', subject: /^CN=user\b/m }],
  // 'frank': a serverAuth-only certificate is a device (EKU digest §3); under 'rfc5280' a device
  // needs clientAuth, which the test PKI's device certificate does not carry.
  policy: createCertificatePolicy({ anchors: [caPem], preset: 'frank' }),
  requestAnchors: [caPem],
})
const server = createSecureServer({ key, cert, allowHTTP1: true }, async (req, res) => {
  if (!(await guard(req, res))) return      // 403 problem+json already sent (HTTP/1.1 included)
  res.end('welcome')
})
// README:end

export { server }
