/**
 * Benchmarks (not a test): refresh-token rotations per second and login latency at the configured
 * argon2 parameters, through the whole app (buildApp + inject, so HTTP parsing, validation,
 * the database transaction and JWT signing all count, the network does not).
 *
 *   npx tsx bench/auth.ts                       # embedded PGlite in a temporary directory
 *   DATABASE_URL=postgresql://... npx tsx bench/auth.ts   # a scratch database on that server, dropped after
 *
 * BENCH_SECONDS (default 5) bounds each phase; ARGON2_* and DATABASE_POOL_SIZE apply as usual.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const MAX_LOGINS = 200

async function scratchDatabase(serverUrl: string) {
  const name = `tollgate_bench_${randomBytes(4).toString('hex')}`
  const admin = new URL(serverUrl)
  admin.pathname = '/postgres'
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await run(`CREATE DATABASE "${name}"`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
  const scratch = process.env.DATABASE_URL ? await scratchDatabase(process.env.DATABASE_URL) : undefined
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: scratch?.url,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    RATE_LIMIT_ENABLED: 'false',
    MAX_SESSIONS_PER_USER: String(MAX_LOGINS + CONCURRENCY + 1),
  })
  const app = await buildApp(config, { logger: false })
  try {
    console.log(
      `tollgate auth benchmark: ${config.embeddedDatabase ? 'embedded PGlite' : 'PostgreSQL'}, ` +
        `argon2id m=${config.ARGON2_MEMORY_KIB} KiB t=${config.ARGON2_ITERATIONS} p=${config.ARGON2_PARALLELISM}, ` +
        `${SECONDS}s per phase, concurrency ${CONCURRENCY}`,
    )
    const credentials = { email: `bench-${Date.now()}@example.test`, password: 'benchmark passphrase 42' }
    const registered = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: credentials })
    if (registered.statusCode !== 201) throw new Error(`register: ${registered.statusCode} ${registered.body}`)

    // Login latency, one at a time: what one user waits for, dominated by argon2.
    const latencies: number[] = []
    const loginDeadline = performance.now() + SECONDS * 1000
    while (performance.now() < loginDeadline && latencies.length < MAX_LOGINS) {
      const started = performance.now()
      const response = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
      latencies.push(performance.now() - started)
      if (response.statusCode !== 200) throw new Error(`login: ${response.statusCode} ${response.body}`)
    }
    latencies.sort((a, b) => a - b)
    console.log(
      `login:    ${latencies.length} sequential logins, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
    )

    // Rotations: CONCURRENCY sessions, each refreshing its own chain as fast as it can.
    const chains = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const response = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
        return response.json<{ refresh_token: string }>().refresh_token
      }),
    )
    let rotations = 0
    const refreshLatencies: number[] = []
    const started = performance.now()
    const deadline = started + SECONDS * 1000
    await Promise.all(
      chains.map(async (initial) => {
        let token = initial
        while (performance.now() < deadline) {
          const t0 = performance.now()
          const response = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } })
          refreshLatencies.push(performance.now() - t0)
          if (response.statusCode !== 200) throw new Error(`refresh: ${response.statusCode} ${response.body}`)
          token = response.json<{ refresh_token: string }>().refresh_token
          rotations++
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    refreshLatencies.sort((a, b) => a - b)
    console.log(
      `refresh:  ${rotations} rotations in ${elapsed.toFixed(1)} s = ${(rotations / elapsed).toFixed(0)} rotations/s, ` +
        `p50 ${percentile(refreshLatencies, 50).toFixed(1)} ms, p99 ${percentile(refreshLatencies, 99).toFixed(1)} ms`,
    )
  } finally {
    await app.close()
    await scratch?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
