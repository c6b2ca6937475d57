#!/usr/bin/env node
// Launcher for the h2sc CLI. Which code runs:
//
//  - the TypeScript sources (lib/cli/h2sc.ts, through tsx) in a checkout — recognised by the
//    tsconfig.json beside package.json, which the published package does not ship — when dist/
//    is missing or older than the newest lib/**/*.ts. So a checkout with a stale build (dist/ from
//    an earlier `npm run build` or `npm pack`, then `git pull` or an edit) never silently runs old
//    code. The check is one stat per file of lib/ (about a hundred), a millisecond or two.
//  - the compiled dist/cli/h2sc.js otherwise: the published package (it ships dist/ and lib/ for
//    its source maps, but no tsconfig.json, and tsx is only a devDependency), or a checkout whose
//    build is at least as new as every source file.
//
// "Older" compares modification times: dist/cli/h2sc.js against the newest lib/**/*.ts. tsc
// rewrites every output on each build, so a fresh build is never older than its sources.
// A checkout with a stale or missing build and no tsx (`npm install --omit=dev`) runs the stale
// build with a warning, or stops with an error when there is no build at all.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const built = join(root, 'dist', 'cli', 'h2sc.js')
const source = join(root, 'lib', 'cli', 'h2sc.ts')

/** Newest modification time (ms) of the .ts files under dir, 0 when there are none. */
function newestTs(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestTs(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** Why the sources should run instead of dist/, or undefined when dist/ is the one to run. */
function sourcesWanted() {
  if (!existsSync(join(root, 'tsconfig.json')) || !existsSync(source)) return undefined
  if (!existsSync(built)) return 'no build in dist/'
  return statSync(built).mtimeMs < newestTs(join(root, 'lib')) ? 'dist/ is older than lib/' : undefined
}

/** tsx's loader API, or undefined when tsx cannot be resolved from here. */
async function loadTsx() {
  try {
    return await import('tsx/esm/api')
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw e
  }
}

let mod
const why = sourcesWanted()
const tsx = why ? await loadTsx() : undefined
if (tsx) {
  tsx.register()
  mod = await import(pathToFileURL(source).href)
} else if (existsSync(built)) {
  if (why) process.stderr.write(`h2sc: warning: ${why} and tsx is not installed; running the old build (npm run build)\n`)
  mod = await import(pathToFileURL(built).href)
} else {
  process.stderr.write('h2sc: no build in dist/ and tsx is not installed: run npm install, or npm run build\n')
  process.exit(1)
}
mod.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`h2sc: ${String(e?.message ?? e).split('\n')[0]}\n`)
    process.exit(1)
  },
)
