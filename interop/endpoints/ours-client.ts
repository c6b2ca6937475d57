/**
 * Interop endpoint: our client (connect with the extension). Usage:
 *   INTEROP_PORT=P node --import tsx interop/endpoints/ours-client.ts SCENARIO
 * Exit 0 pass, 1 fail, 127 unsupported.
 */
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn, execFileSync } from 'node:child_process'
import type http2 from 'node:http2'
import { connect, clientCerts } from '../../lib/client.js'
import type { ClientExtensionOptions, ServerCertificateEvent } from '../../lib/client.js'
import type { ProtocolError } from '../../lib/errors.js'
import { nobleCrypto } from '../../lib/crypto/noble-provider.js'
import { opensslMlDsa } from '../../lib/crypto/node-provider.js'
import { SCHEMES, mlDsaRun, scenarioByName } from '../scenarios.js'
import type { ML_DSA_RUNS } from '../scenarios.js'
import { DEFAULT_CODEPOINTS } from '../../lib/config.js'
import { bigUser, deadline, finish, log, pki, port, scenarioName, unsupported, workDir } from './common.js'

const sc = scenarioByName(scenarioName)
if (!sc) unsupported(`unknown scenario ${scenarioName}`)
if (sc.expect?.detector === 'server') unsupported('our client does not misbehave')
if (sc.name === 'exporter-agreement' || sc.name === 'plain-request') unsupported('played by other peers')

const pq = mlDsaRun(sc.name)
// An ML-DSA run trusts and presents that PKI (ca.pem holds its ML-DSA root and its TLS root).
const A = pki(pq?.keyType ?? 'p256')
const url = `https://127.0.0.1:${port}`
let ext: ClientExtensionOptions = {
  credentials: [
    { label: 'device', cert: A.device, key: A.deviceKey },
    { label: 'user', cert: A.user, key: A.userKey },
  ],
}

function get(session: http2.ClientHttp2Session, path: string, authority?: string): Promise<{ status: number; body: string }> {
  return deadline(
    new Promise((resolve, reject) => {
      const st = session.request({ ':path': path, ...(authority ? { ':authority': authority } : {}) })
      let status = 0
      let body = ''
      st.setEncoding('utf8')
      st.on('response', (h) => (status = Number(h[':status'])))
      st.on('data', (c: string) => (body += c))
      st.on('end', () => resolve({ status, body }))
      st.on('error', reject)
      st.on('close', () => {
        if (st.rstCode) reject(new Error(`stream reset ${st.rstCode}`))
      })
      st.end()
    }),
    12000,
    `response to ${path}`,
  )
}

function open(e: ClientExtensionOptions): http2.ClientHttp2Session {
  const s = connect(url, { ca: A.ca, servername: 'localhost', secondaryCerts: e })
  s.on('error', () => {})
  return s
}

async function whoami(e: ClientExtensionOptions, expectKinds = 'identity,identity'): Promise<never> {
  const s = open(e)
  const r = await get(s, '/whoami')
  const kinds = (JSON.parse(r.body) as { kind: string }[]).map((x) => x.kind).join(',')
  const answered = clientCerts(s)!.answers.map((a) => a.label ?? 'declined').join(',')
  s.close()
  finish(r.status === 200 && kinds === expectKinds, `status ${r.status}, server saw ${kinds}, client answered ${answered}`)
}

async function main(): Promise<void> {
  const name = sc!.name
  if (sc!.expect) return misbehavingServer()
  if (pq) return mlDsa(pq)
  switch (name) {
    case 'device-and-user':
    case 'suite-sha256':
    case 'suite-sha384':
      return whoami(ext)
    case 'decline-one':
      return whoami({ credentials: [{ label: 'user', cert: A.user, key: A.userKey }], credentialLimit: 2 }, 'declined,identity')
    case 'provider-noble':
      return whoami({ ...ext, provider: nobleCrypto })
    case 'select-by-ca-and-oid': {
      const B = pki('p384')
      ext = {
        credentials: [
          { label: 'B-user', cert: B.user, key: B.userKey },
          { label: 'A-device', cert: A.device, key: A.deviceKey },
          { label: 'A-user', cert: A.user, key: A.userKey },
          { label: 'B-device', cert: B.device, key: B.deviceKey },
        ],
        credentialLimit: 2,
      }
      return whoami(ext)
    }
    case 'oversized-authenticator': {
      const big = bigUser()
      return whoami({ credentials: [{ label: 'user', cert: big.cert, key: big.key }] }, 'identity')
    }
    case 'server-certificate-second-origin': {
      const s = open(ext)
      const ctl = clientCerts(s)!
      const ev = deadline(new Promise<ServerCertificateEvent>((resolve) => ctl.once('serverCertificate', resolve)), 5000, 'SERVER_CERTIFICATE')
      await get(s, '/')
      const e = await ev
      if (!e.accepted || !ctl.hasOrigin('other.localhost')) finish(false, `server certificate not accepted: ${e.reason ?? e.origins.join(',')}`)
      const r = await get(s, '/', 'other.localhost')
      s.close()
      finish(r.status === 200 && r.body.startsWith('hello other.localhost'), `second origin answered ${r.status} ${r.body.trim()}`)
    }
    case 'codepoint-mismatch-timeout': {
      const s = open(ext)
      const t0 = Date.now()
      const r = await get(s, '/whoami')
      const ms = Date.now() - t0
      const asked = clientCerts(s)!.answers.length
      s.close()
      finish(r.status === 504 && r.body.includes('ERR_SC_TIMEOUT') && asked === 0, `status ${r.status} ${r.body.trim()} after ${ms} ms, requests seen ${asked}`)
    }
    case 'wire-capture':
      return wireCapture()
    default: {
      const scheme = SCHEMES.find((x) => `scheme-${x.name}` === name)
      if (!scheme) unsupported(`our client has no setup for ${name}`)
      const K = pki(scheme.keyType)
      return whoami({ credentials: [{ label: 'user', cert: K.user, key: K.userKey }] }, 'identity')
    }
  }
}

/**
 * ML-DSA device + user (issue 14): the server's SERVER_CERTIFICATE is accepted and signed with the
 * run's ML-DSA scheme, both identities reach the server with it, and for ML-DSA-87 each of our
 * CLIENT_CERTIFICATE frames is over 16 KB and within the server's SETTINGS_MAX_FRAME_SIZE.
 */
async function mlDsa(run: (typeof ML_DSA_RUNS)[number]): Promise<never> {
  const s = open({ ...ext, ...(run.provider === 'noble' ? { provider: nobleCrypto } : {}) })
  const ctl = clientCerts(s)!
  const ev = deadline(new Promise<ServerCertificateEvent>((resolve) => ctl.once('serverCertificate', resolve)), 10000, 'SERVER_CERTIFICATE')
  const r = await get(s, '/whoami')
  const e = await ev
  const seen = (JSON.parse(r.body) as { label: string; kind: string; scheme?: number }[]).map((x) => `${x.label}:${x.kind}:0x${(x.scheme ?? 0).toString(16)}`)
  const sent = ctl.frameLog.filter((f) => f.dir === 'out' && f.type === DEFAULT_CODEPOINTS.frameClientCertificate).map((f) => f.bytes)
  const limit = s.remoteSettings.maxFrameSize ?? 16384
  s.close()
  const scheme = `0x${run.code.toString(16)}`
  const problems: string[] = []
  if (r.status !== 200) problems.push(`status ${r.status}`)
  if (seen.join(',') !== `device:identity:${scheme},user:identity:${scheme}`) problems.push(`server saw ${seen.join(',')}`)
  if (!e.accepted || e.identity.scheme !== run.code) problems.push(`SERVER_CERTIFICATE ${e.accepted ? 'accepted' : `rejected (${e.reason ?? '-'})`} with scheme 0x${e.identity.scheme.toString(16)}`)
  if (sent.length !== 2 || sent.some((b) => b > limit)) problems.push(`CLIENT_CERTIFICATE sizes ${sent.join(', ')} for a limit of ${limit}`)
  if (run.keyType === 'mldsa87' && sent.some((b) => b <= 16384)) problems.push(`CLIENT_CERTIFICATE sizes ${sent.join(', ')} (want > 16384)`)
  const provider = run.provider === 'noble' ? nobleCrypto.name : `default (ML-DSA by ${opensslMlDsa() ? 'OpenSSL' : 'noble'})`
  finish(problems.length === 0, problems.length ? problems.join('; ') : `${run.keyType} device+user and server certificate, authenticators ${sent.join('/')} bytes (server limit ${limit}), ${provider} provider`)
}

/** Client-detected error paths: the raw server misbehaves; we must send the right GOAWAY. */
async function misbehavingServer(): Promise<never> {
  const want = sc!.expect!
  const s = open({ ...ext, credentialLimit: 1, maxAuthenticatorBytes: 4096 })
  const ctl = clientCerts(s)!
  const v = await deadline(new Promise<ProtocolError>((resolve) => ctl.once('violation', resolve)), 6000, 'violation')
  // Let the binding send its GOAWAY and close the connection itself (it does so ~100 ms later).
  await deadline(new Promise((resolve) => (s.closed ? resolve(undefined) : s.once('close', resolve))), 3000, 'session close after GOAWAY').catch(() => s.destroy())
  finish(v.violation === want.violation && v.http2Code === want.code, `violation ${v.violation} code 0x${v.http2Code.toString(16)}`)
}

/** tshark on lo with our key log: the extension frames appear with the lengths we logged. */
async function wireCapture(): Promise<never> {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' })
  } catch {
    unsupported('tshark not installed')
  }
  const pcap = join(workDir, `capture-${port}.pcapng`)
  const keylog = join(workDir, `keylog-${port}.txt`)
  writeFileSync(keylog, '')
  const cap = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port}`, '-w', pcap, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let capErr = ''
  const ready = new Promise<boolean>((resolve) => {
    cap.stderr.on('data', (c: Buffer) => {
      capErr += c.toString()
      if (/Capturing on/.test(capErr)) resolve(true)
    })
    cap.on('exit', () => resolve(false))
    setTimeout(() => resolve(false), 8000).unref()
  })
  if (!(await ready)) {
    cap.kill()
    unsupported(`cannot capture on lo (need root or dumpcap capabilities): ${capErr.trim().split('\n').pop() ?? ''}`)
  }
  await new Promise((r) => setTimeout(r, 300))
  const s = open({ ...ext, onKeylog: (line) => appendFileSync(keylog, line) })
  const ctl = clientCerts(s)!
  const r = await get(s, '/whoami')
  await new Promise((res) => setTimeout(res, 300))
  const logged = ctl.frameLog.map((f) => `${f.type}:${f.bytes}`).sort()
  s.close()
  await new Promise((res) => setTimeout(res, 500))
  cap.kill('SIGINT')
  await new Promise((res) => cap.on('exit', res))
  const out = execFileSync('tshark', ['-r', pcap, '-o', `tls.keylog_file:${keylog}`, '-Y', 'http2', '-T', 'fields', '-e', 'http2.type', '-e', 'http2.length'], { encoding: 'utf8' })
  // One line per packet; fields hold comma-separated values for every HTTP/2 frame in it.
  const seen: string[] = []
  for (const line of out.split('\n')) {
    const [types, lens] = line.split('\t')
    if (!types || !lens) continue
    const t = types.split(','), l = lens.split(',')
    t.forEach((ty, i) => {
      if (Number(ty) >= 0xf8 && Number(ty) <= 0xfa) seen.push(`${Number(ty)}:${Number(l[i])}`)
    })
  }
  seen.sort()
  log(`logged by the client: ${logged.join(' ')}`)
  log(`dissected by tshark: ${seen.join(' ')}`)
  const types = new Set(seen.map((x) => x.split(':')[0]))
  finish(
    r.status === 200 && types.has('248') && types.has('249') && types.has('250') && JSON.stringify(seen) === JSON.stringify(logged),
    `status ${r.status}; tshark saw ${seen.length} extension frames, client logged ${logged.length}`,
  )
}

main().catch((e: unknown) => finish(false, `error: ${(e as Error).message}`))
