// Runs the Postman collection's Flow folder with newman against a live tollgate (npm run postman:run):
// starts the built service (npm run build first) on a free port with a database of its own (a new
// database on DATABASE_URL's server, or the embedded PGlite), runs newman with a unique email,
// stops the service, and exits with newman's status. Extra arguments go to newman.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { startService } from '../test/e2e/service.js'

const ROOT = new URL('../', import.meta.url).pathname
const COLLECTION = `${ROOT}postman/tollgate.postman_collection.json`
const NEWMAN = `${ROOT}node_modules/.bin/newman`

if (!existsSync(`${ROOT}dist/server.js`)) {
  console.error('dist/server.js is missing: run `npm run build` first.')
  process.exit(1)
}

// Its log lines stay in the pipe startService reads: only newman's report is printed.
const service = await startService()
let status: number
try {
  const email = `newman-${Date.now()}-${randomBytes(4).toString('hex')}@example.test`
  const args = ['run', COLLECTION, '--folder', 'Flow', '--env-var', `baseUrl=${service.baseUrl}`, '--env-var', `email=${email}`, '--bail', ...process.argv.slice(2)]
  console.log(`newman ${args.join(' ')}`)
  const newman = spawn(NEWMAN, args, { stdio: 'inherit' })
  status = await new Promise<number>((resolve, reject) => {
    newman.once('error', reject)
    newman.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
} finally {
  await service.stop()
}
process.exit(status)
