/**
 * What the published package contains (issue 10 item 5): a LICENSE matching package.json, source
 * maps whose sources ship with them, and the public types and functions the docs name.
 */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as api from '../../lib/index.js'
import type {
  TestPki,
  TestCredential,
  PkiKeyType,
  TestPkiOptions,
  PolicyIdentity,
  PolicyContext,
  TrustAnchors,
  FrameLogEntry,
} from '../../lib/index.js'

const ROOT = new URL('../../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { license: string; files: string[] }

describe('package', function () {
  this.timeout(30000)

  it('has a LICENSE file with the license package.json names', () => {
    expect(pkg.license).to.equal('MIT')
    expect(readFileSync(new URL('LICENSE', ROOT), 'utf8')).to.match(/^MIT License\n/)
  })

  it('ships the sources its source maps point at', () => {
    const tsconfig = JSON.parse(readFileSync(new URL('tsconfig.json', ROOT), 'utf8')) as { compilerOptions: { sourceMap?: boolean; rootDir: string } }
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fileURLToPath(ROOT), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path))
    expect(files.has('LICENSE')).to.equal(true)
    if (tsconfig.compilerOptions.sourceMap) {
      // dist/x.js.map names ../lib/x.ts: every compiled source must be in the tarball.
      const root = tsconfig.compilerOptions.rootDir
      const sources = execFileSync('git', ['ls-files', root], { cwd: fileURLToPath(ROOT), encoding: 'utf8' })
        .split('\n')
        .filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))
      expect(sources.length).to.be.greaterThan(10)
      expect(sources.filter((p) => !files.has(p))).to.deep.equal([])
    }
  })

  it('exports the test PKI, policy and frame-log API the README documents', () => {
    expect(api.issueCertificate).to.be.a('function')
    expect(api.EKU.clientAuth).to.equal('1.3.6.1.5.5.7.3.2')
    expect(api.createTestPki).to.be.a('function')
    // Types: this file does not compile if one is missing from lib/index.ts.
    const types: [TestPki?, TestCredential?, PkiKeyType?, TestPkiOptions?, PolicyIdentity?, PolicyContext?, TrustAnchors?, FrameLogEntry?] = []
    expect(types).to.have.length(0)
  })
})
