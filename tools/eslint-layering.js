/**
 * ESLint rule `layering/import-direction`: the import directions of STYLE §2, checked on resolved
 * paths (a relative specifier is resolved against the importing file, `.js` read as the `.ts`
 * source), so one table holds for every folder depth. Static imports, `import type`, re-exports
 * (`export … from`) and `import('literal')` are all checked; a computed `import(expr)` in lib/ is
 * refused outright, since no rule can follow it.
 *
 * The table (repository-relative paths; a folder entry covers everything below it):
 *
 *   lib/wire/     only lib/wire/, lib/errors.ts, lib/config.ts; no node:*, no packages
 *   lib/crypto/   lib/crypto/, lib/wire/, leaves; packages and node:crypto
 *   lib/ea/       lib/ea/, lib/wire/, lib/crypto/, leaves (no proto/, binding/ or above)
 *   lib/proto/    lib/proto/, lib/ea/, lib/wire/, leaves; no node:* (I/O-free, STYLE §6)
 *   lib/policy/   lib/policy/, lib/wire/, leaves (it sees wire values only)
 *   socket modules node:http2, node:tls, node:net: only in the Node-facing parts lib/binding/,
 *                 lib/cli/, lib/conformance/, lib/gateway/, lib/sidecar/, lib/fetch/ and the
 *                 facades lib/server.ts, lib/client.ts, lib/fastify.ts; elsewhere in lib/ only
 *                 `import type`, and node:net's pure string helpers isIP/isIPv4/isIPv6
 *   lib/          never interop/, bench/, spec/, examples/ (harness flows into tests, not the product)
 *   bench/        never spec/ nor lib/cli/ (it measures the library, through its own modules)
 *   interop/      never spec/ (shared harness lives in interop/support/ or lib/conformance/)
 */
import { dirname, relative, resolve } from 'node:path'

const ROOT = dirname(dirname(new URL(import.meta.url).pathname))
const LEAVES = ['lib/errors.ts', 'lib/config.ts']
const SOCKET_MODULES = new Set(['node:http2', 'node:tls', 'node:net', 'http2', 'tls', 'net'])
const PURE_NET = new Set(['isIP', 'isIPv4', 'isIPv6'])
const NODE_FACING = [
  'lib/binding/',
  'lib/cli/',
  'lib/conformance/',
  'lib/gateway/',
  'lib/sidecar/',
  'lib/fetch/',
  'lib/server.ts',
  'lib/client.ts',
  'lib/fastify.ts',
]

/** Folders with an allow-list of files they may import, and what they may import outside it. */
const CORE = [
  { from: 'lib/wire/', allow: ['lib/wire/', ...LEAVES], node: false, packages: false },
  { from: 'lib/crypto/', allow: ['lib/crypto/', 'lib/wire/', ...LEAVES], node: ['node:crypto', 'node:buffer'], packages: true },
  { from: 'lib/ea/', allow: ['lib/ea/', 'lib/wire/', 'lib/crypto/', ...LEAVES], node: ['node:crypto', 'node:buffer'], packages: true },
  { from: 'lib/proto/', allow: ['lib/proto/', 'lib/ea/', 'lib/wire/', ...LEAVES], node: false, packages: false },
  { from: 'lib/policy/', allow: ['lib/policy/', 'lib/wire/', ...LEAVES], node: ['node:crypto', 'node:buffer'], packages: true },
]

const under = (path, entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry)
const underAny = (path, entries) => entries.some((e) => under(path, e))

/** What a specifier names, seen from `file` (repository-relative). */
function target(file, spec) {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const abs = resolve(ROOT, dirname(file), spec)
    return { kind: 'file', path: relative(ROOT, abs).replace(/\.js$/, '.ts') }
  }
  if (spec.startsWith('node:') || SOCKET_MODULES.has(spec)) return { kind: 'node', name: spec.startsWith('node:') ? spec : `node:${spec}` }
  return { kind: 'package', name: spec }
}

/**
 * The reason `file` may not import `spec`, or undefined. `typeOnly`: the import brings in types
 * only; `names`: the imported binding names (undefined for default/namespace/side-effect).
 */
export function violation(file, spec, typeOnly, names) {
  const t = target(file, spec)
  const fromLib = file.startsWith('lib/')
  if (t.kind === 'file') {
    if (fromLib && /^(interop|bench|spec|examples)\//.test(t.path)) return `lib/ never imports ${t.path.split('/')[0]}/ (STYLE §2: harness stays out of the product)`
    if (file.startsWith('bench/') && t.path.startsWith('spec/')) return 'bench/ does not import spec/ (shared harness lives in interop/support/)'
    if (file.startsWith('bench/') && t.path.startsWith('lib/cli/')) return 'bench/ does not import lib/cli/ internals'
    if (file.startsWith('interop/') && t.path.startsWith('spec/')) return 'interop/ does not import spec/ (shared harness lives in interop/support/ or lib/conformance/)'
  }
  const core = CORE.find((c) => file.startsWith(c.from))
  if (core) {
    const layer = core.from.slice(4, -1)
    if (t.kind === 'file' && !underAny(t.path, core.allow)) return `${layer}/ may import only ${core.allow.join(', ')} (STYLE §2), not ${t.path}`
    if (t.kind === 'node' && (core.node === false || !core.node.includes(t.name))) return `${layer}/ may not import ${t.name} (STYLE §2${core.node === false ? ': no node:* here' : ''})`
    if (t.kind === 'package' && !core.packages) return `${layer}/ may not import packages (${t.name}) (STYLE §2)`
  }
  if (fromLib && t.kind === 'node' && SOCKET_MODULES.has(t.name) && !underAny(file, NODE_FACING)) {
    const pure = t.name === 'node:net' && names !== undefined && names.length > 0 && names.every((n) => PURE_NET.has(n))
    if (!(typeOnly && !core) && !pure) return `only Node-facing parts (${NODE_FACING.join(', ')}) import ${t.name} (STYLE §1-§2)`
  }
  return undefined
}

function names(node) {
  if (!node.specifiers || node.specifiers.length === 0) return undefined
  const out = []
  for (const s of node.specifiers) {
    if (s.type !== 'ImportSpecifier') return undefined
    out.push(s.imported.name ?? s.imported.value)
  }
  return out
}

const typeOnlyImport = (node) =>
  node.importKind === 'type' || (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === 'type'))

/** @type {import('eslint').Rule.RuleModule} */
const importDirection = {
  meta: { type: 'problem', docs: { description: 'import directions of STYLE §2' }, schema: [] },
  create(context) {
    const file = relative(ROOT, context.filename).split('\\').join('/')
    const check = (node, source, typeOnly, bound) => {
      if (!source || typeof source.value !== 'string') return
      const why = violation(file, source.value, typeOnly, bound)
      if (why) context.report({ node: source, message: `'${source.value}': ${why}` })
    }
    const dynamic = (node, arg) => {
      if (arg && arg.type === 'StringLiteral') return check(node, arg, false, undefined)
      if (arg && arg.type === 'Literal' && typeof arg.value === 'string') return check(node, arg, false, undefined)
      if (arg && arg.type === 'TemplateLiteral' && arg.expressions.length === 0) {
        return check(node, { ...arg, value: arg.quasis[0].value.cooked }, false, undefined)
      }
      if (file.startsWith('lib/')) context.report({ node, message: 'computed import() in lib/: use a literal specifier so the layering (and the build) can see it' })
    }
    return {
      ImportDeclaration: (node) => check(node, node.source, typeOnlyImport(node), names(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source, node.exportKind === 'type', undefined),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type', undefined),
      ImportExpression: (node) => dynamic(node, node.source),
      CallExpression: (node) => node.callee.type === 'Import' && dynamic(node, node.arguments[0]),
    }
  },
}

export default { rules: { 'import-direction': importDirection } }
