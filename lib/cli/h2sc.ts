/**
 * h2sc: command-line tool for HTTP/2 secondary certificates.
 *
 *   h2sc pki --out DIR
 *   h2sc serve --port P --cert F --key F --ca F [--request device,user] [--policy rfc5280|frank]
 *              [--require device,user] [--server-cert F --server-key F]
 *   h2sc request URL --ca F [--cred LABEL:CERT:KEY]... [--decline] [--ignore-filters] [--json]
 *   h2sc demo [--json]
 *   h2sc inspect HEX|FILE
 *
 * With SSLKEYLOGFILE set, serve/request/demo append NSS key-log lines to it.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
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
import { createTestPki, writeTestPki } from '../pki/test-pki.js'
import { DEFAULT_CODEPOINTS } from '../config.js'
import { hasCode } from '../errors.js'
import type { ProtocolError } from '../errors.js'
import { describeViolation } from '../proto/violations.js'
import { inspectBytes } from './inspect.js'
import { describeRole, purposeRequest } from './roles.js'
import { formatResults, runConformanceClient, runConformanceServer } from '../conformance/conformance.js'
import type { ConformanceResult } from '../conformance/conformance.js'

class CliError extends Error {}

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
  reason?: string
  detail?: string
}

function identityJson(i: Identity, d: Decision | undefined): IdentityReport {
  const base = { label: i.label, subject: i.subject.replace(/\n/g, ', '), eku: [...i.eku], ekuRole: describeRole(i.eku), sha256: i.sha256 }
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
  serverCertificates: { subject: string; origins: string[]; accepted: boolean; reason?: string }[]
  frames: { dir: string; type: string; bytes: number }[]
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
    out.push(`secondary server certificate ${s.accepted ? 'accepted' : 'rejected'}: ${s.subject} for ${s.origins.join(', ')}${s.reason ? ` (${s.reason})` : ''}`)
  }
  out.push('', r.body.trimEnd())
  process.stdout.write(out.join('\n') + '\n')
}

// ---------------------------------------------------------------------------------------------
// demo

/** The main job: server + client on loopback with a fresh PKI; returns the account. */
export async function demo(): Promise<Record<string, unknown>> {
  const started = performance.now()
  const tPki = performance.now()
  const pki = await createTestPki({ keyType: 'p256' })
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
      const body = JSON.parse(report.body || '{}') as { identities?: { label: string; role: string }[]; declined?: number }
      const labels = (body.identities ?? []).map((i) => i.label).sort()
      const ok = report.status === 200 && labels.join(',') === 'device,user' && (body.declined ?? 0) === 0
      return {
        ok,
        url: `https://127.0.0.1:${port}/whoami`,
        status: report.status,
        frames: report.frames,
        asked: report.asked,
        answered: report.answered,
        identities: body.identities ?? [],
        declined: body.declined ?? 0,
        serverCertificates: report.serverCertificates,
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

function round(n: number): number {
  return Math.round(n * 10) / 10
}

function printDemo(d: Record<string, unknown>): void {
  const lines: string[] = []
  const frames = d['frames'] as { dir: string; type: string; bytes: number }[]
  const ids = d['identities'] as { label: string; subject: string; role: string; eku: string[] }[]
  const sc = d['serverCertificates'] as RequestReport['serverCertificates']
  const t = d['timings'] as Record<string, number>
  lines.push('h2sc demo: HTTP/2 secondary certificates on loopback (fresh P-256 PKI)')
  lines.push(`  client connected to ${String(d['url'])} with no TLS client certificate`)
  lines.push('  frames on stream 0 (seen by the client):')
  for (const f of frames) lines.push(`    ${f.dir === 'in' ? 'server -> client' : 'client -> server'}  ${f.type.padEnd(22)} ${f.bytes} bytes`)
  for (const s of sc) lines.push(`  secondary server certificate ${s.accepted ? 'accepted' : 'rejected'} for ${s.origins.join(', ')}`)
  lines.push(`  GET /whoami -> ${String(d['status'])}`)
  for (const i of ids) lines.push(`    identity '${i.label}': ${i.subject} — role ${i.role} (EKU ${i.eku.join(', ') || 'none'})`)
  lines.push(`    declined: ${String(d['declined'])}`)
  lines.push(`  timings: PKI ${t['pkiMs']} ms, connect ${t['connectMs']} ms, ask+answer+respond ${t['authenticateAndRespondMs']} ms, total ${t['totalMs']} ms`)
  lines.push(d['ok'] ? 'ok: both identities presented and validated' : 'FAILED: the server did not see both identities')
  process.stdout.write(lines.join('\n') + '\n')
}

// ---------------------------------------------------------------------------------------------

function parseCred(spec: string): LabelledCredentialInput {
  const parts = spec.split(':')
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new CliError(`--cred wants LABEL:CERT:KEY, got '${spec}'`)
  const [label, cert, key] = parts as [string, string, string]
  return { label, cert: readText(cert, 'certificate'), key: readText(key, 'key') }
}

/** `device,user` → ['device', 'user']; only those two labels (route protection needs). */
function labelList(v: string | undefined, name: string): string[] {
  if (v === undefined) return []
  const labels = v.split(',').map((s) => s.trim()).filter(Boolean)
  const bad = labels.find((l) => l !== 'device' && l !== 'user')
  if (labels.length === 0 || bad !== undefined) throw new CliError(`--${name} takes device and/or user, got '${v}'`)
  return [...new Set(labels)]
}

function intArg(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--${name} must be a port number, got '${v}'`)
  return n
}

const USAGE = `usage:
  h2sc pki --out DIR
  h2sc serve --port P --cert F --key F --ca F [--request device,user] [--policy rfc5280|frank]
             [--require device,user] [--server-cert F --server-key F]
  h2sc request URL --ca F [--cred LABEL:CERT:KEY]... [--decline] [--ignore-filters] [--json] [--authority HOST [--insecure-authority]]
  h2sc demo [--json]
  h2sc inspect HEX|FILE
  h2sc gateway --port P --cert F --key F --ca F --upstream URL [--require device,user] [--config FILE] ...
  h2sc sidecar --port S --upstream https://HOST:PORT --ca F --cred LABEL:CERT:KEY ...`

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  switch (cmd) {
    case 'pki': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' }, 'key-type': { type: 'string' } }, strict: true })
      if (!values.out) throw new CliError('pki needs --out DIR')
      const keyType = (values['key-type'] ?? 'p256') as Parameters<typeof createTestPki>[0] extends infer O ? O extends { keyType?: infer K } ? K : never : never
      const pki = await createTestPki({ keyType })
      await writeTestPki(pki, values.out)
      process.stdout.write(`wrote ca.pem, intermediate.pem, server, device, user, origin2 (.pem, -key.pem) to ${values.out}\n`)
      return 0
    }
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          cert: { type: 'string' },
          key: { type: 'string' },
          ca: { type: 'string' },
          request: { type: 'string' },
          policy: { type: 'string' },
          require: { type: 'string' },
          'server-cert': { type: 'string' },
          'server-key': { type: 'string' },
          'timeout-ms': { type: 'string' },
        },
        strict: true,
      })
      for (const k of ['cert', 'key', 'ca'] as const) if (!values[k]) throw new CliError(`serve needs --${k} FILE`)
      if (values['server-cert'] && !values['server-key']) throw new CliError('--server-cert needs --server-key')
      const host = values.host ?? '127.0.0.1'
      const policy = values.policy ?? 'frank'
      if (policy !== 'rfc5280' && policy !== 'frank') throw new CliError(`--policy must be rfc5280 or frank, got '${policy}'`)
      const required = labelList(values.require, 'require')
      const timeoutMs = Number(values['timeout-ms'] ?? 10000)
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout-ms must be a positive integer, got '${values['timeout-ms']}'`)
      // Fail on unreadable files before listening.
      for (const k of ['cert', 'key', 'ca'] as const) readText(values[k]!, k === 'ca' ? 'CA' : k === 'cert' ? 'certificate' : 'key')
      await serve({
        port: intArg(values.port, 'port', 8443),
        host,
        cert: values.cert!,
        key: values.key!,
        ca: values.ca!,
        request: (values.request ?? 'device,user').split(',').map((s) => s.trim()).filter(Boolean),
        policy,
        require: required,
        ...(values['server-cert'] ? { serverCert: values['server-cert'], serverKey: values['server-key']! } : {}),
        timeoutMs,
      })
      return await new Promise<number>(() => {})
    }
    case 'request': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          ca: { type: 'string' },
          cred: { type: 'string', multiple: true },
          decline: { type: 'boolean' },
          'ignore-filters': { type: 'boolean' },
          json: { type: 'boolean' },
          authority: { type: 'string' },
          'insecure-authority': { type: 'boolean' },
          'timeout-ms': { type: 'string' },
        },
        strict: true,
      })
      const url = positionals[0]
      if (!url) throw new CliError('request needs a URL')
      try {
        new URL(url)
      } catch {
        throw new CliError(`not a URL: ${url}`)
      }
      if (!values.ca) throw new CliError('request needs --ca FILE')
      const report = await request({
        url,
        ca: values.ca,
        creds: (values.cred ?? []).map(parseCred),
        decline: values.decline ?? false,
        ignoreFilters: values['ignore-filters'] ?? false,
        json: values.json ?? false,
        ...(values.authority ? { authority: values.authority } : {}),
        insecureAuthority: values['insecure-authority'] ?? false,
        timeoutMs: Number(values['timeout-ms'] ?? 15000),
      })
      if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
      else printRequestReport(report)
      return report.ok ? 0 : 1
    }
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, strict: true })
      const d = await demo()
      if (values.json) process.stdout.write(JSON.stringify(d, null, 2) + '\n')
      else printDemo(d)
      return d['ok'] ? 0 : 1
    }
    case 'conformance': {
      type Result = ConformanceResult
      const mod = { runConformanceServer, runConformanceClient, formatResults }
      const [mode, ...args] = rest
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          ca: { type: 'string' }, servername: { type: 'string' }, path: { type: 'string' }, port: { type: 'string' },
          cert: { type: 'string' }, key: { type: 'string' }, 'server-cert': { type: 'string' }, 'server-key': { type: 'string' },
          'timeout-ms': { type: 'string' }, json: { type: 'boolean' },
        },
        strict: true,
      })
      const timeoutMs = Number(values['timeout-ms'] ?? 3000)
      let results: Result[]
      if (mode === 'server') {
        const url = positionals[0]
        if (!url) throw new CliError('usage: h2sc conformance server URL [--ca F] [--servername H] [--path /whoami] [--timeout-ms N] [--json]')
        results = await mod.runConformanceServer(url, {
          ...(values.ca ? { ca: readText(values.ca, 'CA') } : {}),
          ...(values.servername ? { servername: values.servername } : {}),
          ...(values.path ? { requestPath: values.path } : {}),
          timeoutMs,
        })
      } else if (mode === 'client') {
        if (!values.cert || !values.key) throw new CliError('usage: h2sc conformance client --port P --cert F --key F [--server-cert F --server-key F] [--timeout-ms N] [--json]')
        results = await mod.runConformanceClient(intArg(values.port, 'port', 8443), {
          cert: readText(values.cert, 'certificate'),
          key: readText(values.key, 'key'),
          ...(values['server-cert'] && values['server-key'] ? { serverCredential: { cert: readText(values['server-cert'], 'server certificate'), key: readText(values['server-key'], 'server key') } } : {}),
          timeoutMs,
          onListening: (p: number) => process.stderr.write(`listening on https://127.0.0.1:${p} — connect the client under test once per check\n`),
        })
      } else {
        throw new CliError('usage: h2sc conformance server URL ... | h2sc conformance client --port P ...')
      }
      process.stdout.write((values.json ? JSON.stringify(results, null, 2) : mod.formatResults(results)) + '\n')
      return results.some((r) => r.result === 'fail') ? 1 : 0
    }
    case 'gateway': {
      // Issue 13: the reverse proxy (lib/gateway/cli.ts); loaded only when asked for.
      const { runGateway } = await import('../gateway/cli.js')
      return await runGateway(rest)
    }
    case 'sidecar': {
      const { runSidecar } = await import('../sidecar/cli.js')
      return await runSidecar(rest)
    }
    case 'inspect': {
      const arg = rest[0]
      if (!arg) throw new CliError('inspect needs HEX or FILE')
      const bytes = existsSync(arg) ? new Uint8Array(readFileSync(arg)) : hexArg(arg)
      process.stdout.write(inspectBytes(bytes) + '\n')
      return 0
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n')
      return cmd === undefined ? 2 : 0
    default:
      throw new CliError(`unknown command '${cmd}'\n${USAGE}`)
  }
}

function hexArg(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '')
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new CliError(`not a file and not hex: ${s.slice(0, 40)}`)
  return new Uint8Array(Buffer.from(clean, 'hex'))
}
