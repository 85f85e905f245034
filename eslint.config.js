import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The Prisma client, and pg with the hot-path statements of src/db/sql.ts: only repositories use them.
const GENERATED_CLIENT = ['**/generated/**', 'pg', '**/db/sql', '**/db/sql.js']
const REPOSITORIES = ['**/repositories/**', '**/repositories/*.js']
// HTTP lives in routes, plugins and src/http: use cases take parsed values and never see a request.
const HTTP = ['fastify', 'fastify-plugin', '@fastify/*', '**/plugins/**', '**/routes/**', '**/http/**']

export default tseslint.config(
  { ignores: ['dist/', 'packages/*/dist/', 'node_modules/', 'src/generated/', 'coverage/', 'scratch/', '.tap/', 'clients/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The architecture, held by the linter (README "Architecture"): routes → services → repositories,
  // domain pure; only repositories reach the database; only routes, plugins and src/http see HTTP.
  {
    files: ['src/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: GENERATED_CLIENT, message: 'Only src/repositories may use the Prisma client or pg.' },
            { group: HTTP.filter((group) => group !== '**/routes/**'), message: 'Services take parsed inputs and never see HTTP: parse in src/http or the route.' },
            // A use case may return what a route schema serializes, typed from that schema (import type only).
            { group: ['**/routes/**'], allowTypeImports: true, message: 'Services may import types from route schemas, nothing else from routes.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/routes/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: GENERATED_CLIENT, message: 'Only src/repositories may use the Prisma client or pg.' },
            { group: REPOSITORIES, message: 'Routes go through services.' },
            { group: ['**/plugins/**'], message: 'Routes use what plugins decorate on the app, never a plugin module: shared HTTP helpers live in src/http.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: GENERATED_CLIENT, message: 'Domain code is pure.' },
            { group: REPOSITORIES, message: 'Domain code is pure.' },
            { group: [...HTTP, '**/services/**'], message: 'Domain code is pure: no HTTP, no services.' },
          ],
        },
      ],
    },
  },
  // The verifier package is installed alone: it imports jose, node:* and (its Fastify entry) its
  // optional peers, never the server.
  {
    files: ['packages/verifier/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!(?:jose|fastify|fastify-plugin|node:.*|\\./.*)$)', message: '@tollgate/verifier depends on jose alone (fastify and fastify-plugin are optional peers).' }] },
      ],
    },
  },
)
