/**
 * Shared helpers of the interop endpoints. Contract (quic-go interop style): an endpoint is a
 * process started with the scenario name as its only argument and `INTEROP_DIR` (shared work
 * directory with the PKI under `pki/`) in the environment; clients also get `INTEROP_PORT`.
 * Servers print `listening <port>` once ready and may print `result pass|fail <detail>`; clients
 * exit 0 pass, 1 fail, 127 unsupported (after printing `skip: <reason>`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const scenarioName: string = process.argv[2] ?? ''
export const workDir: string = process.env['INTEROP_DIR'] ?? ''
export const port: number = Number(process.env['INTEROP_PORT'] ?? 0)

/** PEM files of one test PKI written by the harness (writeTestPki layout). */
export interface PkiFiles {
  readonly dir: string
  readonly ca: string
  readonly server: string
  readonly serverKey: string
  readonly device: string
  readonly deviceKey: string
  readonly user: string
  readonly userKey: string
  readonly origin2: string
  readonly origin2Key: string
}

export function pki(name = 'p256'): PkiFiles {
  const dir = join(workDir, 'pki', name)
  const r = (f: string): string => readFileSync(join(dir, f), 'utf8')
  return {
    dir,
    ca: r('ca.pem'),
    server: r('server.pem'),
    serverKey: r('server-key.pem'),
    device: r('device.pem'),
    deviceKey: r('device-key.pem'),
    user: r('user.pem'),
    userKey: r('user-key.pem'),
    origin2: r('origin2.pem'),
    origin2Key: r('origin2-key.pem'),
  }
}

/** The large user credential of `oversized-authenticator`. */
export function bigUser(): { cert: string; key: string } {
  return {
    cert: readFileSync(join(workDir, 'pki', 'big-user.pem'), 'utf8'),
    key: readFileSync(join(workDir, 'pki', 'big-user-key.pem'), 'utf8'),
  }
}

export function unsupported(reason: string): never {
  process.stdout.write(`skip: ${reason}\n`)
  process.exit(127)
}

export function log(line: string): void {
  process.stdout.write(line + '\n')
}

/** Client verdict: prints and exits. */
export function finish(pass: boolean, detail: string): never {
  log(`${pass ? 'pass' : 'FAIL'}: ${detail}`)
  process.exit(pass ? 0 : 1)
}

/** Server verdict line (the server keeps running until the harness stops it). */
export function serverResult(pass: boolean, detail: string): void {
  log(`result ${pass ? 'pass' : 'fail'} ${detail}`)
}

/** Rejects after `ms` with `what`. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout: ${what} (${ms} ms)`)), ms)
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
