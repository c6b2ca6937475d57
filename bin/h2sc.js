#!/usr/bin/env node
// Launcher for the h2sc CLI: the compiled build when present (published package), otherwise the
// TypeScript sources through tsx (a checkout after `npm install`).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const built = new URL('../dist/cli/h2sc.js', import.meta.url)
let mod
if (existsSync(fileURLToPath(built))) {
  mod = await import(built.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  mod = await import(new URL('../lib/cli/h2sc.ts', import.meta.url).href)
}
mod.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`h2sc: ${String(e?.message ?? e).split('\n')[0]}\n`)
    process.exit(1)
  },
)
