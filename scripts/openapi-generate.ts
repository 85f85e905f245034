// Writes openapi.yaml from the routes' own schemas (npm run openapi:generate), or with --check
// fails when the committed file differs from what the code produces (npm run openapi:check).
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js'

const FILE = new URL('../openapi.yaml', import.meta.url)

const embedded = await startEmbeddedPostgres({})
const app = await buildApp(
  loadConfig({ DATABASE_URL: embedded.url, LOG_LEVEL: 'silent', KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') }),
  { logger: false },
)
const yaml = app.swagger({ yaml: true })
await app.close()
await embedded.close()

if (process.argv.includes('--check')) {
  const committed = readFileSync(FILE, 'utf8')
  if (committed !== yaml) {
    console.error('openapi.yaml is out of date: run `npm run openapi:generate` and commit the result.')
    process.exit(1)
  }
  console.log('openapi.yaml matches the routes.')
} else {
  writeFileSync(FILE, yaml)
  console.log('wrote openapi.yaml')
}
