/**
 * Interop endpoint: ordinary HTTP/2 clients we did not write (`curl --http2`, `nghttp`,
 * `h2load`) against the extension-enabled server, scenario `plain-request` only. The server
 * advertises SETTINGS_HTTP_CLIENT_CERT_AUTH / SETTINGS_HTTP_SERVER_CERT_AUTH; RFC 9113 §6.5.2
 * says unknown settings are ignored, so these peers must see a normal HTTP/2 server.
 *
 *   node --import tsx interop/endpoints/tool-client.ts <scenario> curl|nghttp|h2load
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { finish, pki, port, scenarioName, unsupported } from './common.js'

const tool = process.argv[3] ?? ''
if (scenarioName !== 'plain-request') unsupported(`${tool} only plays plain-request`)
const A = pki('p256')
const ca = join(A.dir, 'ca.pem')
const url = `https://localhost:${port}/`

interface Run {
  readonly code: number | null
  readonly out: string
}

/** Runs a tool with a time limit; a missing binary ends the endpoint as unsupported. */
function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') unsupported(`${file} not installed`)
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

async function main(): Promise<never> {
  switch (tool) {
    case 'curl': {
      // --resolve keeps the name (for SNI and certificate checks) while connecting to 127.0.0.1.
      const r = await run('curl', ['--http2', '-sS', '--cacert', ca, '--resolve', `localhost:${port}:127.0.0.1`, '-w', '\nhttp_version=%{http_version} status=%{http_code}\n', url])
      const ok = r.code === 0 && /http_version=2 status=200/.test(r.out) && /^hello localhost/m.test(r.out)
      return finish(ok, ok ? 'curl --http2: HTTP/2 200 with the expected body' : `curl exit ${String(r.code)}: ${r.out.trim().slice(-300)}`)
    }
    case 'nghttp': {
      // nghttp has no --resolve: connect to 127.0.0.1 and name the server with the host header.
      const r = await run('nghttp', ['-v', '--header', `:authority: localhost:${port}`, `https://127.0.0.1:${port}/`])
      // A GOAWAY from the server with any code but NO_ERROR would mean the extension disturbed it.
      const ok = r.code === 0 && /:status: 200/.test(r.out) && /hello localhost/.test(r.out) && !/error_code=(?!NO_ERROR)/.test(r.out)
      return finish(ok, ok ? 'nghttp: 200 and body, no error GOAWAY' : `nghttp exit ${String(r.code)}: ${r.out.trim().slice(-300)}`)
    }
    case 'h2load': {
      const r = await run('h2load', ['-n', '200', '-c', '4', '-m', '4', `https://127.0.0.1:${port}/`])
      const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(r.out)
      const ok = r.code === 0 && m !== null && m[4] === '200' && m[5] === '0' && m[6] === '0'
      return finish(ok, m ? `h2load: ${m[0]}` : `h2load exit ${String(r.code)}: ${r.out.trim().slice(-300)}`)
    }
    default:
      return unsupported(`unknown tool '${tool}'`)
  }
}

void main()
