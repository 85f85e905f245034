import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The Prisma client, and pg with the hot-path statements of src/db/sql.ts: only repositories use them.
const GENERATED_CLIENT = ['**/generated/**', 'pg', '**/db/sql', '**/db/sql.js']
const REPOSITORIES = ['**/repositories/**', '**/repositories/*.js']

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/generated/', 'coverage/', 'scratch/', '.tap/', 'clients/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The architecture, held by the linter: routes and domain never reach the database directly,
  // and domain code never knows about HTTP.
  {
    files: ['src/routes/**/*.ts', 'src/domain/**/*.ts', 'src/services/**/*.ts', 'src/verifier/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: GENERATED_CLIENT, message: 'Only src/repositories may use the Prisma client or pg.' }] }],
    },
  },
  {
    files: ['src/routes/**/*.ts', 'src/domain/**/*.ts', 'src/verifier/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: GENERATED_CLIENT, message: 'Only src/repositories may use the Prisma client or pg.' },
            { group: REPOSITORIES, message: 'Routes and domain code go through services.' },
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
            { group: ['fastify', 'fastify-plugin', '@fastify/*', '**/plugins/**', '**/routes/**'], message: 'Domain code never knows about HTTP.' },
          ],
        },
      ],
    },
  },
)
