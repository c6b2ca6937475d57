/**
 * Interop endpoint: our server (createSecureServer with the extension). Usage:
 *   node --import tsx interop/endpoints/ours-server.ts SCENARIO
 * Prints `listening <port>`, then `result pass|fail <detail>` when its side of the scenario is
 * decided. `GET /whoami` asks for the scenario's identities and answers JSON; `GET /ask2` asks
 * for two identities (error paths); `GET /` answers `hello <authority>`.
 */
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, X509Certificate } from 'node:crypto'
import type http2 from 'node:http2'
import type tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { createSecureServer, sessionCerts } from '../../lib/server.js'
import type { IdentityOutcome, IdentityRequest, ServerExtensionOptions } from '../../lib/server.js'
import type { ProtocolError } from '../../lib/errors.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { purposeRequest } from '../../lib/cli/roles.js'
import { SCHEMES, mlDsaRun, scenarioByName } from '../scenarios.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { log, pki, scenarioName, serverResult, unsupported, workDir } from './common.js'

const sc = scenarioByName(scenarioName)
if (!sc) unsupported(`unknown scenario ${scenarioName}`)
if (sc.expect?.detector === 'client') unsupported('client-detected error paths need a misbehaving server')

const pq = mlDsaRun(sc.name)
// An ML-DSA run uses that PKI throughout: its server.pem is P-256 under a TLS root of its own
// (both roots are in its ca.pem), its device, user and origin2 are ML-DSA.
const A = pki(pq?.keyType ?? 'p256')
// The interop PKI's CA is the trust anchor (issue 10: only trusted identities are outcomes 'identity').
let ext: ServerExtensionOptions = { requestTimeoutMs: 8000, trust: { anchors: [A.ca], preset: 'frank' } }
let tlsExtra: Partial<http2.SecureServerOptions> = {}
let requests: IdentityRequest[] = [purposeRequest('device', A.ca), purposeRequest('user', A.ca)]
/** Checks the outcomes of /whoami; returns a failure detail or undefined. */
let check: (o: IdentityOutcome[], req: http2.Http2ServerRequest) => string | undefined = (o) =>
  o.map((x) => `${x.label}:${x.kind}`).join(',') === 'device:identity,user:identity' ? undefined : `outcomes ${o.map((x) => `${x.label}:${x.kind}`).join(',')}`

const leafSha = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex')
const cipherOf = (req: http2.Http2ServerRequest): string => (req.socket as unknown as tls.TLSSocket).getCipher?.()?.standardName ?? '?'

switch (pq ? 'ml-dsa' : sc.name) {
  case 'device-and-user':
  case 'plain-request':
    break
  case 'wire-capture':
    ext = { ...ext, serverCertificates: [{ cert: A.origin2, key: A.origin2Key }] }
    break
  case 'decline-one':
    check = (o) => (o.map((x) => x.kind).join(',') === 'declined,identity' ? undefined : `outcomes ${o.map((x) => x.kind).join(',')}`)
    break
  case 'server-certificate-second-origin':
    ext = { ...ext, serverCertificates: [{ cert: A.origin2, key: A.origin2Key }] }
    break
  case 'suite-sha256':
  case 'suite-sha384': {
    const suite = sc.name === 'suite-sha256' ? 'TLS_AES_128_GCM_SHA256' : 'TLS_AES_256_GCM_SHA384'
    tlsExtra = { ciphers: suite }
    const base = check
    check = (o, req) => base(o, req) ?? (cipherOf(req) === suite ? undefined : `cipher ${cipherOf(req)}`)
    break
  }
  case 'provider-noble':
    ext = { ...ext, provider: nobleCrypto }
    break
  case 'select-by-ca-and-oid': {
    // Two CAs (p256 = A, p384 = B); device under B, user under A.
    const B = pki('p384')
    requests = [purposeRequest('device', B.ca), purposeRequest('user', A.ca)]
    ext = { ...ext, trust: { anchors: [A.ca], anchorsByPurpose: { device: [B.ca] }, preset: 'frank' } }
    const want = [leafSha(B.device), leafSha(A.user)]
    check = (o) => {
      const got = o.map((x) => (x.kind === 'identity' ? x.identity.sha256 : 'declined'))
      return got[0] === want[0] && got[1] === want[1] ? undefined : `chose ${got.map((g) => g.slice(0, 12)).join(',')}, wanted ${want.map((g) => g.slice(0, 12)).join(',')}`
    }
    break
  }
  case 'oversized-authenticator':
    requests = [{ label: 'user' }]
    check = (o, req) => {
      const x = o[0]
      if (x?.kind !== 'identity') return `outcome ${x?.kind ?? 'none'}`
      const biggest = Math.max(0, ...(sessionCerts(req)?.frameLog.filter((f) => f.dir === 'in').map((f) => f.bytes) ?? []))
      return biggest > 16384 ? undefined : `largest inbound extension frame ${biggest} bytes (want > 16384)`
    }
    break
  case 'codepoint-mismatch-timeout':
    ext = { ...ext, requestTimeoutMs: 1500, codepoints: { frameServerCertificate: 0xe8, frameAuthenticatorRequests: 0xe9, frameClientCertificate: 0xea } }
    break
  case 'exporter-agreement':
    break
  case 'ml-dsa': {
    const run = pq!
    ext = {
      ...ext,
      serverCertificates: [{ cert: A.origin2, key: A.origin2Key }],
      ...(run.provider === 'noble' ? { provider: nobleCrypto } : {}),
    }
    check = (o, req) => {
      const got = o.map((x) => `${x.label}:${x.kind}${x.kind === 'identity' ? `:0x${x.identity.scheme.toString(16)}` : ''}`).join(',')
      const want = ['device', 'user'].map((l) => `${l}:identity:0x${run.code.toString(16)}`).join(',')
      if (got !== want) return `outcomes ${got}, want ${want}`
      const inbound = sessionCerts(req)?.frameLog.filter((f) => f.dir === 'in' && f.type === DEFAULT_CODEPOINTS.frameClientCertificate).map((f) => f.bytes) ?? []
      // ML-DSA-87 leaf + intermediate make authenticators of about 19.9 KB (digest §4).
      if (inbound.length !== 2 || (run.keyType === 'mldsa87' && !inbound.every((b) => b > 16384))) return `CLIENT_CERTIFICATE sizes ${inbound.join(', ')} (want > 16384)`
      return undefined
    }
    break
  }
  default: {
    const scheme = SCHEMES.find((x) => `scheme-${x.name}` === sc.name)
    if (scheme) {
      requests = [{ label: 'user', signatureAlgorithms: [scheme.code] }]
      // The client presents the user of that key type's PKI: its CA is the anchor.
      ext = { ...ext, trust: { anchors: [pki(scheme.keyType).ca], preset: 'frank' } }
      check = (o) => {
        const x = o[0]
        if (x?.kind !== 'identity') return `outcome ${x?.kind ?? 'none'}`
        return x.identity.scheme === scheme.code ? undefined : `scheme 0x${x.identity.scheme.toString(16)}`
      }
    } else if (!sc.expect) {
      unsupported(`our server has no setup for ${sc.name}`)
    } else {
      ext = { ...ext, maxAuthenticatorBytes: 4096, requestTimeoutMs: 3000 }
    }
  }
}

const server = createSecureServer({ key: A.serverKey, cert: A.server, ...tlsExtra, secondaryCerts: ext }, (req, res) => {
  void handle(req, res)
})

async function handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
  const path = req.url.split('?')[0]
  const ctl = sessionCerts(req)
  if (path === '/whoami' || path === '/ask2') {
    if (!ctl) {
      res.writeHead(428).end('no extension on this connection\n')
      if (path === '/whoami') serverResult(false, 'client connection without the extension')
      return
    }
    const t0 = Date.now()
    try {
      const out = await ctl.requestIdentities(path === '/ask2' ? [{ label: 'a' }, { label: 'b' }] : requests)
      const problem = check(out, req)
      if (path === '/whoami') serverResult(problem === undefined, problem ?? `${out.map((x) => `${x.label}:${x.kind}`).join(',')} on ${cipherOf(req)}`)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(out.map((x) => (x.kind === 'identity' ? { label: x.label, kind: x.kind, subject: x.identity.subject, sha256: x.identity.sha256, scheme: x.identity.scheme } : { label: x.label, kind: x.kind }))) + '\n')
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'error'
      const ms = Date.now() - t0
      if (sc!.name === 'codepoint-mismatch-timeout') {
        serverResult(code === 'ERR_SC_TIMEOUT' && ms < 4000, `request ended with ${code} after ${ms} ms`)
      } else if (!sc!.expect) {
        serverResult(false, `request failed: ${code} ${(e as Error).message}`)
      }
      if (!res.stream.destroyed && !res.headersSent) res.writeHead(code === 'ERR_SC_TIMEOUT' ? 504 : 403).end(JSON.stringify({ code }) + '\n')
    }
    return
  }
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.end(`hello ${String(req.headers[':authority'] ?? req.headers.host ?? '-')}\n`)
  if (sc!.name === 'server-certificate-second-origin' && req.headers[':authority'] === 'other.localhost') {
    serverResult(true, 'served other.localhost on the same connection')
  }
}

server.on('session', (s: http2.ServerHttp2Session) => {
  sessionCerts(s)?.on('violation', (e: ProtocolError) => {
    const want = sc!.expect
    if (!want?.violation) return
    serverResult(e.violation === want.violation && e.http2Code === want.code, `violation ${e.violation} code 0x${e.http2Code.toString(16)}`)
  })
})
server.on('sessionError', () => {})

if (sc.name === 'exporter-agreement') {
  // RFC 9261 §5.1 labels; values appended one JSON line per TLS connection.
  const labels = [
    'EXPORTER-client authenticator handshake context',
    'EXPORTER-server authenticator handshake context',
    'EXPORTER-client authenticator finished key',
    'EXPORTER-server authenticator finished key',
  ]
  server.prependListener('secureConnection', (sock: tls.TLSSocket) => {
    const values: Record<string, string> = {}
    for (const l of labels) values[l] = sock.exportKeyingMaterial(32, l, Buffer.alloc(0)).toString('hex')
    appendFileSync(join(workDir, 'exporter.jsonl'), JSON.stringify(values) + '\n')
  })
  serverResult(true, 'exporter values recorded (the openssl client compares)')
}

if (process.env['SSLKEYLOGFILE']) {
  const file = process.env['SSLKEYLOGFILE']
  server.on('keylog', (line: Buffer) => appendFileSync(file, line))
}

server.listen(0, '127.0.0.1', () => log(`listening ${(server.address() as AddressInfo).port}`))
process.on('SIGTERM', () => process.exit(0))
