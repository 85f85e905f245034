import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { migrate } from '../../src/db/migrations.js'

export const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres'

/** Where a benchmark keeps its data: a database of its own on a PostgreSQL server, or (only when allowed) PGlite. */
export interface BenchDatabase {
  /** The migrated database's URL; undefined on PGlite, where each server process opens its own. */
  url: string | undefined
  embedded: boolean
  /** "PostgreSQL 15.4 at 127.0.0.1:5432" or "embedded PGlite". */
  label: string
  drop(): Promise<void>
}

export class BenchRefusal extends Error {
  override name = 'BenchRefusal'
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

async function adminQuery<T extends pg.QueryResultRow>(server: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

/**
 * A fresh, migrated database on DATABASE_URL's server (default: local PostgreSQL), dropped by
 * `drop()`. Numbers measured on the embedded PGlite (one session, WebAssembly) say nothing about
 * a deployment, so it is refused unless BENCH_ALLOW_EMBEDDED=1.
 */
export async function openBenchDatabase(prefix = 'tollgate_bench'): Promise<BenchDatabase> {
  // bench/embedded.ts: the embedded default's own figures, labelled as such.
  if (process.env.BENCH_DATABASE === 'embedded') return { url: undefined, embedded: true, label: 'embedded PGlite (the default without DATABASE_URL)', drop: async () => {} }
  const server = process.env.DATABASE_URL?.trim() || DEFAULT_SERVER_URL
  let version: string
  try {
    const [row] = await adminQuery<{ server_version: string }>(server, 'SHOW server_version')
    version = row!.server_version.split(' ')[0]!
  } catch (error) {
    if (process.env.BENCH_ALLOW_EMBEDDED === '1') {
      return { url: undefined, embedded: true, label: 'embedded PGlite (BENCH_ALLOW_EMBEDDED=1: not comparable)', drop: async () => {} }
    }
    throw new BenchRefusal(
      `No PostgreSQL server answers at ${redact(server)} (${(error as Error).message}).\n` +
        'The benchmarks need a real PostgreSQL server: set DATABASE_URL to one (a database of its own is created there and dropped after).\n' +
        'Numbers on the embedded PGlite are not comparable to anything; to run on it anyway, set BENCH_ALLOW_EMBEDDED=1.',
    )
  }
  const name = `${prefix}_${randomBytes(5).toString('hex')}`
  await adminQuery(server, `CREATE DATABASE "${name}"`)
  const url = withDatabase(server, name)
  let dropped = false
  const drop = async () => {
    if (dropped) return
    dropped = true
    await adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  }
  try {
    await migrate(url)
  } catch (error) {
    await drop()
    throw error
  }
  return { url, embedded: false, label: `PostgreSQL ${version} at ${new URL(server).host}`, drop }
}

/**
 * A database a previous run kept (BENCH_SCALE_DATABASE: its name on DATABASE_URL's server, or a
 * full URL), migrated to the current schema (the migrations added since it was loaded run now),
 * never dropped.
 */
export async function openKeptDatabase(nameOrUrl: string): Promise<BenchDatabase> {
  const server = process.env.DATABASE_URL?.trim() || DEFAULT_SERVER_URL
  const url = nameOrUrl.includes('://') ? nameOrUrl : withDatabase(server, nameOrUrl)
  let version: string
  try {
    const [row] = await adminQuery<{ server_version: string }>(url, 'SHOW server_version')
    version = row!.server_version.split(' ')[0]!
  } catch (error) {
    throw new BenchRefusal(`The kept database ${redact(url)} does not answer (${(error as Error).message}).`)
  }
  await migrate(url)
  return { url, embedded: false, label: `PostgreSQL ${version} at ${new URL(url).host} (kept database ${new URL(url).pathname.slice(1)})`, drop: async () => {} }
}

function redact(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}
