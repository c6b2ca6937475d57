/**
 * Real `h2sc` processes for the CLI specs: `node bin/h2sc.js ...` run to completion, and
 * `h2sc serve` started in the background until the suite closes. Each process is a Node + tsx
 * start-up, so a suite runs only a few at a time on a machine others share.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The launcher every spec runs (the same one `npx h2sc` runs). */
export const H2SC_BIN: string = fileURLToPath(new URL('../../bin/h2sc.js', import.meta.url))

/** One finished process. */
export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** What {@link h2scProcesses} hands a suite. */
export interface H2scProcesses {
  /** Runs `h2sc ...args` to completion, with `stdin` written to its standard input. */
  run(args: readonly string[], options?: { timeoutMs?: number; stdin?: string | Uint8Array }): Promise<Run>
  /** Starts `h2sc serve --port 0 ...args`; resolves with its port once it prints the listening line. */
  serve(args: readonly string[], startTimeoutMs?: number): Promise<number>
  /** Ends every `serve` started and refuses new processes (a before() that timed out must not start more). */
  close(): void
}

/** Process helpers for one suite, at most `maxRunning` `run` processes at once. */
export function h2scProcesses(maxRunning = 4): H2scProcesses {
  let running = 0
  const waiting: (() => void)[] = []
  const children: ChildProcess[] = []
  let closed = false

  const once = (args: readonly string[], timeoutMs: number, stdin: string | Uint8Array | undefined): Promise<Run> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error('suite closed'))
      const child = spawn(process.execPath, [H2SC_BIN, ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
      if (stdin !== undefined) child.stdin!.end(stdin)
      let stdout = ''
      let stderr = ''
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`h2sc ${args.join(' ')} did not finish`))
      }, timeoutMs)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
    })

  return {
    async run(args, options = {}) {
      while (running >= maxRunning) await new Promise<void>((r) => waiting.push(r))
      running++
      try {
        return await once(args, options.timeoutMs ?? 30000, options.stdin)
      } finally {
        running--
        waiting.shift()?.()
      }
    },
    serve(args, startTimeoutMs = 60000) {
      return new Promise((resolve, reject) => {
        if (closed) return reject(new Error('suite closed'))
        const child = spawn(process.execPath, [H2SC_BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        children.push(child)
        let out = ''
        let err = ''
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), startTimeoutMs)
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)
          if (m) {
            clearTimeout(timer)
            resolve(Number(m[1]))
          }
        })
        child.stderr.on('data', (c: Buffer) => (err += c.toString()))
        child.on('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`serve exited with ${code}: ${err}`))
        })
      })
    },
    close() {
      closed = true
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    },
  }
}
