/**
 * h2sc: command-line tool for HTTP/2 secondary certificates. The subcommands, their flags and
 * their help live in the COMMANDS table below (`h2sc --help`, `h2sc <command> --help`).
 *
 * With SSLKEYLOGFILE set, serve/request/demo append NSS key-log lines to it.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { basename } from 'node:path'
import type http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { createSecureServer, sessionCerts } from '../binding/attach-server.js'
import type { IdentityRequest } from '../binding/attach-server.js'
import { clientCerts, connect } from '../binding/attach-client.js'
import type { ClientSessionCerts, CredentialSelector, ServerCertificateEvent } from '../binding/attach-client.js'
import { authorityCoverage, hostOfAuthority } from '../fetch/authority.js'
import type { PeerCertificate } from 'node:tls'
import type { LabelledCredentialInput } from '../binding/credentials.js'
import type { Identity } from '../binding/identity.js'
import { ensureIdentities, isResponseGone, problemDetails } from '../binding/require-identities.js'
import type { IdentityRequirement, MetNeed } from '../binding/require-identities.js'
import { createCertificatePolicy } from '../policy/certificate-policy.js'
import type { CertificatePolicyFn } from '../policy/certificate-policy.js'
import type { Decision } from '../policy/eku.js'
import { PKI_KEY_TYPES, createTestPki, isMlDsaKeyType, isPkiKeyType, writeTestPki } from '../pki/test-pki.js'
import type { PkiKeyType } from '../pki/test-pki.js'
import { schemeName } from '../wire/tls/signature-scheme.js'
import { DEFAULT_CODEPOINTS } from '../config.js'
import { hasCode } from '../errors.js'
import type { ProtocolError } from '../errors.js'
import { describeViolation } from '../proto/violations.js'
import { inspect, looksLikeHexText, parseHex } from './inspect.js'
import { ArgumentError, CliError, bool, commandHelp, intFlag, list, parseCommandArgs, str, topUsage, wantsHelp } from './args.js'
import type { CommandSpec, ParsedArgs } from './args.js'
import { readCaFile, readCredentialFiles } from './files.js'
import { describeRole, purposeRequest } from './roles.js'


const FRAME_NAMES: Record<number, string> = { 0xf8: 'SERVER_CERTIFICATE', 0xf9: 'AUTHENTICATOR_REQUESTS', 0xfa: 'CLIENT_CERTIFICATE' }

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

function keylogSink(): ((line: Buffer) => void) | undefined {
  const file = process.env['SSLKEYLOGFILE']
  if (!file) return undefined
  return (line: Buffer) => {
    try {
      appendFileSync(file, line)
    } catch {
      // A key log that cannot be written must not break the connection.
    }
  }
}

/** One identity as /whoami reports it: the role is the policy's (EKU digest table), with the row. */
interface IdentityReport {
  label: string
  subject: string
  eku: string[]
  /** Roles the policy accepted the identity in, joined by '+', or 'rejected'. */
  role: string
  roles: string[]
  rows: number[]
  /** What the EKU alone says (user, device, user+device, none). */
  ekuRole: string
  sha256: string
  /** SignatureScheme of the authenticator's CertificateVerify (RFC 9261 §5.2.2), by name. */
  scheme: string
  reason?: string
  detail?: string
}

function identityJson(i: Identity, d: Decision | undefined): IdentityReport {
  const base = {
    label: i.label,
    subject: i.subject.replace(/\n/g, ', '),
    eku: [...i.eku],
    ekuRole: describeRole(i.eku),
    sha256: i.sha256,
    scheme: schemeName(i.scheme),
  }
  if (!d) return { ...base, role: describeRole(i.eku), roles: [], rows: [] }
  if (d.accept) return { ...base, role: [...d.roles].join('+'), roles: [...d.roles], rows: [...d.rows] }
  return { ...base, role: 'rejected', roles: [], rows: d.row !== undefined ? [d.row] : [], reason: d.reason, detail: d.detail }
}

function metJson(m: MetNeed): IdentityReport {
  return { ...identityJson(m.identity, m.decision), label: m.label }
}

// ---------------------------------------------------------------------------------------------
// serve

interface ServeOptions {
  port: number
  host: string
  cert: string
  key: string
  ca: string
  request: string[]
  /** EKU preset of the certificate policy (default 'frank': the test PKI's device is serverAuth-only). */
  policy?: 'rfc5280' | 'frank'
  /** Identities /whoami and /protected require (route protection); empty = /whoami just asks. */
  require?: string[]
  serverCert?: string
  serverKey?: string
  timeoutMs: number
}

/** Starts the server; resolves when listening. */
export async function serve(o: ServeOptions, log: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<http2.Http2SecureServer> {
  const cert = readText(o.cert, 'certificate')
  const key = readText(o.key, 'key')
  const ca = readText(o.ca, 'CA')
  const serverCertificates = o.serverCert
    ? [{ cert: readText(o.serverCert, 'server certificate'), key: readText(o.serverKey ?? '', 'server key') }]
    : []
  const preset = o.policy ?? 'frank'
  const policy: CertificatePolicyFn = createCertificatePolicy({ anchors: [ca], preset })
  const server = createSecureServer(
    {
      cert,
      key,
      allowHTTP1: true,
      // --ca is the trust anchor: identities are decided against it once (issue 10).
      secondaryCerts: { serverCertificates, serverCertAuth: true, requestTimeoutMs: o.timeoutMs, trust: policy },
    },
    (req, res) => {
      // A failing handler answers 500; it must never become an unhandled rejection (issue 10).
      handle(req, res).catch(() => {
        if (res.headersSent || isResponseGone(res)) return
        json(res, 500, { type: 'about:blank', title: 'Internal Server Error', status: 500 }, 'application/problem+json')
      })
    },
  )
  const requests: IdentityRequest[] = o.request.map((label) => purposeRequest(label, ca))
  const requirement: IdentityRequirement | undefined =
    o.require && o.require.length > 0
      ? { needs: o.require.map((label) => ({ label })), policy, requestAnchors: [ca], timeoutMs: o.timeoutMs }
      : undefined
  const json = (res: http2.Http2ServerResponse, status: number, body: object, type = 'application/json'): void => {
    res.writeHead(status, { 'content-type': type })
    res.end(JSON.stringify(body) + '\n')
  }
  async function handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
    const url = req.url.split('?')[0]
    if (requirement && (url === '/whoami' || url === '/protected')) {
      // Route protection: ask for what is missing, hold the response, then 200 or 403 with the
      // reason. A rejection never closes the connection (SERVER -02 §6.2).
      const r = await ensureIdentities(req, requirement)
      if (res.headersSent || isResponseGone(res)) return
      if (!r.ok) {
        json(res, 403, { ...problemDetails(r), policy: preset }, 'application/problem+json')
        return
      }
      json(res, 200, { ...(url === '/protected' ? { ok: true } : {}), policy: preset, identities: r.met.map(metJson), declined: 0 })
      return
    }
    if (url === '/protected') {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('no route protection: start serve with --require device,user\n')
      return
    }
    if (url === '/whoami') {
      const ctl = sessionCerts(req)
      if (!ctl) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ identities: [], declined: 0, note: 'client does not speak secondary certificates' }) + '\n')
        return
      }
      try {
        const outcomes = await ctl.requestIdentities(requests)
        const identities = await Promise.all(
          outcomes.flatMap((x) => {
            if (x.kind === 'declined') return []
            const purpose = x.label === 'device' || x.label === 'user' ? x.label : 'any'
            return [policy({ chain: x.identity.chain, entries: x.identity.entries }, purpose).then((d) => identityJson(x.identity, d))]
          }),
        )
        const declined = outcomes.filter((x) => x.kind === 'declined').length
        if (res.headersSent || isResponseGone(res)) return
        json(res, 200, { policy: preset, identities, declined })
      } catch (e) {
        if (res.headersSent || isResponseGone(res)) return
        res.writeHead(e && (e as { code?: string }).code === 'ERR_SC_TIMEOUT' ? 504 : 403, { 'content-type': 'application/problem+json' })
        res.end(JSON.stringify({ title: 'identity request failed', detail: (e as Error).message, code: (e as { code?: string }).code }) + '\n')
      }
      return
    }
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`hello from h2sc (${req.httpVersion === '2.0' ? 'HTTP/2' : 'HTTP/' + req.httpVersion}, authority ${req.headers[':authority'] ?? req.headers.host ?? '-'})\n`)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found\n')
  }
  const sink = keylogSink()
  if (sink) server.on('keylog', sink)
  server.on('sessionError', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  log(`listening on https://127.0.0.1:${port}`)
  return server
}

// ---------------------------------------------------------------------------------------------
// request

interface RequestCliOptions {
  url: string
  ca: string
  creds: LabelledCredentialInput[]
  decline: boolean
  /** Answer every request with the next credential not yet presented, ignoring CA names and oid_filters. */
  ignoreFilters?: boolean
  json: boolean
  authority?: string
  /** Send `authority` even when no certificate on the connection covers it. */
  insecureAuthority?: boolean
  timeoutMs: number
}

export interface RequestReport {
  ok: boolean
  status: number | undefined
  body: string
  asked: { id: number; schemes: string[]; certificateAuthorities: number; oidFilters: number }[]
  answered: { id: number; label: string | null }[]
  serverCertificates: { subject: string; scheme: string; origins: string[]; accepted: boolean; reason?: string }[]
  frames: { dir: string; type: string; bytes: number }[]
  /**
   * SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2) each side advertised, as node:http2 saw them: an
   * authenticator crosses only in one frame within the receiver's limit (digest §4).
   */
  maxFrameSize: { client: number | undefined; server: number | undefined }
  timings: { connectMs: number; responseMs: number }
}

/** A selector that honours only signature_algorithms (to test what a server's policy rejects). */
const ignoreFilters: CredentialSelector = (info, credentials) => {
  const fits = credentials.filter((c) => c.key.schemes.some((s) => info.request.signatureAlgorithms.includes(s)))
  return fits.find((c) => !info.alreadyPresented.includes(c.label)) ?? fits[0] ?? null
}

/** Runs one request; the report says what happened. */
export async function request(o: RequestCliOptions): Promise<RequestReport> {
  const url = new URL(o.url)
  const ca = readText(o.ca, 'CA')
  const t0 = performance.now()
  const sink = keylogSink()
  const session = connect(url, {
    ca,
    secondaryCerts: {
      credentials: o.creds,
      ...(o.decline ? { select: () => null } : o.ignoreFilters ? { select: ignoreFilters } : {}),
      credentialLimit: Math.max(2, o.creds.length),
      ...(sink ? { onKeylog: sink } : {}),
    },
  })
  const ctl = clientCerts(session)!
  const peerSettings = new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()))
  const report: RequestReport = {
    ok: false,
    status: undefined,
    body: '',
    asked: [],
    answered: [],
    serverCertificates: [],
    frames: [],
    maxFrameSize: { client: undefined, server: undefined },
    timings: { connectMs: 0, responseMs: 0 },
  }
  ctl.on('request', (info: { id: number; request: { certificateAuthorities?: readonly unknown[] | undefined; oidFilters?: readonly unknown[] | undefined }; schemes: readonly string[] }) => {
    report.asked.push({
      id: info.id,
      schemes: [...info.schemes],
      certificateAuthorities: info.request.certificateAuthorities?.length ?? 0,
      oidFilters: info.request.oidFilters?.length ?? 0,
    })
  })
  ctl.on('answer', (a: { id: number; label: string | null }) => report.answered.push({ id: a.id, label: a.label }))
  ctl.on('serverCertificate', (ev: ServerCertificateEvent) => {
    report.serverCertificates.push({
      subject: ev.identity.subject.replace(/\n/g, ', '),
      scheme: schemeName(ev.identity.scheme),
      origins: [...ev.origins],
      accepted: ev.accepted,
      ...(ev.reason ? { reason: ev.reason } : {}),
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve())
      session.once('error', reject)
    })
    report.timings.connectMs = performance.now() - t0
    // A violation destroys the session and its streams with the ProtocolError; the stream's
    // 'error' below reports it, the session's must not go unhandled.
    session.on('error', () => {})
    const t1 = performance.now()
    const headers: http2.OutgoingHttpHeaders = { ':path': url.pathname + url.search }
    if (o.authority) {
      // RFC 9113 §9.1.1, SERVER -02 §3.2: only names the TLS certificate or an accepted secondary
      // server certificate covers go over this connection, unless the user insists.
      if (!o.insecureAuthority) {
        const pending = (): number => ctl.frameLog.filter((f) => f.dir === 'in' && f.type === DEFAULT_CODEPOINTS.frameServerCertificate).length - report.serverCertificates.length
        const peer = (session.socket as unknown as { getPeerCertificate?: () => PeerCertificate }).getPeerCertificate?.()
        await authorityCovered(ctl, peer, o.authority, peerSettings, pending, Math.min(o.timeoutMs, 3000))
      }
      headers[':authority'] = o.authority
    }
    const stream = session.request(headers)
    const chunks: Buffer[] = []
    const status = await new Promise<number>((resolve, reject) => {
      let st = 0
      const timer = setTimeout(() => reject(new CliError('no response in time')), o.timeoutMs)
      stream.on('response', (h) => (st = Number(h[':status'])))
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        clearTimeout(timer)
        resolve(st)
      })
      stream.on('close', () => {
        clearTimeout(timer)
        if (stream.rstCode) reject(new CliError(`stream reset with code ${stream.rstCode}`))
        else resolve(st)
      })
      stream.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
    report.timings.responseMs = performance.now() - t1
    report.status = status
    report.body = Buffer.concat(chunks).toString('utf8')
    report.ok = status >= 200 && status < 400
  } catch (e) {
    // One line naming the violation, its code and section (issue 9 item 5).
    if (hasCode(e, 'ERR_SC_PROTOCOL')) throw new CliError(describeViolation(e as ProtocolError, DEFAULT_CODEPOINTS))
    throw e
  } finally {
    report.frames = ctl.frameLog.map((f) => ({ dir: f.dir, type: FRAME_NAMES[f.type] ?? `0x${f.type.toString(16)}`, bytes: f.bytes }))
    report.maxFrameSize = { client: session.localSettings.maxFrameSize, server: session.remoteSettings.maxFrameSize }
    session.close()
  }
  return report
}

/**
 * Resolves when the TLS certificate or an accepted secondary server certificate covers the
 * authority's host. A server sends its certificates right after SETTINGS (SERVER -02 §3.2), so
 * this waits for the server's SETTINGS, a short grace for the frames behind them, and the
 * validation of every SERVER_CERTIFICATE received (`pendingCertificates`), at most `waitMs` in
 * all. Throws a CliError naming the host otherwise.
 */
async function authorityCovered(
  ctl: ClientSessionCerts,
  peer: PeerCertificate | undefined,
  authority: string,
  peerSettings: Promise<void>,
  pendingCertificates: () => number,
  waitMs: number,
): Promise<void> {
  const host = hostOfAuthority(authority)
  const check = (): boolean => authorityCoverage(host, peer, ctl) !== undefined
  if (check()) return
  const covered = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), waitMs)
    let grace: NodeJS.Timeout | undefined
    const settle = (): void => {
      if (check()) done(true)
      else if (pendingCertificates() <= 0) done(false)
    }
    void peerSettings.then(() => {
      grace = setTimeout(settle, 100)
    })
    const onCert = (): void => {
      if (check()) done(true)
      else if (grace !== undefined) settle()
    }
    const done = (v: boolean): void => {
      clearTimeout(timer)
      if (grace) clearTimeout(grace)
      ctl.off('serverCertificate', onCert)
      resolve(v)
    }
    ctl.on('serverCertificate', onCert)
  })
  if (!covered) {
    throw new CliError(`no certificate on this connection covers ${host}; --insecure-authority sends it anyway`)
  }
}

function printRequestReport(r: RequestReport): void {
  const out: string[] = []
  out.push(`status: ${r.status ?? '-'}`)
  for (const a of r.asked) {
    out.push(`asked #${a.id}: schemes ${a.schemes.join(', ')}${a.certificateAuthorities ? `, ${a.certificateAuthorities} CA name(s)` : ''}${a.oidFilters ? `, ${a.oidFilters} OID filter(s)` : ''}`)
  }
  for (const a of r.answered) out.push(`answered #${a.id}: ${a.label ?? 'declined (empty authenticator)'}`)
  for (const s of r.serverCertificates) {
    out.push(`secondary server certificate ${s.accepted ? 'accepted' : 'rejected'}: ${s.subject} for ${s.origins.join(', ')}, scheme ${s.scheme}${s.reason ? ` (${s.reason})` : ''}`)
  }
  out.push('', r.body.trimEnd())
  process.stdout.write(out.join('\n') + '\n')
}

// ---------------------------------------------------------------------------------------------
// demo

/** Display names of the test PKI's key types, for the demo's account. */
const KEY_TYPE_NAMES: Record<PkiKeyType, string> = {
  p256: 'P-256',
  p384: 'P-384',
  p521: 'P-521',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  rsa: 'RSA',
  'rsa-pss': 'RSA-PSS',
  mldsa44: 'ML-DSA-44',
  mldsa65: 'ML-DSA-65',
  mldsa87: 'ML-DSA-87',
}

/** One authenticator the demo saw cross the wire (a SERVER_CERTIFICATE or CLIENT_CERTIFICATE). */
export interface DemoAuthenticator {
  dir: 'server -> client' | 'client -> server'
  frame: string
  /** Frame payload = the authenticator (CLIENT -00 §4.2, SERVER -02 §5), in bytes. */
  bytes: number
  /** Whose certificate: the credential label, or the secondary server certificate's origins. */
  who: string
  /** SignatureScheme of its CertificateVerify, by name ('-' when unknown). */
  scheme: string
}

/** What `h2sc demo` did and saw; `ok` when every check of {@link demo} passed. */
export interface DemoReport {
  ok: boolean
  keyType: PkiKeyType
  /** Key type of the TLS server certificate (P-256 for the ML-DSA PKIs: Node 20 cannot sign TLS with ML-DSA). */
  tlsKeyType: PkiKeyType
  url: string
  status: number | undefined
  frames: RequestReport['frames']
  authenticators: DemoAuthenticator[]
  maxFrameSize: RequestReport['maxFrameSize']
  asked: RequestReport['asked']
  answered: RequestReport['answered']
  identities: IdentityReport[]
  declined: number
  serverCertificates: RequestReport['serverCertificates']
  /** Why `ok` is false (empty when it is true). */
  problems: string[]
  timings: { pkiMs: number; connectMs: number; authenticateAndRespondMs: number; totalMs: number }
}

/**
 * The main job: `h2sc serve` and `h2sc request` on loopback with a fresh test PKI of `keyType`
 * (default p256). The client presents device and user, the server sends origin2 as a secondary
 * server certificate; all three are `keyType` certificates carried in exported authenticators,
 * while the TLS handshake uses the PKI's server certificate (P-256 for the ML-DSA types).
 * Neither side is configured for large frames: the library's default SETTINGS_MAX_FRAME_SIZE
 * (`DEFAULTS.maxFrameSize`) already fits ML-DSA-87 authenticators of about 20 KB.
 *
 * `ok` needs a 200 with device and user accepted, none declined, the secondary server certificate
 * accepted, and for the ML-DSA types every authenticator signed with that ML-DSA scheme.
 * @returns the account.
 */
export async function demo(options: { keyType?: PkiKeyType } = {}): Promise<DemoReport> {
  const keyType = options.keyType ?? 'p256'
  const started = performance.now()
  const tPki = performance.now()
  const pki = await createTestPki({ keyType })
  const pkiMs = performance.now() - tPki
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'h2sc-demo-'))
  try {
    await writeTestPki(pki, dir)
    const server = await serve(
      {
        port: 0,
        host: '127.0.0.1',
        cert: join(dir, 'server.pem'),
        key: join(dir, 'server-key.pem'),
        ca: join(dir, 'ca.pem'),
        request: ['device', 'user'],
        serverCert: join(dir, 'origin2.pem'),
        serverKey: join(dir, 'origin2-key.pem'),
        timeoutMs: 10000,
      },
      () => {},
    )
    const port = (server.address() as AddressInfo).port
    try {
      const report = await request({
        url: `https://127.0.0.1:${port}/whoami`,
        ca: join(dir, 'ca.pem'),
        creds: [
          { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
          { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
        ],
        decline: false,
        json: true,
        timeoutMs: 10000,
      })
      const body = JSON.parse(report.body || '{}') as { identities?: IdentityReport[]; declined?: number }
      const identities = body.identities ?? []
      const declined = body.declined ?? 0
      const authenticators = demoAuthenticators(report, identities)
      const problems = demoProblems(keyType, report, identities, declined, authenticators)
      return {
        ok: problems.length === 0,
        keyType,
        tlsKeyType: pki.server.keyType,
        url: `https://127.0.0.1:${port}/whoami`,
        status: report.status,
        frames: report.frames,
        authenticators,
        maxFrameSize: report.maxFrameSize,
        asked: report.asked,
        answered: report.answered,
        identities,
        declined,
        serverCertificates: report.serverCertificates,
        problems,
        timings: {
          pkiMs: round(pkiMs),
          connectMs: round(report.timings.connectMs),
          authenticateAndRespondMs: round(report.timings.responseMs),
          totalMs: round(performance.now() - started),
        },
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The authenticators among the frames, each with whose it is and its scheme: the n-th
 * SERVER_CERTIFICATE is the n-th secondary server certificate the client validated, the n-th
 * CLIENT_CERTIFICATE the n-th credential it presented (answers go out in request order).
 */
function demoAuthenticators(report: RequestReport, identities: readonly IdentityReport[]): DemoAuthenticator[] {
  const presented = report.answered.flatMap((a) => (a.label === null ? [] : [a.label]))
  let nServer = 0
  let nClient = 0
  return report.frames.filter(carriesAuthenticator).map((f): DemoAuthenticator => {
    if (f.dir === 'in') {
      const sc = report.serverCertificates[nServer++]
      return { dir: 'server -> client', frame: f.type, bytes: f.bytes, who: sc ? sc.origins.join(', ') : '-', scheme: sc?.scheme ?? '-' }
    }
    const label = presented[nClient++] ?? '-'
    const scheme = identities.find((i) => i.label === label)?.scheme ?? '-'
    return { dir: 'client -> server', frame: f.type, bytes: f.bytes, who: label, scheme }
  })
}

/** A SERVER_CERTIFICATE the client received or a CLIENT_CERTIFICATE it sent. */
function carriesAuthenticator(f: RequestReport['frames'][number]): boolean {
  return (f.type === 'SERVER_CERTIFICATE' && f.dir === 'in') || (f.type === 'CLIENT_CERTIFICATE' && f.dir === 'out')
}

function demoProblems(
  keyType: PkiKeyType,
  report: RequestReport,
  identities: readonly IdentityReport[],
  declined: number,
  authenticators: readonly DemoAuthenticator[],
): string[] {
  const problems: string[] = []
  if (report.status !== 200) problems.push(`GET /whoami answered ${report.status ?? 'nothing'}`)
  const labels = identities.map((i) => i.label).sort().join(',')
  if (labels !== 'device,user') problems.push(`the server saw identities '${labels}', not device and user`)
  for (const i of identities) if (i.role === 'rejected') problems.push(`the policy rejected '${i.label}': ${i.reason ?? '-'}`)
  if (declined !== 0) problems.push(`${declined} request(s) declined`)
  if (report.serverCertificates.length !== 1 || !report.serverCertificates[0]!.accepted) {
    problems.push('the secondary server certificate was not received and accepted')
  }
  // The ML-DSA PKIs' leaves can only sign with their own scheme: anything else means the
  // authenticators did not carry what the demo claims.
  if (isMlDsaKeyType(keyType)) {
    const other = authenticators.filter((a) => a.scheme !== keyType)
    if (other.length > 0 || authenticators.length !== 3) {
      problems.push(`expected three ${keyType} authenticators, saw ${authenticators.map((a) => a.scheme).join(', ') || 'none'}`)
    }
  }
  const server = report.maxFrameSize.server
  const tooBig = authenticators.filter((a) => a.dir === 'client -> server' && server !== undefined && a.bytes > server)
  if (tooBig.length > 0) problems.push(`an authenticator exceeds the server's SETTINGS_MAX_FRAME_SIZE ${server}`)
  return problems
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}

/** RFC 9113 §6.5.2: the SETTINGS_MAX_FRAME_SIZE a peer that sends none has. */
const DEFAULT_MAX_FRAME_SIZE = 16_384

function printDemo(d: DemoReport): void {
  const lines: string[] = []
  const t = d.timings
  const tls = d.tlsKeyType === d.keyType ? '' : `; TLS handshake with a ${KEY_TYPE_NAMES[d.tlsKeyType]} server certificate`
  lines.push(`h2sc demo: HTTP/2 secondary certificates on loopback (fresh ${KEY_TYPE_NAMES[d.keyType]} PKI${tls})`)
  lines.push(`  client connected to ${d.url} with no TLS client certificate`)
  const mfs = d.maxFrameSize
  lines.push(`  SETTINGS_MAX_FRAME_SIZE: server ${mfs.server ?? '-'}, client ${mfs.client ?? '-'} (HTTP/2 default ${DEFAULT_MAX_FRAME_SIZE})`)
  lines.push('  frames on stream 0 (seen by the client):')
  let next = 0
  for (const f of d.frames) {
    const a = carriesAuthenticator(f) ? d.authenticators[next++] : undefined
    const what = a ? `  authenticator: ${a.who}, ${a.scheme}` : ''
    lines.push(`    ${f.dir === 'in' ? 'server -> client' : 'client -> server'}  ${f.type.padEnd(22)} ${String(f.bytes).padStart(6)} bytes${what}`)
  }
  const largest = d.authenticators.reduce<DemoAuthenticator | undefined>((m, a) => (m && m.bytes >= a.bytes ? m : a), undefined)
  if (largest) {
    const over = largest.bytes > DEFAULT_MAX_FRAME_SIZE ? `, over the ${DEFAULT_MAX_FRAME_SIZE}-byte default: sent under the raised limit` : ''
    lines.push(`  largest authenticator: ${largest.bytes} bytes (${largest.scheme}, ${largest.who})${over}`)
  }
  for (const s of d.serverCertificates) lines.push(`  secondary server certificate ${s.accepted ? 'accepted' : 'rejected'} for ${s.origins.join(', ')} (${s.scheme})`)
  lines.push(`  GET /whoami -> ${String(d.status)}`)
  for (const i of d.identities) lines.push(`    identity '${i.label}': ${i.subject} — role ${i.role}, scheme ${i.scheme} (EKU ${i.eku.join(', ') || 'none'})`)
  lines.push(`    declined: ${d.declined}`)
  lines.push(`  timings: PKI ${t.pkiMs} ms, connect ${t.connectMs} ms, ask+answer+respond ${t.authenticateAndRespondMs} ms, total ${t.totalMs} ms`)
  if (d.ok) lines.push('ok: both identities presented and validated')
  else lines.push(`FAILED: ${d.problems.join('; ')}`)
  process.stdout.write(lines.join('\n') + '\n')
}

// ---------------------------------------------------------------------------------------------

/** `LABEL:CERT:KEY` of `--cred`: both files read and checked (key matches certificate) here. */
function parseCred(spec: string): LabelledCredentialInput {
  const parts = spec.split(':')
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new ArgumentError(`--cred wants LABEL:CERT:KEY, got '${spec}'`)
  const [label, certPath, keyPath] = parts as [string, string, string]
  if (!LABEL.test(label)) throw new ArgumentError(`--cred label must be letters, digits, '.', '_' or '-', got '${label}'`)
  const flag = `--cred ${label}`
  const { cert, key } = readCredentialFiles({ certFlag: `${flag} certificate`, certPath, keyFlag: `${flag} key`, keyPath })
  return { label, cert, key }
}

const LABEL = /^[A-Za-z0-9._-]{1,64}$/

/** `device,user` → ['device', 'user']; only those two labels (route protection needs). */
function labelList(v: string | undefined, name: string): string[] {
  if (v === undefined) return []
  const labels = v.split(',').map((s) => s.trim()).filter(Boolean)
  const bad = labels.find((l) => l !== 'device' && l !== 'user')
  if (labels.length === 0 || bad !== undefined) throw new ArgumentError(`--${name} takes device and/or user, got '${v}'`)
  return [...new Set(labels)]
}

function intArg(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ArgumentError(`--${name} must be a port number, got '${v}'`)
  return n
}

/** A date flag: ISO 8601 (`2030-01-01` or `2030-01-01T12:00:00Z`). */
function dateFlag(a: ParsedArgs, name: string): Date | undefined {
  const v = str(a, name)
  if (v === undefined) return undefined
  const d = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? new Date(v) : new Date(NaN)
  if (Number.isNaN(d.getTime())) throw new ArgumentError(`--${name} must be a date like 2030-01-31 or 2030-01-31T12:00:00Z, got '${v}'`)
  return d
}

const DAY_MS = 86_400_000
const TIMEOUT_MAX_MS = 3_600_000

// ---------------------------------------------------------------------------------------------
// The command table: every subcommand's flags, help and run function. `--help` on any command,
// the top usage text and argument checking all come from here; a new subcommand is one entry.

const pkiCommand: CommandSpec = {
  name: 'pki',
  summary: 'write a fresh test PKI (CA, intermediate, server, device, user, origin2) as PEM files',
  flags: [
    { name: 'out', type: 'string', value: 'DIR', required: true, help: 'directory to write (created if missing; must be empty unless --force)' },
    { name: 'key-type', type: 'string', value: 'TYPE', help: `key type of the leaves and CAs: ${PKI_KEY_TYPES.join(', ')} (default p256)` },
    { name: 'force', type: 'boolean', help: 'write into a non-empty directory, overwriting files of the same names' },
    { name: 'name', type: 'string', value: 'NAME', help: 'fixed text in the CA names (default: random, so each run has its own CA names)' },
    { name: 'expired', type: 'boolean', help: 'device, user and origin2 expired yesterday (valid for 30 days before)' },
    { name: 'not-before', type: 'string', value: 'DATE', help: 'device, user and origin2 valid from DATE (ISO 8601)' },
    { name: 'not-after', type: 'string', value: 'DATE', help: 'device, user and origin2 valid until DATE (ISO 8601)' },
    { name: 'days', type: 'string', value: 'N', help: 'device, user and origin2 valid for N days (from --not-before or now)' },
  ],
  notes: [
    'Files: ca.pem, ca-key.pem, intermediate.pem, intermediate-key.pem and <name>.pem (leaf + intermediate) with <name>-key.pem for server, device, user and origin2. Keys are unencrypted PKCS#8 (mode 0600): test use only.',
    'The validity flags apply to the secondary certificates (device, user, origin2) so a policy can be tried against expired or not-yet-valid ones; server.pem stays valid so `h2sc serve` starts.',
  ],
  async run(a) {
    const out = str(a, 'out')!
    const keyType = keyTypeFlag(a)
    const name = str(a, 'name')
    if (name !== undefined && !/^[\w .:-]{1,64}$/.test(name)) {
      throw new ArgumentError(`--name must be 1-64 letters, digits, spaces or . : - _, got '${name}'`)
    }
    const leafValidity = pkiValidity(a)
    checkOutDir(out, bool(a, 'force'))
    const pki = await createTestPki({ keyType, ...(name !== undefined ? { name } : {}), ...(leafValidity ? { leafValidity } : {}) })
    let written: string[]
    try {
      written = await writeTestPki(pki, out)
    } catch (e) {
      throw new ArgumentError(`--out ${out}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
    const files = written.map((p) => basename(p)).join(', ')
    process.stdout.write(`wrote ${written.length} files to ${out}: ${files}\n`)
    process.stdout.write(`  ${keyType} keys, CA ${pki.root.subject.replace(/\n/g, ', ')}\n`)
    if (leafValidity) {
      const c = new X509Certificate(pki.user.certDer)
      process.stdout.write(`  device, user, origin2 valid ${c.validFrom} to ${c.validTo}\n`)
    }
    return 0
  },
}

/** `--key-type` of pki and demo (default p256); an unknown type is an ArgumentError (exit 2). */
function keyTypeFlag(a: ParsedArgs): PkiKeyType {
  const keyType = str(a, 'key-type') ?? 'p256'
  if (!isPkiKeyType(keyType)) throw new ArgumentError(`--key-type must be one of ${PKI_KEY_TYPES.join(', ')}, got '${keyType}'`)
  return keyType
}

/** The leaf validity the pki flags ask for, or undefined for the default. */
function pkiValidity(a: ParsedArgs): { notBefore: Date; notAfter: Date } | undefined {
  const expired = bool(a, 'expired')
  const notBefore = dateFlag(a, 'not-before')
  const notAfter = dateFlag(a, 'not-after')
  const hasDays = str(a, 'days') !== undefined
  const days = intFlag(a, 'days', 365, 1, 36500, 'a whole number of days')
  if (expired) {
    if (notBefore || notAfter || hasDays) throw new ArgumentError('--expired cannot be combined with --not-before, --not-after or --days')
    const now = Date.now()
    return { notBefore: new Date(now - 31 * DAY_MS), notAfter: new Date(now - DAY_MS) }
  }
  if (!notBefore && !notAfter && !hasDays) return undefined
  if (notAfter && hasDays) throw new ArgumentError('--days and --not-after cannot both be given')
  const from = notBefore ?? new Date(Date.now() - 3_600_000)
  const to = notAfter ?? new Date(from.getTime() + days * DAY_MS)
  if (to.getTime() <= from.getTime()) {
    throw new ArgumentError(`--not-after (${to.toISOString()}) must be later than --not-before (${from.toISOString()})`)
  }
  return { notBefore: from, notAfter: to }
}

/** --out must be a directory we may write: missing, empty, or non-empty with --force. */
function checkOutDir(out: string, force: boolean): void {
  let entries: string[]
  try {
    if (!statSync(out).isDirectory()) throw new ArgumentError(`--out ${out} exists and is not a directory`)
    entries = readdirSync(out)
  } catch (e) {
    if (e instanceof ArgumentError) throw e
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new ArgumentError(`--out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  if (entries.length > 0 && !force) {
    throw new ArgumentError(`--out ${out} is not empty (${entries.length} entries); add --force to overwrite`)
  }
}

const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'HTTPS/HTTP/2 server that asks clients for secondary certificates (/whoami, /protected)',
  flags: [
    { name: 'cert', type: 'string', value: 'FILE', required: true, help: 'TLS server certificate chain, PEM' },
    { name: 'key', type: 'string', value: 'FILE', required: true, help: 'private key of --cert, PEM' },
    { name: 'ca', type: 'string', value: 'FILE', required: true, help: 'CA certificates identities must chain to, PEM (also sent as certificate_authorities)' },
    { name: 'port', type: 'string', value: 'N', help: 'TCP port, 0 for any (default 8443)' },
    { name: 'host', type: 'string', value: 'ADDR', help: 'address to bind (default 127.0.0.1)' },
    { name: 'request', type: 'string', value: 'LABELS', help: 'labels /whoami asks for, comma-separated (default device,user)' },
    { name: 'policy', type: 'string', value: 'rfc5280|frank', help: 'EKU preset of the certificate policy (default frank)' },
    { name: 'require', type: 'string', value: 'device,user', help: 'identities /whoami and /protected require (403 problem+json otherwise)' },
    { name: 'server-cert', type: 'string', value: 'FILE', help: 'secondary server certificate chain to send (SERVER_CERTIFICATE), PEM' },
    { name: 'server-key', type: 'string', value: 'FILE', help: 'private key of --server-cert, PEM' },
    { name: 'timeout-ms', type: 'string', value: 'N', help: 'how long to wait for a client answer (default 10000)' },
  ],
  notes: ['Every file is read and checked (key matches certificate, CA file holds certificates) before the server listens.'],
  async run(a) {
    const certPath = str(a, 'cert')!
    const keyPath = str(a, 'key')!
    const caPath = str(a, 'ca')!
    const serverCert = str(a, 'server-cert')
    const serverKey = str(a, 'server-key')
    if (serverCert && !serverKey) throw new ArgumentError('--server-cert needs --server-key')
    if (serverKey && !serverCert) throw new ArgumentError('--server-key needs --server-cert')
    const policy = str(a, 'policy') ?? 'frank'
    if (policy !== 'rfc5280' && policy !== 'frank') throw new ArgumentError(`--policy must be rfc5280 or frank, got '${policy}'`)
    const required = labelList(str(a, 'require'), 'require')
    const requested = (str(a, 'request') ?? 'device,user').split(',').map((s) => s.trim()).filter(Boolean)
    const badLabel = requested.find((l) => !LABEL.test(l))
    if (requested.length === 0 || badLabel !== undefined) {
      throw new ArgumentError(`--request takes comma-separated labels (letters, digits, . _ -), got '${str(a, 'request')}'`)
    }
    const timeoutMs = intFlag(a, 'timeout-ms', 10000, 1, TIMEOUT_MAX_MS, 'a number of milliseconds')
    const port = intArg(str(a, 'port'), 'port', 8443)
    // Everything the server will load, checked before it listens.
    readCredentialFiles({ certFlag: '--cert', certPath, keyFlag: '--key', keyPath })
    readCaFile('--ca', caPath)
    if (serverCert && serverKey) {
      readCredentialFiles({ certFlag: '--server-cert', certPath: serverCert, keyFlag: '--server-key', keyPath: serverKey })
    }
    const host = str(a, 'host') ?? '127.0.0.1'
    try {
      await serve({
        port,
        host,
        cert: certPath,
        key: keyPath,
        ca: caPath,
        request: [...new Set(requested)],
        policy,
        require: required,
        ...(serverCert && serverKey ? { serverCert, serverKey } : {}),
        timeoutMs,
      })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new ArgumentError(`--host ${host} --port ${port}: cannot listen: ${code}`)
      }
      throw e
    }
    return await new Promise<number>(() => {})
  },
}

const requestCommand: CommandSpec = {
  name: 'request',
  summary: 'one HTTP/2 request that answers the server\'s certificate requests with --cred credentials',
  positionals: [{ name: 'URL', required: true, help: 'https:// URL to GET' }],
  flags: [
    { name: 'ca', type: 'string', value: 'FILE', required: true, help: 'CA certificates the server (and secondary server certificates) must chain to, PEM' },
    { name: 'cred', type: 'string', value: 'LABEL:CERT:KEY', multiple: true, help: 'a credential to offer: label, certificate chain file, key file' },
    { name: 'decline', type: 'boolean', help: 'answer every certificate request with an empty authenticator' },
    { name: 'ignore-filters', type: 'boolean', help: 'answer with the next credential, ignoring CA names and oid_filters' },
    { name: 'json', type: 'boolean', help: 'print the report as JSON' },
    { name: 'authority', type: 'string', value: 'HOST', help: ':authority to send (default from the URL); refused unless a certificate on the connection covers it' },
    { name: 'insecure-authority', type: 'boolean', help: 'send --authority even when no certificate on the connection covers it' },
    { name: 'timeout-ms', type: 'string', value: 'N', help: 'how long to wait for the response (default 15000)' },
  ],
  notes: ['Exit status: 0 for a 2xx/3xx response, 1 otherwise, 2 for bad arguments.'],
  async run(a) {
    const url = a.positionals[0]!
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ArgumentError(`not a URL: ${url}`)
    }
    if (parsed.protocol !== 'https:') throw new ArgumentError(`request needs an https:// URL, got '${url}'`)
    const ca = str(a, 'ca')!
    const creds = list(a, 'cred').map(parseCred)
    const dup = creds.find((c, i) => creds.findIndex((d) => d.label === c.label) !== i)
    if (dup) throw new ArgumentError(`--cred label '${dup.label}' given more than once`)
    readCaFile('--ca', ca)
    const authority = str(a, 'authority')
    const report = await request({
      url,
      ca,
      creds,
      decline: bool(a, 'decline'),
      ignoreFilters: bool(a, 'ignore-filters'),
      json: bool(a, 'json'),
      ...(authority ? { authority } : {}),
      insecureAuthority: bool(a, 'insecure-authority'),
      timeoutMs: intFlag(a, 'timeout-ms', 15000, 1, TIMEOUT_MAX_MS, 'a number of milliseconds'),
    })
    if (bool(a, 'json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    else printRequestReport(report)
    return report.ok ? 0 : 1
  },
}

const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'server and client on loopback with a fresh PKI: both identities presented and validated',
  flags: [
    { name: 'key-type', type: 'string', value: 'TYPE', help: `key type of the device, user and origin2 certificates: ${PKI_KEY_TYPES.join(', ')} (default p256)` },
    { name: 'json', type: 'boolean', help: 'print the account as JSON' },
  ],
  notes: [
    'With an ML-DSA key type the certificates in the authenticators are ML-DSA; the TLS handshake stays classical (P-256), since Node 20 cannot sign TLS with ML-DSA.',
    'Exit status: 0 when both identities were presented and validated, 1 otherwise, 2 for bad arguments.',
  ],
  async run(a) {
    const d = await demo({ keyType: keyTypeFlag(a) })
    if (bool(a, 'json')) process.stdout.write(JSON.stringify(d, null, 2) + '\n')
    else printDemo(d)
    return d['ok'] ? 0 : 1
  },
}

const inspectCommand: CommandSpec = {
  name: 'inspect',
  summary: 'decode HTTP/2 frames (SETTINGS, extension frames, ...), a request or an authenticator',
  positionals: [{ name: 'INPUT', required: true, variadic: true, help: 'hex (0x, spaces and newlines allowed; may span arguments), a file of hex text or binary, or - for stdin' }],
  flags: [],
  notes: ['Several frames in one input are decoded one by one (e.g. a decrypted TLS record holding SETTINGS, SERVER_CERTIFICATE and a SETTINGS ACK). Exit status: 0 when everything decoded, 1 when any part did not.'],
  async run(a) {
    const bytes = await inspectInput(a.positionals)
    const r = inspect(bytes)
    process.stdout.write(r.lines.join('\n') + '\n')
    return r.failed === 0 && r.decoded > 0 ? 0 : 1
  },
}

/** The bytes `h2sc inspect` was given: stdin, a file (hex text or binary), or hex arguments. */
async function inspectInput(args: readonly string[]): Promise<Uint8Array> {
  const fromContents = (bytes: Uint8Array, where: string): Uint8Array => {
    if (bytes.length === 0) throw new ArgumentError(`${where} is empty`)
    if (!looksLikeHexText(bytes)) return bytes
    const r = parseHex(Buffer.from(bytes).toString('latin1'))
    if ('error' in r) throw new ArgumentError(`${where}: not hex: ${r.error}`)
    return r.bytes
  }
  if (args.length === 1 && args[0] === '-') {
    const chunks: Buffer[] = []
    for await (const c of process.stdin) chunks.push(c as Buffer)
    return fromContents(new Uint8Array(Buffer.concat(chunks)), 'stdin')
  }
  if (args.length === 1 && existsSync(args[0]!)) {
    const path = args[0]!
    let bytes: Buffer
    try {
      if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
      bytes = readFileSync(path)
    } catch (e) {
      throw new ArgumentError(`cannot read file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
    return fromContents(new Uint8Array(bytes), `file ${path}`)
  }
  const r = parseHex(args.join(' '))
  if ('bytes' in r) return r.bytes
  const one = args.length === 1 ? args[0]! : undefined
  if (one !== undefined && /[/\\]|\.(bin|hex|txt|raw)$/i.test(one)) throw new ArgumentError(`cannot read file ${one}: ENOENT`)
  throw new ArgumentError(`inspect input is not a file and not hex: ${r.error}`)
}

/** A subcommand implemented elsewhere and loaded only when used; its help comes from there. */
function external(name: string, summary: string, synopsisLines: string[], load: () => Promise<{ run(args: string[]): Promise<number>; usage: string }>): CommandSpec {
  return {
    name,
    summary,
    synopsis: synopsisLines,
    flags: [],
    parse: 'raw',
    help: async () => (await load()).usage,
    run: async (_a, raw) => (await load()).run([...raw]),
  }
}

const gatewayCommand = external(
  'gateway',
  'reverse proxy that authenticates clients with secondary certificates and forwards identities',
  ['--port P --cert F --key F --ca F --upstream URL [--require device,user] [--config FILE] ...'],
  async () => {
    const m = await import('../gateway/cli.js')
    return { run: m.runGateway, usage: m.GATEWAY_USAGE }
  },
)

const sidecarCommand = external(
  'sidecar',
  'local HTTP/1.1 + h2c proxy that presents --cred credentials to an upstream',
  ['--port S --upstream https://HOST:PORT --ca F --cred LABEL:CERT:KEY ...'],
  async () => {
    const m = await import('../sidecar/cli.js')
    return { run: m.runSidecar, usage: m.SIDECAR_USAGE }
  },
)

// Issue 11: the conformance tester (lib/conformance, lib/cli/conformance.ts); loaded only when used.
const conformanceCommand = external(
  'conformance',
  'conformance tester: list the checks, test a server (server URL) or a client (client --port P)',
  ['list [--json]', 'server URL [--ca F] [--cred LABEL:CERT:KEY]... [--only a,b] [--skip a,b] [--json] [--junit FILE]', "client --port P --cert F --key F [--exec 'CMD {port} {url}'] [--json] [--junit FILE]"],
  async () => {
    const m = await import('./conformance.js')
    return { run: (args: string[]) => m.conformanceCommand(args), usage: m.CONFORMANCE_USAGE }
  },
)

/** Every subcommand, in the order the usage text lists them. Append new ones. */
export const COMMANDS: readonly CommandSpec[] = [
  pkiCommand,
  serveCommand,
  requestCommand,
  demoCommand,
  inspectCommand,
  conformanceCommand,
  gatewayCommand,
  sidecarCommand,
]

/** The top usage text (`h2sc --help`). */
export function usage(): string {
  return topUsage(COMMANDS, ['With SSLKEYLOGFILE set, serve, request and demo append NSS key-log lines to that file.'])
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    const topic = cmd === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined
    if (topic) {
      process.stdout.write((topic.help ? await topic.help() : commandHelp(topic)) + '\n')
      return 0
    }
    if (cmd === 'help' && rest[0] !== undefined) throw new ArgumentError(`unknown command '${rest[0]}' (run 'h2sc --help' for the list)`)
    ;(cmd === undefined ? process.stderr : process.stdout).write(usage() + '\n')
    return cmd === undefined ? 2 : 0
  }
  const c = COMMANDS.find((x) => x.name === cmd)
  if (!c) throw new ArgumentError(`unknown command '${cmd}' (run 'h2sc --help' for the list)`)
  if (wantsHelp(rest)) {
    process.stdout.write((c.help ? await c.help() : commandHelp(c)) + '\n')
    return 0
  }
  const parsed: ParsedArgs = c.parse === 'raw' ? { values: {}, positionals: [] } : parseCommandArgs(c, rest)
  return await c.run(parsed, rest)
}

/**
 * Runs h2sc with `argv` (without node and the script). Bad flags and unreadable or mismatched
 * files print one `h2sc: ...` line and give exit status 2; other failures (refusals at run time,
 * network errors, and the `ERR_SC_USAGE` of subcommands that parse their own flags) one line
 * and 1. No stack traces: set H2SC_DEBUG=1 to see them.
 * @returns the exit status
 */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv)
  } catch (e) {
    const message = String((e as Error)?.message ?? e).split('\n')[0]
    process.stderr.write(`h2sc: ${message}\n`)
    if (process.env['H2SC_DEBUG']) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`)
    return e instanceof CliError ? e.exitCode : 1
  }
}

