/**
 * Route protection on plain node:http2 (compat API): `/protected` needs a device and a user
 * under the `frank` policy; `/strict` needs a device under `rfc5280`, which a serverAuth-only
 * device certificate does not pass. The 403 carries a problem-details body (RFC 9457) and the
 * connection stays usable.
 *
 *   node --import tsx examples/route-protection.ts
 */
import type http2 from 'node:http2'
import {
  connect,
  createCertificatePolicy,
  createSecureServer,
  createTestPki,
  requireIdentities,
} from '../lib/index.js'

const pki = await createTestPki({ keyType: 'p256' })
const anchors = [pki.caPem]

const guards: Record<string, (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => Promise<boolean>> = {
  '/protected': requireIdentities({
    needs: [{ label: 'device' }, { label: 'user', subject: /^CN=user$/m }],
    policy: createCertificatePolicy({ anchors, preset: 'frank' }),
    requestAnchors: anchors,
    timeoutMs: 5000,
  }),
  '/strict': requireIdentities({
    needs: [{ label: 'device' }],
    policy: createCertificatePolicy({ anchors, preset: 'rfc5280' }),
    timeoutMs: 5000,
  }),
}

const server = createSecureServer({ key: pki.server.keyPem, cert: pki.server.chainPem }, async (req, res) => {
  const guard = guards[req.url]
  // The guard holds the request while the client is asked, or answers 403 itself.
  if (guard && !(await guard(req, res))) return
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.end(`welcome to ${req.url}\n`)
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as { port: number }

const session = connect(`https://127.0.0.1:${port}`, {
  ca: pki.caPem,
  servername: 'localhost',
  secondaryCerts: {
    credentials: [
      { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
      { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
    ],
  },
})

async function get(path: string): Promise<{ status: number; body: string }> {
  const stream = session.request({ ':path': path })
  let status = 0
  let body = ''
  stream.on('response', (h) => (status = Number(h[':status'])))
  stream.setEncoding('utf8')
  stream.on('data', (c: string) => (body += c))
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve)
    stream.once('error', reject)
  })
  return { status, body }
}

const results: number[] = []
// '/strict' first: the device certificate (serverAuth only) is presented and rejected under
// rfc5280, with a 403; the same connection then passes '/protected'. (rfc5280 does not tell users
// from devices: once a clientAuth certificate is on the connection it would pass '/strict' too.)
for (const path of ['/strict', '/protected']) {
  const r = await get(path)
  results.push(r.status)
  console.log(`GET ${path} -> ${r.status}\n${r.body.trimEnd()}\n`)
}

session.close()
await new Promise<void>((resolve) => server.close(() => resolve()))
if (results.join(',') !== '403,200') process.exitCode = 1
