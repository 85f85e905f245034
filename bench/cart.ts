/**
 * Cart API throughput beside a Fastify hello-world, in one run, so the figures read as a ratio
 * rather than as absolute numbers that depend on the machine.
 *
 *   npx tsx bench/cart.ts                         # embedded PGlite
 *   DATABASE_URL=postgresql://... npx tsx bench/cart.ts   # a throwaway database on that server
 *
 * BENCH_DURATION (seconds per case, default 5), BENCH_CONNECTIONS (default 10), BENCH_USERS
 * (default 50), DATABASE_POOL_SIZE (the service's default), BENCH_LOG=1 to print the server's
 * error logs. autocannon runs in a child process (bench/lib/load-child.ts).
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/database.js'
import type { LoadResult, LoadSpec } from './lib/load-child.js'

const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const USERS = Number(process.env.BENCH_USERS ?? 50)
const WARMUP = 1
const BENCH_LOG = process.env.BENCH_LOG === '1'
const SKUS = Array.from({ length: 20 }, (_, i) => `BENCH-${String(i).padStart(3, '0')}`)

const LOAD_CHILD = new URL('./lib/load-child.ts', import.meta.url).pathname

function load(spec: Omit<LoadSpec, 'connections' | 'durationSeconds' | 'warmupSeconds'>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD_CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let result: LoadResult | undefined
    child.once('message', (message) => {
      result = message as LoadResult
    })
    child.once('error', reject)
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load generator exited with ${code}`))))
    child.send({ ...spec, connections: CONNECTIONS, durationSeconds: DURATION, warmupSeconds: WARMUP } satisfies LoadSpec)
  })
}

/** A database of its own on the given server (dropped at the end), or the embedded PGlite in a temporary directory. */
async function benchDatabase(): Promise<{ env: Record<string, string>; label: string; drop(): Promise<void> }> {
  const server = process.env.DATABASE_URL
  if (!server) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
    return { env: { DATA_DIR: dataDir }, label: 'embedded PGlite', drop: async () => rmSync(dataDir, { recursive: true, force: true }) }
  }
  const name = `tollgate_bench_${randomBytes(4).toString('hex')}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: server })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await admin(`CREATE DATABASE "${name}"`)
  const url = new URL(server)
  url.pathname = `/${name}`
  return {
    env: { DATABASE_URL: url.toString() },
    label: `PostgreSQL (${url.host})`,
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  }
}

async function main() {
  const database = await benchDatabase()
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    // Load shedding would turn the measurement into a count of 503s.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
    ...database.env,
  })
  // Opened before the app, so that a slow first start of the embedded database (migrations on a
  // busy machine) does not run into Fastify's plugin start timeout.
  const db = await openDatabase({ config })
  const app = await buildApp(config, { logger: BENCH_LOG ? { level: 'error' } : false, database: db })
  const hello = Fastify({ logger: false })
  hello.get('/', async () => ({ hello: 'world' }))

  try {
    const tollgateUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    const helloUrl = await hello.listen({ host: '127.0.0.1', port: 0 })

    // Many users, each with a few items: a realistic GET payload, and POSTs spread over many carts
    // (writes to one cart are serialized by design, so a single cart would measure lock waits).
    const authorizations: string[] = []
    for (let i = 0; i < USERS; i++) {
      const user = await app.db.prisma.user.create({ data: { email: `bench-${i}-${randomBytes(4).toString('hex')}@example.test`, passwordHash: 'not-a-real-hash' } })
      const { token } = await app.accessTokens.issue({ subject: user.id, clientId: config.FIRST_PARTY_CLIENT_ID, scopes: ['cart'] })
      authorizations.push(`Bearer ${token}`)
      for (const sku of SKUS.slice(0, 5)) await app.cart.add(user.id, { sku, quantity: 1 })
    }
    const bodies = SKUS.map((sku) => JSON.stringify({ sku, quantity: 1 }))

    console.log(`tollgate cart benchmark: ${database.label}, Node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s per case (+${WARMUP} s warm-up), ${USERS} users`)
    const cases: [string, LoadResult][] = []
    cases.push(['hello-world  GET /', await load({ url: helloUrl, method: 'GET', path: '/' })])
    cases.push(['cart         GET /v1/cart/items', await load({ url: tollgateUrl, method: 'GET', path: '/v1/cart/items', authorizations })])
    cases.push(['cart         POST /v1/cart/items', await load({ url: tollgateUrl, method: 'POST', path: '/v1/cart/items', authorizations, bodies })])

    const baseline = cases[0]![1].requestsPerSecond
    const rows = cases.map(([name, r]) => [
      name,
      r.requestsPerSecond.toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.non2xx + r.errors + r.timeouts),
      `${((r.requestsPerSecond / baseline) * 100).toFixed(1)} %`,
    ])
    const header = ['case', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'of hello-world']
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
    const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
    console.log(line(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const row of rows) console.log(line(row))

    for (const [name, r] of cases) {
      if (r.non2xx + r.errors + r.timeouts > 0) {
        console.warn(`${name.trim()}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; status codes ${JSON.stringify(r.statusCodes)}`)
      }
    }
  } finally {
    await hello.close()
    await app.close()
    await db.close()
    await database.drop()
  }
}

await main()
