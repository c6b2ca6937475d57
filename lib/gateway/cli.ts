/**
 * `h2sc gateway`: the command-line shell over `createGateway`. Reads files, prints
 * `listening on https://H:P` first, writes the access log as JSON lines, serves the admin
 * listener, drains on SIGTERM (exit 0) and reloads certificates, anchors and config on SIGHUP.
 */
import cluster from 'node:cluster'
import { createWriteStream, readFileSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { AggregatorRegistry } from 'prom-client'
import { UsageError } from '../errors.js'
import { createAssertionSigner } from './assertion.js'
import { startAdmin } from './admin.js'
import type { AdminServer } from './admin.js'
import { loadConfigFile } from './config.js'
import { createGateway } from './gateway.js'
import type { AccessLogEntry, Gateway, GatewayOptions, ViolationEntry } from './gateway.js'

export const GATEWAY_USAGE = `usage: h2sc gateway --port P --cert F --key F --ca F --upstream URL [--require device,user]
       [--policy frank|rfc5280] [--host H] [--config FILE] [--admin-port A] [--access-log FILE|-|off]
       [--handshake-cert] [--drain-ms N] [--workers N] [--assertion-key F [--assertion-issuer S] [--assertion-audience S]]`

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

function port(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number, got '${v}'`)
  return n
}

/** Parsed flags, kept so SIGHUP can read the same files again. */
interface GatewayArgs {
  port: number
  host: string
  cert: string
  key: string
  ca: string | undefined
  upstream: string | undefined
  require: string[]
  policy: 'frank' | 'rfc5280'
  config: string | undefined
  adminPort: number | undefined
  accessLog: string
  handshakeCert: boolean
  drainMs: number | undefined
  assertionKey: string | undefined
  assertionIssuer: string | undefined
  assertionAudience: string | undefined
  workers: number
}

function parse(argv: string[]): GatewayArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      upstream: { type: 'string' },
      require: { type: 'string' },
      policy: { type: 'string' },
      config: { type: 'string' },
      'admin-port': { type: 'string' },
      'access-log': { type: 'string' },
      'handshake-cert': { type: 'boolean' },
      'drain-ms': { type: 'string' },
      'assertion-key': { type: 'string' },
      'assertion-issuer': { type: 'string' },
      'assertion-audience': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (!values.cert || !values.key) throw new UsageError(`gateway needs --cert FILE and --key FILE\n${GATEWAY_USAGE}`)
  if (!values.upstream && !values.config) throw new UsageError(`gateway needs --upstream URL or --config FILE\n${GATEWAY_USAGE}`)
  const policy = values.policy ?? 'frank'
  if (policy !== 'frank' && policy !== 'rfc5280') throw new UsageError(`--policy must be frank or rfc5280, got '${policy}'`)
  const require = (values.require ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const drainMs = values['drain-ms'] === undefined ? undefined : Number(values['drain-ms'])
  if (drainMs !== undefined && !(Number.isInteger(drainMs) && drainMs > 0)) throw new UsageError('--drain-ms must be a positive integer')
  const workers = Number(values.workers ?? 1)
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers must be 1..64, got '${values.workers}'`)
  return {
    workers,
    port: port(values.port, 'port', 8443),
    host: values.host ?? '127.0.0.1',
    cert: values.cert,
    key: values.key,
    ca: values.ca,
    upstream: values.upstream,
    require,
    policy,
    config: values.config,
    adminPort: values['admin-port'] === undefined ? undefined : port(values['admin-port'], 'admin-port', 0),
    accessLog: values['access-log'] ?? '-',
    handshakeCert: values['handshake-cert'] ?? false,
    drainMs,
    assertionKey: values['assertion-key'],
    assertionIssuer: values['assertion-issuer'],
    assertionAudience: values['assertion-audience'],
  }
}

/** Reads every file the flags name (again on SIGHUP). */
function options(a: GatewayArgs): GatewayOptions {
  const file = a.config ? loadConfigFile(a.config) : undefined
  const c = file?.config
  if (a.require.length > 0 && !a.ca) throw new UsageError('--require needs --ca FILE (the anchors identities must chain to)')
  return {
    cert: readText(a.cert, 'certificate'),
    key: readText(a.key, 'key'),
    ...(a.ca ? { ca: readText(a.ca, 'CA') } : {}),
    ...(c?.routes ? { routes: c.routes } : {}),
    ...(a.upstream ? { upstream: a.upstream } : {}),
    require: a.require,
    policy: c?.policy ?? a.policy,
    ...(c?.headers ? { headers: c.headers } : {}),
    limits: { ...(c?.limits ?? {}), ...(a.drainMs ? { drainTimeoutMs: a.drainMs } : {}) },
    host: a.host,
    port: a.port,
    handshakeClientCert: a.handshakeCert,
    ...(a.assertionKey
      ? {
          assertion: {
            key: readText(a.assertionKey, 'assertion key'),
            ...(a.assertionIssuer ? { issuer: a.assertionIssuer } : {}),
            ...(a.assertionAudience ? { audience: a.assertionAudience } : {}),
          },
        }
      : {}),
    ...(file ? { readFile: file.readFile } : {}),
  }
}

function accessSink(spec: string): ((e: AccessLogEntry | ViolationEntry) => void) | undefined {
  if (spec === 'off') return undefined
  const out: Writable = spec === '-' ? process.stdout : createWriteStream(spec, { flags: 'a' })
  return (e) => out.write(JSON.stringify(e) + '\n')
}

/**
 * `--workers N`: N processes of this same command under node:cluster, sharing the listening
 * socket. Identities live on a TLS connection and a connection lives in one worker, so workers
 * share nothing. The primary prints the listening line once every worker listens, serves the
 * admin listener with every worker's metrics summed (prom-client's AggregatorRegistry), and
 * forwards SIGTERM (each worker drains; exit 0 when all did) and SIGHUP.
 */
async function runPrimary(args: GatewayArgs, out: (line: string) => void): Promise<number> {
  const first = options(args) // configuration errors before any fork
  const aggregator = new AggregatorRegistry()
  let draining = false
  let listening = 0
  let announced = false
  const ready = new Promise<number>((resolve, reject) => {
    cluster.on('message', (_w, m: { type?: string; port?: number; error?: string }) => {
      if (m?.type === 'h2sc-gateway-listening' && typeof m.port === 'number' && ++listening >= args.workers) resolve(m.port)
      if (m?.type === 'h2sc-gateway-failed') reject(new UsageError(m.error ?? 'worker failed'))
    })
  })
  const fork = (): void => {
    cluster.fork({ H2SC_GATEWAY_WORKER: '1' })
  }
  cluster.on('exit', (w, code, signal) => {
    if (draining) return
    process.stderr.write(`h2sc gateway: worker ${w.process.pid} exited (${signal ?? code}); starting another\n`)
    if (announced) fork()
  })
  for (let i = 0; i < args.workers; i++) fork()
  const p = await ready
  announced = true
  out(`listening on https://${args.host.includes(':') ? `[${args.host}]` : args.host}:${p}`)
  out(`workers: ${args.workers}`)
  let admin: AdminServer | undefined
  if (args.adminPort !== undefined) {
    const signer = first.assertion ? await createAssertionSigner(first.assertion) : undefined
    admin = await startAdmin({
      registry: { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType },
      port: args.adminPort,
      healthy: () => !draining,
      jwks: () => signer?.jwks(),
    })
    out(`admin on http://127.0.0.1:${admin.port}`)
  }
  process.on('SIGHUP', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP')
  })
  return await new Promise<number>((resolve) => {
    const stop = (): void => {
      if (draining) return
      draining = true
      const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined)
      let left = all.length
      const done = (): void => {
        void (admin ? admin.close() : Promise.resolve()).then(() => resolve(0))
      }
      if (left === 0) done()
      for (const w of all) {
        w.once('exit', () => {
          if (--left === 0) done()
        })
        w.process.kill('SIGTERM')
      }
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

/** Runs `h2sc gateway`; resolves with the exit code after SIGTERM/SIGINT drained it. */
export async function runGateway(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(GATEWAY_USAGE)
    return 0
  }
  const args = parse(argv)
  if (args.workers > 1 && cluster.isPrimary) return runPrimary(args, out)
  const worker = cluster.isWorker && process.env['H2SC_GATEWAY_WORKER'] === '1'
  if (worker) {
    // Metrics of this worker, for the primary's aggregator.
    new AggregatorRegistry()
    process.once('SIGINT', () => {}) // the primary decides; SIGTERM drains
  }
  let gw: Gateway
  try {
    gw = createGateway(options(args))
    if (worker) AggregatorRegistry.setRegistries([gw.metrics.registry])
  } catch (e) {
    if (worker) process.send?.({ type: 'h2sc-gateway-failed', error: (e as Error).message })
    throw e
  }
  const sink = accessSink(args.accessLog)
  if (sink) {
    gw.on('access', sink)
    // A protocol violation gets a line of its own: it ends a connection, maybe with no request.
    gw.on('violation', sink)
  }
  const a = await gw.listen()
  if (worker) process.send?.({ type: 'h2sc-gateway-listening', port: a.port })
  else out(`listening on https://${args.host.includes(':') ? `[${args.host}]` : args.host}:${a.port}`)
  let admin: AdminServer | undefined
  let draining = false
  if (args.adminPort !== undefined && !worker) {
    admin = await startAdmin({ registry: gw.metrics.registry, port: args.adminPort, healthy: () => !draining, jwks: () => gw.jwks() })
    out(`admin on http://127.0.0.1:${admin.port}`)
  }
  process.on('SIGHUP', () => {
    try {
      const next = options(args)
      gw.reload(next)
      process.stderr.write('h2sc gateway: reloaded certificates, anchors and config\n')
    } catch (e) {
      process.stderr.write(`h2sc gateway: reload failed, keeping the old configuration: ${(e as Error).message.split('\n')[0]}\n`)
    }
  })
  return await new Promise<number>((resolve) => {
    const stop = (): void => {
      if (draining) return
      draining = true
      process.stderr.write('h2sc gateway: draining\n')
      void gw.close().then(async () => {
        await admin?.close()
        resolve(0)
      })
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
