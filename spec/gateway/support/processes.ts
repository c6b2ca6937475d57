/** Starting `h2sc gateway` / `h2sc sidecar` as real processes and reading their first lines. */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const H2SC = fileURLToPath(new URL('../../../bin/h2sc.js', import.meta.url))

/** A running h2sc process with its stdout lines so far. */
export interface H2scProcess {
  readonly child: ChildProcess
  readonly lines: string[]
  /** Resolves with the first line matching `re` (waiting up to `ms`). */
  line(re: RegExp, ms?: number): Promise<RegExpExecArray>
  /** Resolves with the exit code. */
  exited(): Promise<number | null>
  kill(): Promise<void>
  stderr(): string
}

export function startH2sc(args: string[]): H2scProcess {
  const child = spawn(process.execPath, [H2SC, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let err = ''
  let buf = ''
  const waiters: (() => void)[] = []
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
    for (const w of waiters.splice(0)) w()
  })
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  return {
    child,
    lines,
    line(re, ms = 60000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line ${String(re)} in time; stdout: ${lines.join(' | ')}; stderr: ${err}`)), ms)
        const check = (): void => {
          for (const l of lines) {
            const m = re.exec(l)
            if (m) {
              clearTimeout(timer)
              resolve(m)
              return
            }
          }
          if (child.exitCode !== null) {
            clearTimeout(timer)
            reject(new Error(`exited ${child.exitCode}; stderr: ${err}`))
            return
          }
          waiters.push(check)
        }
        check()
        void exit.then(() => waiters.forEach((w) => w()))
      })
    },
    exited: () => exit,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exit
      }
    },
    stderr: () => err,
  }
}
