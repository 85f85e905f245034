#!/usr/bin/env node
// Builds packages/verifier/dist and dist/ with tsc, but only when the sources changed since the
// last build: a hash of every input is kept beside the output. `npm start`, `npm test` and
// `npm install` (prepare) all come through here, so an unchanged checkout starts at once, and a
// production install (no TypeScript) starts from the dist/ it was given.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const STAMP = join(root, 'dist/.source-hash')
const INPUTS = ['src', 'packages/verifier/src', 'tsconfig.json', 'tsconfig.build.json', 'packages/verifier/tsconfig.build.json']
const OUTPUTS = ['dist/server.js', 'dist/cli.js', 'packages/verifier/dist/index.js']
const force = process.argv.includes('--force')

function files(path) {
  const full = join(root, path)
  if (!existsSync(full)) return []
  if (!statSync(full).isDirectory()) return [path]
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length))
    .sort()
}

function sourceHash() {
  const hash = createHash('sha256')
  for (const file of INPUTS.flatMap(files)) hash.update(file).update('\0').update(readFileSync(join(root, file))).update('\0')
  return hash.digest('hex')
}

// Deployed without sources (dist/ copied from a build stage): nothing to build.
if (!existsSync(join(root, 'src'))) process.exit(0)

const hash = sourceHash()
const built = OUTPUTS.every((file) => existsSync(join(root, file)))
if (!force && built && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash) process.exit(0)

let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  if (built) {
    console.warn('build: the sources changed since dist/ was built, but TypeScript is not installed (a production install); starting the dist/ that is there')
    process.exit(0)
  }
  console.error(
    'build: dist/ is missing and TypeScript is not installed (npm ci --omit=dev).\n' +
      'Build where dev dependencies are installed (npm ci && npm run build) and ship dist/ and packages/verifier/dist/ with the production install.',
  )
  process.exit(1)
}

console.error('build: compiling TypeScript (the sources changed since the last build)')
for (const project of ['packages/verifier/tsconfig.build.json', 'tsconfig.build.json']) {
  const result = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
writeFileSync(STAMP, `${hash}\n`)
