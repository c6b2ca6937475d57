/**
 * Interop endpoint: `openssl s_client -keymatexport` against our server. For each RFC 9261 §5.1
 * label, one TLS 1.3 connection; the exporter openssl prints must equal the one the server
 * computed for that connection (appended by the server to INTEROP_DIR/exporter.jsonl).
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { finish, log, pki, port, scenarioName, unsupported, workDir } from './common.js'

if (scenarioName !== 'exporter-agreement') unsupported('openssl s_client only checks exporter agreement')
const A = pki('p256')
const LABELS = [
  'EXPORTER-client authenticator handshake context',
  'EXPORTER-server authenticator handshake context',
  'EXPORTER-client authenticator finished key',
  'EXPORTER-server authenticator finished key',
]

function sClient(label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-tls1_3', '-alpn', 'h2', '-CAfile', join(A.dir, 'ca.pem'), '-verify_return_error', '-keymatexport', label, '-keymatexportlen', '32'],
      { timeout: 10000, encoding: 'utf8' },
      (err, stdout) => {
        const m = /Keying material: ([0-9A-Fa-f]+)/.exec(stdout)
        if (m) resolve(m[1]!.toLowerCase())
        else reject(new Error(`no keying material from openssl${err ? `: ${err.message}` : ''}`))
      },
    )
    child.stdin?.end()
  })
}

function lines(): Record<string, string>[] {
  const f = join(workDir, 'exporter.jsonl')
  if (!existsSync(f)) return []
  return readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>)
}

async function main(): Promise<never> {
  try {
    await new Promise<void>((resolve, reject) => execFile('openssl', ['version'], (e) => (e ? reject(e) : resolve())))
  } catch {
    unsupported('openssl not installed')
  }
  let agree = 0
  for (const label of LABELS) {
    const before = lines().length
    const ours = await sClient(label)
    let rec: Record<string, string> | undefined
    for (let i = 0; i < 50 && !rec; i++) {
      const all = lines()
      if (all.length > before) rec = all[all.length - 1]
      else await new Promise((r) => setTimeout(r, 50))
    }
    const server = rec?.[label]
    log(`${label}: openssl ${ours.slice(0, 16)}… server ${server?.slice(0, 16) ?? 'missing'}…`)
    if (server === ours) agree++
  }
  finish(agree === LABELS.length, `${agree}/${LABELS.length} labels agree`)
}

main().catch((e: unknown) => finish(false, `error: ${(e as Error).message}`))
