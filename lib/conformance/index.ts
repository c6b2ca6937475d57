/**
 * The conformance tester for other implementations of HTTP/2 secondary certificates (an h2spec
 * for draft-ietf-httpbis-secondary-server-certs and draft-rosomakho-httpbis-secondary-client-certs,
 * following the decisions of digest http2-secondary-certs). Package subpath
 * `h2-secondary-certs/conformance`; CLI `h2sc conformance list|server|client`.
 *
 * - side `server`: our raw-frame client connects to the server under test, one fresh TLS 1.3
 *   connection per check (./server-checks.ts).
 * - side `client`: a deliberately misbehaving raw-frame server; each client connection gets the
 *   next check (./client-checks.ts). With `exec`, the client command is started once per check.
 *
 * Codepoints default to digest §5 (split frame types) and follow `codepoints` / `mode: 'shared'`.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { resolveCodepoints } from '../config.js'
import type { Codepoints } from '../config.js'
import { createTestPki } from '../pki/test-pki.js'
import type { PkiKeyType } from '../pki/test-pki.js'
import { FrameType, connectRaw, encodeResponse200, encodeSettings, listenRaw } from './raw-peer.js'
import type { RawPeer } from './raw-peer.js'
import { forgeCredential } from './forge.js'
import type { ForgeCredential } from './forge.js'
import { SERVER_CHECKS } from './server-checks.js'
import type { ServerCtx } from './server-checks.js'
import { CLIENT_CHECKS } from './client-checks.js'
import type { ClientCtx } from './client-checks.js'
import { countResults, formatResult, formatResults, toJUnit } from './report.js'
import type { CheckInfo, ConformanceCounts, ConformanceResult, Side } from './report.js'
import type { Outcome } from './common.js'

export { formatResult, formatResults, toJUnit, countResults }
export type { CheckInfo, ConformanceCounts, ConformanceResult, Side }

/** Every check, server side first: `{ side, check, section, description }`. */
export function listChecks(): CheckInfo[] {
  return [
    ...SERVER_CHECKS.map(({ check, section, description }) => ({ side: 'server' as const, check, section, description })),
    ...CLIENT_CHECKS.map(({ check, section, description }) => ({ side: 'client' as const, check, section, description })),
  ]
}

/** Names and sections of the server-side checks, in run order. */
export const SERVER_CHECK_NAMES: readonly CheckInfo[] = listChecks().filter((c) => c.side === 'server')
/** Names and sections of the client-side checks, in run order (one client connection each). */
export const CLIENT_CHECK_NAMES: readonly CheckInfo[] = listChecks().filter((c) => c.side === 'client')

/** A PEM credential (chain, leaf first, and its key). */
export interface PemCredential {
  readonly label?: string
  readonly cert: string
  readonly key: string
}

interface CommonOptions {
  /** Per-check wait for a reaction. Default 3000 ms. */
  readonly timeoutMs?: number
  readonly codepoints?: Partial<Codepoints>
  /** 'shared': the client certificate frame uses the server certificate frame type (digest §2.3). */
  readonly mode?: 'split' | 'shared'
  /** Run only these checks. */
  readonly only?: readonly string[]
  /** Leave these out (reported as SKIP). */
  readonly skip?: readonly string[]
  /** Called after each check. */
  readonly onResult?: (r: ConformanceResult) => void
}

export interface ConformanceServerOptions extends CommonOptions {
  /** Trust anchor (PEM) for the server certificate; without it the certificate is not verified. */
  readonly ca?: string
  /** SNI and :authority. Default: the URL's host name (localhost for an IP address). */
  readonly servername?: string
  /** A path that makes the server ask for client identities. Default: the URL's path, else '/whoami'. */
  readonly requestPath?: string
  /**
   * Credentials for the answers (the first answers valid requests). Default: generated P-256, RSA
   * and Ed25519 test credentials, so scheme checks have keys of several types.
   */
  readonly credentials?: readonly PemCredential[]
  /** Checks running at once (each on its own connections). Default 1. */
  readonly concurrency?: number
}

export interface ConformanceClientOptions extends CommonOptions {
  /** Certificate chain and key (PEM) of the misbehaving server's TLS handshake. */
  readonly cert: string
  readonly key: string
  /** What SERVER_CERTIFICATE checks present. Default: the TLS certificate and key. */
  readonly serverCredential?: PemCredential
  /**
   * Shell command that runs the client under test once per check; `{port}` and `{url}`
   * (https://localhost:PORT/) are substituted. Without it, clients are awaited.
   */
  readonly exec?: string
  /** Called once listening (useful with port 0). */
  readonly onListening?: (port: number) => void
  /** Called when a connection is given a check (without `exec`, to tell the user). */
  readonly onAssign?: (check: CheckInfo, connection: number) => void
  /** Without `exec`: limit for all clients to have come. Default 60 000 ms. */
  readonly totalTimeoutMs?: number
}

export type RunConformanceOptions =
  | ({ readonly side: 'server'; readonly url: string } & ConformanceServerOptions)
  | ({ readonly side: 'client'; readonly port: number } & ConformanceClientOptions)

/** The outcome of a run. */
export interface ConformanceReport extends ConformanceCounts {
  readonly side: Side
  readonly results: readonly ConformanceResult[]
  /** True when nothing failed (what `h2sc conformance` turns into exit code 0). */
  readonly ok: boolean
}

/**
 * Runs the server-side or client-side checks.
 * @returns every result, with counts; `ok` when no check failed
 */
export async function runConformance(options: RunConformanceOptions): Promise<ConformanceReport> {
  const results = options.side === 'server' ? await runConformanceServer(options.url, options) : await runConformanceClient(options.port, options)
  const c = countResults(results)
  return { side: options.side, results, ...c, ok: c.failed === 0 }
}

const selected = (name: string, o: CommonOptions): 'run' | 'skip' | 'omit' =>
  o.only && !o.only.includes(name) ? 'omit' : o.skip?.includes(name) ? 'skip' : 'run'

function unknownNames(o: CommonOptions, side: Side): void {
  const names = new Set(listChecks().filter((c) => c.side === side).map((c) => c.check))
  const bad = [...(o.only ?? []), ...(o.skip ?? [])].filter((n) => !names.has(n))
  if (bad.length) throw new RangeError(`unknown ${side}-side check(s): ${bad.join(', ')} (see h2sc conformance list)`)
}

async function generatedCredentials(): Promise<ForgeCredential[]> {
  const types: PkiKeyType[] = ['p256', 'rsa', 'ed25519']
  const pkis = await Promise.all(types.map((keyType) => createTestPki({ keyType })))
  return pkis.map((p, i) => forgeCredential(`generated-${types[i]}`, p.user.chainPem, p.user.keyPem))
}

/**
 * Runs the server-side checks against `url` (an https URL of an HTTP/2 server implementing the
 * drafts), each on fresh TLS 1.3 connections.
 */
export async function runConformanceServer(url: string, opts: ConformanceServerOptions = {}): Promise<ConformanceResult[]> {
  unknownNames(opts, 'server')
  const u = new URL(url)
  const cp = resolveCodepoints(opts.codepoints, opts.mode)
  const timeoutMs = opts.timeoutMs ?? 3000
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const port = Number(u.port || 443)
  const servername = opts.servername ?? (/^[\d.]+$/.test(host) || host.includes(':') ? 'localhost' : host)
  const path = opts.requestPath ?? (u.pathname && u.pathname !== '/' ? u.pathname : '/whoami')
  let creds: Promise<ForgeCredential[]> | undefined
  const credentials = (): Promise<ForgeCredential[]> =>
    (creds ??= opts.credentials?.length
      ? Promise.resolve(opts.credentials.map((c, i) => forgeCredential(c.label ?? `cred${i + 1}`, c.cert, c.key)))
      : generatedCredentials())
  const runOne = async (c: (typeof SERVER_CHECKS)[number]): Promise<ConformanceResult> => {
    const peers: RawPeer[] = []
    const ctx: ServerCtx = {
      cp,
      timeoutMs,
      path,
      authority: opts.servername ?? u.host,
      async open(settings) {
        const p = await connectRaw({ port, host, servername, settings, ...(opts.ca ? { ca: opts.ca } : {}) })
        peers.push(p)
        await p.waitForSettings(timeoutMs)
        return p
      },
      credentials,
    }
    const t0 = Date.now()
    let r: Outcome
    try {
      r = await c.run(ctx)
    } catch (e) {
      r = { result: 'fail', detail: `error: ${(e as Error).message}` }
    } finally {
      for (const p of peers) p.close()
    }
    const full: ConformanceResult = { side: 'server', check: c.check, section: c.section, ...r, durationMs: Date.now() - t0 }
    opts.onResult?.(full)
    return full
  }
  const todo = SERVER_CHECKS.filter((c) => selected(c.check, opts) !== 'omit')
  const results: ConformanceResult[] = new Array(todo.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = next++
      const c = todo[i]!
      if (selected(c.check, opts) === 'skip') {
        results[i] = { side: 'server', check: c.check, section: c.section, result: 'skipped', detail: 'skipped by --skip', durationMs: 0 }
        opts.onResult?.(results[i])
      } else results[i] = await runOne(c)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker))
  return results
}

/** Starts `sh -c command` in its own process group (so the whole client can be stopped). */
function startClient(command: string, port: number): ChildProcess {
  const cmd = command.replaceAll('{port}', String(port)).replaceAll('{url}', `https://localhost:${port}/`)
  const child = spawn('/bin/sh', ['-c', cmd], { stdio: 'ignore', detached: true })
  child.on('error', () => {})
  return child
}

function stopClient(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(hard)
      resolve()
    }
    child.once('exit', done)
    const kill = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig)
      } catch {
        // already gone
      }
    }
    kill('SIGTERM')
    const hard = setTimeout(() => {
      kill('SIGKILL')
      setTimeout(resolve, 200).unref()
    }, 1500)
    hard.unref()
  })
}

/**
 * Runs the misbehaving server on 127.0.0.1:`port` (0: any). With `exec`, starts the client once
 * per check and judges its first connection; otherwise each arriving connection gets the next
 * check until all are judged (or `totalTimeoutMs` passed: the rest fail with "no connection").
 */
export async function runConformanceClient(port: number, opts: ConformanceClientOptions): Promise<ConformanceResult[]> {
  unknownNames(opts, 'client')
  const cp = resolveCodepoints(opts.codepoints, opts.mode)
  const timeoutMs = opts.timeoutMs ?? 3000
  const checks = CLIENT_CHECKS.filter((c) => selected(c.check, opts) !== 'omit')
  const sc = opts.serverCredential ?? { cert: opts.cert, key: opts.key }
  const ctx: ClientCtx = { cp, timeoutMs, serverCredential: forgeCredential('server', sc.cert, sc.key) }
  const results: (ConformanceResult | undefined)[] = checks.map((c) =>
    selected(c.check, opts) === 'skip' ? { side: 'client', check: c.check, section: c.section, result: 'skipped', detail: 'skipped by --skip', durationMs: 0 } : undefined,
  )
  const waiting = new Map<number, () => void>()
  const queue: number[] = results.flatMap((r, i) => (r ? [] : [i]))
  const assigned = new Set<number>()
  let connections = 0
  /** With exec: the check the next connection gets. */
  let current: number | undefined
  const judge = async (p: RawPeer, i: number): Promise<void> => {
    const c = checks[i]!
    const t0 = Date.now()
    let r: Outcome
    try {
      p.write(encodeSettings(c.serverSettings?.(cp) ?? [[cp.settingClientCertAuth, 1], [cp.settingServerCertAuth, 1]]))
      await p.waitForSettings(timeoutMs)
      r = await c.run(p, ctx)
    } catch (e) {
      r = { result: 'fail', detail: `error: ${(e as Error).message}` }
    }
    const full: ConformanceResult = { side: 'client', check: c.check, section: c.section, ...r, durationMs: Date.now() - t0 }
    results[i] = full
    opts.onResult?.(full)
    // Requests are answered only now, so a client cannot finish (and hang up) before the check
    // ran; then give its GOAWAY time to arrive and end the connection.
    for (const f of p.frames) if (f.type === FrameType.HEADERS && f.streamId % 2 === 1) p.write(encodeResponse200(f.streamId))
    setTimeout(() => p.close(), 200).unref()
    waiting.get(i)?.()
  }
  const serve = (p: RawPeer): void => {
    // A connection with no check: a plain server (SETTINGS, then 200 to every request).
    p.write(encodeSettings([[cp.settingClientCertAuth, 1], [cp.settingServerCertAuth, 1]]))
    p.on('frame', (f: { type: number; streamId: number; flags: number }) => {
      if (f.type === FrameType.HEADERS && f.streamId % 2 === 1) p.write(encodeResponse200(f.streamId))
    })
  }
  const server = await listenRaw(
    {
      key: opts.key,
      cert: opts.cert,
      autoRespond: false,
      settings: null,
      onPeer: (p) => {
        const n = connections++
        let i: number | undefined
        if (opts.exec) {
          i = current
          current = undefined
        } else i = queue.shift()
        if (i === undefined) return serve(p)
        assigned.add(i)
        opts.onAssign?.({ side: 'client', check: checks[i]!.check, section: checks[i]!.section, description: checks[i]!.description }, n)
        void judge(p, i)
      },
    },
    port,
  )
  const actualPort = server.port
  opts.onListening?.(actualPort)
  try {
    if (opts.exec) {
      const limit = (): Promise<void> => new Promise((r) => setTimeout(r, timeoutMs * 2 + 5000).unref())
      for (const i of queue) {
        const done = new Promise<void>((r) => waiting.set(i, r))
        current = i
        const child = startClient(opts.exec, actualPort)
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        await Promise.race([done, exited.then(() => new Promise<void>((r) => setTimeout(r, 300).unref())), limit()])
        if (assigned.has(i)) await Promise.race([done, limit()])
        current = undefined
        if (!results[i]) {
          const c = checks[i]!
          results[i] = { side: 'client', check: c.check, section: c.section, result: 'fail', detail: assigned.has(i) ? 'no verdict in time' : 'the client command made no connection for this check' }
          opts.onResult?.(results[i])
        }
        await stopClient(child)
      }
    } else {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.totalTimeoutMs ?? 60000)
        timer.unref?.()
        const check = (): void => {
          if (results.every((x) => x !== undefined)) {
            clearTimeout(timer)
            resolve()
          }
        }
        for (const i of [...queue]) waiting.set(i, check)
        check()
      })
    }
  } finally {
    await server.close()
  }
  return checks.map(
    (c, i) => results[i] ?? { side: 'client', check: c.check, section: c.section, result: 'fail', detail: 'no client connection for this check' },
  )
}
