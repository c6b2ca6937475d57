/**
 * `npm run bench [-- --json] [-- --only ea|h2|fetch|gateway] [-- --key-types p256,rsa]`: every figure is a ratio against a baseline
 * measured in the same run. The npm script compiles lib/ and bench/ with tsc first
 * (tsconfig.bench.json) and runs the JavaScript, so the figures are those of the published
 * package, not of a development-time transform (tsx adds a helper call per function definition).
 */
import { formatEaRows, runEaBench } from './ea.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
// --key-types: only these rows of the ea bench (PKI key types, e.g. p256,ed25519).
const keyTypes = args.includes('--key-types') ? args[args.indexOf('--key-types') + 1]?.split(',') : undefined
const result: Record<string, unknown> = { node: process.version, date: new Date().toISOString() }

if (!only || only === 'ea') {
  const rows = await runEaBench(1000, keyTypes)
  result['ea'] = rows
  if (!json) {
    console.log('RFC 9261 authenticate/validate vs bare sign/verify (ratio = bare ops/s / EA ops/s; floor = the bare')
    console.log('node:crypto work RFC 9261 requires, same ratio; targets, node: P-256/Ed25519 <= 1.45 / 1.18, RSA-PSS validate <= 1.5)')
    console.log(formatEaRows(rows))
    console.log('')
  }
}
if (!only || only === 'h2') {
  try {
    const { runH2Bench, formatH2 } = await import('./h2.js')
    const h2 = await runH2Bench()
    result['h2'] = h2
    if (!json) console.log(formatH2(h2))
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e
  }
}
if (!only || only === 'fetch') {
  const { runFetchBench, formatFetch } = await import('./fetch.js')
  const rows = await runFetchBench()
  result['fetch'] = rows
  if (!json) {
    console.log('')
    console.log(formatFetch(rows))
  }
}
if (!only || only === 'gateway') {
  const { runGatewayBench, formatGateway } = await import('./gateway.js')
  const g = await runGatewayBench()
  result['gateway'] = g
  if (!json) {
    console.log('')
    console.log(formatGateway(g))
  }
}
if (json) console.log(JSON.stringify(result, null, 2))
