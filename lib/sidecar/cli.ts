/**
 * `h2sc sidecar`: the command-line shell over `createSidecar`. Prints
 * `listening on http://H:S` first, then one JSON access-log line per request; SIGTERM/SIGINT
 * close it (exit 0).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { LabelledCredentialInput } from '../binding/credentials.js'
import { UsageError } from '../errors.js'
import { createSidecar } from './sidecar.js'
import type { SidecarAccessEntry } from './sidecar.js'

export const SIDECAR_USAGE = `usage: h2sc sidecar --port S --upstream https://HOST:PORT --ca F --cred LABEL:CERT:KEY ...
       [--host H] [--servername NAME] [--access-log off]`

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

function parseCred(spec: string): LabelledCredentialInput {
  const parts = spec.split(':')
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new UsageError(`--cred wants LABEL:CERT:KEY, got '${spec}'`)
  const [label, cert, key] = parts as [string, string, string]
  return { label, cert: readText(cert, 'certificate'), key: readText(key, 'key') }
}

/** Runs `h2sc sidecar`; resolves with the exit code after SIGTERM/SIGINT. */
export async function runSidecar(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(SIDECAR_USAGE)
    return 0
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      upstream: { type: 'string' },
      ca: { type: 'string' },
      cred: { type: 'string', multiple: true },
      servername: { type: 'string' },
      'access-log': { type: 'string' },
    },
    strict: true,
  })
  if (!values.upstream) throw new UsageError(`sidecar needs --upstream https://HOST:PORT\n${SIDECAR_USAGE}`)
  const port = Number(values.port ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got '${values.port}'`)
  const host = values.host ?? '127.0.0.1'
  const sc = createSidecar({
    upstream: values.upstream,
    ...(values.ca ? { ca: readText(values.ca, 'CA') } : {}),
    credentials: (values.cred ?? []).map(parseCred),
    host,
    port,
    ...(values.servername ? { servername: values.servername } : {}),
  })
  if (values['access-log'] !== 'off') sc.on('access', (e: SidecarAccessEntry) => out(JSON.stringify(e)))
  const a = await sc.listen()
  out(`listening on http://${host.includes(':') ? `[${host}]` : host}:${a.port}`)
  return await new Promise<number>((resolve) => {
    const stop = (): void => {
      void sc.close().then(() => resolve(0))
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
