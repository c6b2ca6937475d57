/**
 * bin/h2sc.js, the launcher `npx h2sc` runs: the TypeScript sources through tsx in a checkout whose
 * dist/ is missing or older than lib/, the compiled dist/ otherwise (and always in the published
 * package, which has no tsconfig.json). Each case is a real `node bin/h2sc.js` in a package laid
 * out in a temporary directory, with stand-ins for dist/cli/h2sc.js and lib/cli/h2sc.ts that say
 * which one ran.
 */
import { expect } from 'chai'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, parse } from 'node:path'
import { fileURLToPath } from 'node:url'
import { H2SC_BIN } from '../support/h2sc.js'

const TSX = fileURLToPath(new URL('../../node_modules/tsx', import.meta.url))

/** The stand-ins: both print which build ran and the arguments; exit codes differ too. */
const DIST_MAIN = "export async function main(argv) { process.stdout.write(`dist ${argv.join(' ')}\\n`); return 0 }\n"
// Type annotations: this file only loads through tsx.
const SRC_MAIN = "export async function main(argv: string[]): Promise<number> {\n  const which: string = 'src'\n  process.stdout.write(`${which} ${argv.join(' ')}\\n`)\n  return 3\n}\n"

interface Layout {
  /** tsconfig.json present: a checkout rather than the published package. */
  checkout: boolean
  /** dist/cli/h2sc.js: absent, or newer / older than the newest lib/**\/*.ts. */
  dist: 'none' | 'newer' | 'older'
  /** node_modules/tsx resolvable from bin/. */
  tsx: boolean
}

/** Seconds since the epoch, as utimesSync takes them. */
const T0 = Math.floor(Date.now() / 1000) - 3600

function makePackage(base: string, name: string, l: Layout): string {
  const root = join(base, name)
  const put = (rel: string, text: string, mtime: number): void => {
    const path = join(root, rel)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
    utimesSync(path, mtime, mtime)
  }
  mkdirSync(join(root, 'bin'), { recursive: true })
  copyFileSync(H2SC_BIN, join(root, 'bin', 'h2sc.js'))
  put('package.json', JSON.stringify({ name: 'h2-secondary-certs', type: 'module' }), T0)
  if (l.checkout) put('tsconfig.json', '{}\n', T0)
  put('lib/cli/h2sc.ts', SRC_MAIN, T0)
  // The newest source is deep in lib/, not the entry point: the launcher must look at all of them.
  put('lib/wire/tls/deep.ts', 'export const x = 1\n', T0 + 60)
  if (l.dist !== 'none') put('dist/cli/h2sc.js', DIST_MAIN, l.dist === 'newer' ? T0 + 120 : T0 + 30)
  if (l.tsx) {
    mkdirSync(join(root, 'node_modules'), { recursive: true })
    symlinkSync(TSX, join(root, 'node_modules', 'tsx'), 'dir')
  }
  return root
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function launch(root: string, args: string[] = ['demo', '--key-type', 'mldsa87']): Run {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'h2sc.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 30000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** True when some directory above `dir` has node_modules/tsx (it would make tsx resolvable everywhere below). */
function tsxAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', 'tsx'))) return true
    if (d === parse(d).root) return false
  }
}

describe('bin/h2sc.js (launcher)', function () {
  this.timeout(30000)
  let base = ''

  before(() => {
    base = mkdtempSync(join(tmpdir(), 'h2sc-launcher-'))
  })

  after(() => {
    if (base) rmSync(base, { recursive: true, force: true })
  })

  it('runs dist/ in a checkout whose build is newer than every source', () => {
    const r = launch(makePackage(base, 'fresh', { checkout: true, dist: 'newer', tsx: true }))
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, 'dist demo --key-type mldsa87\n', ''])
  })

  it('runs the sources through tsx in a checkout whose dist/ is older than a file deep in lib/', () => {
    const r = launch(makePackage(base, 'stale', { checkout: true, dist: 'older', tsx: true }))
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([3, 'src demo --key-type mldsa87\n', ''])
  })

  it('runs the sources through tsx in a checkout with no build', () => {
    const r = launch(makePackage(base, 'unbuilt', { checkout: true, dist: 'none', tsx: true }), ['--help'])
    expect([r.code, r.stdout]).to.deep.equal([3, 'src --help\n'])
  })

  it('runs dist/ in the published package (no tsconfig.json) even when tsx resolves and lib/ is newer', () => {
    const r = launch(makePackage(base, 'published', { checkout: false, dist: 'older', tsx: true }))
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, 'dist demo --key-type mldsa87\n', ''])
  })

  it('runs a stale dist/ with a one-line warning when tsx is not installed', function () {
    if (tsxAbove(base)) this.skip()
    const r = launch(makePackage(base, 'stale-no-tsx', { checkout: true, dist: 'older', tsx: false }))
    expect([r.code, r.stdout]).to.deep.equal([0, 'dist demo --key-type mldsa87\n'])
    expect(r.stderr).to.equal('h2sc: warning: dist/ is older than lib/ and tsx is not installed; running the old build (npm run build)\n')
  })

  it('relies on a marker the published package does not ship: no tsconfig.json in npm pack', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path))
    expect([files.has('bin/h2sc.js'), files.has('lib/cli/h2sc.ts'), files.has('tsconfig.json')]).to.deep.equal([true, true, false])
  })

  it('stops with exit 1 and what to do when there is neither a build nor tsx', function () {
    if (tsxAbove(base)) this.skip()
    const r = launch(makePackage(base, 'nothing', { checkout: true, dist: 'none', tsx: false }))
    expect([r.code, r.stdout]).to.deep.equal([1, ''])
    expect(r.stderr).to.equal('h2sc: no build in dist/ and tsx is not installed: run npm install, or npm run build\n')
  })
})
