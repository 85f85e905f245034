/**
 * client_credentials tokens per second through the whole HTTP stack: a listening tollgate, one
 * client, and autocannon posting form bodies with HTTP Basic. Bounded: BENCH_SECONDS (default 5).
 *
 *   npx tsx bench/client-credentials.ts
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npx tsx bench/client-credentials.ts
 *
 * With DATABASE_URL it works in a temporary database on that server (created, migrated, dropped);
 * without one, on an in-memory embedded PGlite.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js'
import { migrate } from '../src/db/migrations.js'

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
  duration: number
}
type Autocannon = (options: {
  url: string
  method: string
  headers: Record<string, string>
  body: string
  connections: number
  pipelining: number
  duration: number
}) => Promise<AutocannonResult>

// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)

async function temporaryDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.DATABASE_URL
  if (!server) {
    const embedded = await startEmbeddedPostgres({})
    await migrate(embedded.url)
    return { url: embedded.url, drop: () => embedded.close() }
  }
  const name = `tollgate_bench_${randomBytes(6).toString('hex')}`
  const on = (database: string) => Object.assign(new URL(server), { pathname: `/${database}` }).toString()
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: on('postgres') })
    await client.connect()
    await client.query(sql).finally(() => client.end())
  }
  await admin(`CREATE DATABASE "${name}"`)
  await migrate(on(name))
  return { url: on(name), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) }
}

const database = await temporaryDatabase()
try {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    RATE_LIMIT_ENABLED: 'false',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    PORT: '0',
  })
  const app = await buildApp(config, { logger: false })
  try {
    const { client, clientSecret } = await app.oauth.clients.create({ name: 'bench', scopes: ['bench:read', 'bench:write'] })
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const request = {
      url: `${address}/oauth/token`,
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=bench%3Aread',
    }
    const check = await fetch(request.url, request)
    if (check.status !== 200) throw new Error(`warm-up request failed: ${check.status} ${await check.text()}`)

    const result = await autocannon({ ...request, connections: CONNECTIONS, pipelining: 1, duration: SECONDS })
    const issued = result.requests.total - result.non2xx
    console.log(
      [
        `client_credentials over HTTP (${config.SIGNING_ALG}, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'}, ${CONNECTIONS} connections, ${SECONDS} s, ${availableParallelism()} CPUs)`,
        `  tokens/s:   ${(issued / result.duration).toFixed(0)}`,
        `  latency:    p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
        `  non-2xx:    ${result.non2xx}, errors: ${result.errors}`,
      ].join('\n'),
    )
    if (result.non2xx > 0 || result.errors > 0) process.exitCode = 1
  } finally {
    await app.close()
  }
} finally {
  await database.drop()
}
