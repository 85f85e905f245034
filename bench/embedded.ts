/**
 * The embedded default (issue 18, no target): a newcomer's first impression of `npm start` with no
 * DATABASE_URL. Prints the time from starting the built server (`node dist/server.js`, what
 * `npm start` runs after its build) to `/health/ready` answering 200, on a fresh data directory and
 * again on the same one, then the refresh and cart GET throughput on PGlite (the suite's cases,
 * BENCH_DATABASE=embedded) to read beside the PostgreSQL figures of `npm run bench`.
 *
 *   npm run build && npm run bench -- --embedded
 *   BENCH_EMBEDDED_STARTS=3 npm run bench -- --embedded    # median of 3 starts each
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './lib/format.js'
import { runCases } from './lib/main.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Starts the built server on `dataDir`, returns the seconds until /health/ready is 200, and stops it. */
async function startToReady(dataDir: string): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', NODE_ENV: 'development' }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, ['dist/server.js'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it was ready`)
      if (performance.now() - started > 120_000) throw new Error('not ready after 120 s')
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`)
        if (response.status === 200) return (performance.now() - started) / 1000
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

if (!existsSync(join(ROOT, 'dist/server.js'))) throw new Error('dist/server.js is missing: npm run build first')
const starts = Math.max(1, Number(process.env.BENCH_EMBEDDED_STARTS ?? 1))
const fresh: number[] = []
const existing: number[] = []
for (let i = 0; i < starts; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-embedded-'))
  try {
    fresh.push(await startToReady(dataDir))
    existing.push(await startToReady(dataDir))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
console.log(`embedded PGlite, node dist/server.js to /health/ready 200 (median of ${starts}):`)
console.log(`  fresh data directory     ${median(fresh).toFixed(2)} s   (${fresh.map((s) => s.toFixed(2)).join(' / ')}: creates the database, migrates, makes the keys)`)
console.log(`  existing data directory  ${median(existing).toFixed(2)} s   (${existing.map((s) => s.toFixed(2)).join(' / ')})\n`)

process.env.BENCH_DATABASE = 'embedded'
await runCases(['refresh', 'cart-get'])
