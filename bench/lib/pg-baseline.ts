import pg from 'pg'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { benchEnvironment } from './server.js'

/**
 * A pg pool for a baseline server: the bench database on the PostgreSQL server, sized like
 * tollgate's pool (DATABASE_POOL_SIZE, default 10); on PGlite (BENCH_ALLOW_EMBEDDED=1), an
 * embedded database of its own with one connection, as tollgate gets there.
 */
export async function baselinePool(): Promise<{ pool: pg.Pool; close(): Promise<void> }> {
  const { databaseUrl, embedded } = benchEnvironment()
  const size = Number(process.env.TOLLGATE_DATABASE_POOL_SIZE ?? 10)
  if (!embedded && databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: size })
    return { pool, close: () => pool.end() }
  }
  const database = await startEmbeddedPostgres({})
  const pool = new pg.Pool({ connectionString: database.url, max: 1 })
  return {
    pool,
    async close() {
      await pool.end()
      await database.close()
    },
  }
}
