/**
 * `h2sc conformance list|server|client` (issue 11): the command line of lib/conformance. Output
 * other tools script: one line per check `PASS|FAIL|SKIP  name  [section]  what was seen`, then
 * `N passed, N failed, N skipped`. Exit 0 only when nothing FAILs; 1 when something does; 2 on a
 * usage error.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_CODEPOINTS } from '../config.js'
import type { Codepoints } from '../config.js'
import { countResults, formatResult, listChecks, runConformanceClient, runConformanceServer, toJUnit } from '../conformance/index.js'
import type { ConformanceResult, PemCredential } from '../conformance/index.js'

export const CONFORMANCE_USAGE: string = `usage: h2sc conformance list [--json]
       h2sc conformance server URL [--ca F] [--cred LABEL:CERT:KEY]... [--only a,b] [--skip a,b]
                               [--servername H] [--path /whoami] [--json] [--junit FILE]
       h2sc conformance client --port P --cert F --key F [--exec 'CMD … {port} … {url}']
                               [--server-cert F --server-key F] [--only a,b] [--skip a,b]
                               [--json] [--junit FILE]
  common flags: [--mode split|shared] [--codepoint NAME=VALUE]... [--timeout-ms N]
  codepoint names: ${Object.keys(DEFAULT_CODEPOINTS).slice(0, 3).join(', ')},
                   ${Object.keys(DEFAULT_CODEPOINTS).slice(3).join(', ')}
  exit status: 0 when no check fails, 1 when one does, 2 on a usage error`

class UsageFault extends Error {}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageFault(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

const list = (v: string | undefined): string[] | undefined => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined)

function codepoints(values: readonly string[] | undefined): Partial<Codepoints> {
  const out: Record<string, number> = {}
  for (const v of values ?? []) {
    const m = /^([A-Za-z]+)=(0x[0-9a-fA-F]+|\d+)$/.exec(v)
    if (!m || !(m[1]! in DEFAULT_CODEPOINTS)) throw new UsageFault(`--codepoint takes NAME=VALUE with NAME one of ${Object.keys(DEFAULT_CODEPOINTS).join(', ')}; got '${v}'`)
    out[m[1]!] = Number(m[2])
  }
  return out as Partial<Codepoints>
}

function credential(spec: string): PemCredential {
  const [label, cert, key, ...more] = spec.split(':')
  if (!label || !cert || !key || more.length) throw new UsageFault(`--cred takes LABEL:CERT:KEY, got '${spec}'`)
  return { label, cert: read(cert, `${label} certificate`), key: read(key, `${label} key`) }
}

function finish(results: readonly ConformanceResult[], json: boolean, junit: string | undefined, out: (s: string) => void): number {
  if (junit) writeFileSync(junit, toJUnit(results))
  const c = countResults(results)
  if (json) out(JSON.stringify({ results, ...c, ok: c.failed === 0 }, null, 2) + '\n')
  else out(`${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped\n`)
  return c.failed === 0 ? 0 : 1
}

/**
 * Runs `h2sc conformance …` with the arguments after `conformance`.
 * @returns the exit code
 */
export async function conformanceCommand(
  args: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const [mode, ...rest] = args
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: mode === 'server',
      options: {
        json: { type: 'boolean' },
        junit: { type: 'string' },
        ca: { type: 'string' },
        cred: { type: 'string', multiple: true },
        only: { type: 'string' },
        skip: { type: 'string' },
        servername: { type: 'string' },
        path: { type: 'string' },
        port: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        exec: { type: 'string' },
        'server-cert': { type: 'string' },
        'server-key': { type: 'string' },
        mode: { type: 'string' },
        codepoint: { type: 'string', multiple: true },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    })
    if (values.help || mode === undefined || mode === 'help') {
      out(CONFORMANCE_USAGE + '\n')
      return values.help || mode === 'help' ? 0 : 2
    }
    const json = values.json ?? false
    // With --json, stdout carries only the JSON document; the lines go to stderr.
    const line = (r: ConformanceResult): void => (json ? err : out)(formatResult(r) + '\n')
    if (values.mode !== undefined && values.mode !== 'split' && values.mode !== 'shared') throw new UsageFault(`--mode takes split or shared, got '${values.mode}'`)
    const timeoutMs = values['timeout-ms'] === undefined ? 3000 : Number(values['timeout-ms'])
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageFault(`--timeout-ms must be a positive integer, got '${values['timeout-ms']}'`)
    const only = list(values.only)
    const skip = list(values.skip)
    const common = {
      timeoutMs,
      codepoints: codepoints(values.codepoint),
      ...(values.mode ? { mode: values.mode as 'split' | 'shared' } : {}),
      ...(only ? { only } : {}),
      ...(skip ? { skip } : {}),
      onResult: line,
    }
    switch (mode) {
      case 'list': {
        const checks = listChecks()
        if (json) out(JSON.stringify(checks, null, 2) + '\n')
        else for (const c of checks) out(`${c.side.padEnd(6)}  ${c.check}  [${c.section}]  ${c.description}\n`)
        return 0
      }
      case 'server': {
        const url = positionals[0]
        if (!url || positionals.length > 1) throw new UsageFault('conformance server needs one URL')
        const results = await runConformanceServer(url, {
          ...common,
          ...(values.ca ? { ca: read(values.ca, 'CA') } : {}),
          ...(values.cred ? { credentials: values.cred.map(credential) } : {}),
          ...(values.servername ? { servername: values.servername } : {}),
          ...(values.path ? { requestPath: values.path } : {}),
        })
        return finish(results, json, values.junit, out)
      }
      case 'client': {
        if (!values.cert || !values.key || values.port === undefined) throw new UsageFault('conformance client needs --port P --cert F --key F')
        const port = Number(values.port)
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageFault(`--port must be a port number, got '${values.port}'`)
        const exec = values.exec
        const results = await runConformanceClient(port, {
          ...common,
          cert: read(values.cert, 'certificate'),
          key: read(values.key, 'key'),
          ...(values['server-cert'] && values['server-key'] ? { serverCredential: { cert: read(values['server-cert'], 'server certificate'), key: read(values['server-key'], 'server key') } } : {}),
          ...(exec ? { exec } : {}),
          onListening: (p) => err(`listening on https://localhost:${p}/${exec ? '' : ' — connect the client under test once per check'}\n`),
          ...(exec ? {} : { onAssign: (c, n) => err(`connection ${n + 1} gets check ${c.check} [${c.section}]: ${c.description}\n`) }),
        })
        return finish(results, json, values.junit, out)
      }
      default:
        throw new UsageFault(`unknown conformance mode '${mode}'`)
    }
  } catch (e) {
    if (e instanceof UsageFault || e instanceof RangeError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`h2sc conformance: ${(e as Error).message}\n${CONFORMANCE_USAGE}\n`)
      return 2
    }
    throw e
  }
}
