// ESLint flat config: the layering of STYLE §2 (tools/eslint-layering.js) and no console.* in the
// library (STYLE §7). TypeScript is parsed by Babel's syntax plugin, not typescript-eslint: the
// project's TypeScript 7 ships no JavaScript compiler API for a parser to use, and these rules
// need syntax only, which keeps `npm run lint` to a few seconds.
import babelParser from '@babel/eslint-parser'
import layering from './tools/eslint-layering.js'

export default [
  { ignores: ['node_modules/**', 'dist/**', '.bench-build/**', 'interop/peers/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: {
      parser: babelParser,
      ecmaVersion: 'latest',
      sourceType: 'module',
      parserOptions: {
        requireConfigFile: false,
        babelOptions: { babelrc: false, configFile: false, parserOpts: { plugins: ['typescript'] } },
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { layering },
    rules: { 'layering/import-direction': 'error' },
  },
  { files: ['lib/**/*.ts'], rules: { 'no-console': 'error' } },
]
