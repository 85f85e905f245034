import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { testServerUrl, withDatabase } from './test-database-server.js'

export interface TestDatabase {
  url: string
  /** True on a real PostgreSQL server, false on the embedded PGlite. */
  real: boolean
  drop(): Promise<void>
}

/** A fresh, migrated database of its own: a clone of the run's template, or a new in-memory PGlite. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = testServerUrl()
  const template = inject('templateDatabase')
  if (server && template) {
    const name = `${inject('runPrefix')}_${randomBytes(6).toString('hex')}`
    await adminQuery(server, `CREATE DATABASE "${name}" TEMPLATE "${template}"`)
    return {
      url: withDatabase(server, name),
      real: true,
      drop: () => adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    }
  }
  const embedded = await startEmbeddedPostgres({})
  await migrate(embedded.url)
  return { url: embedded.url, real: false, drop: () => embedded.close() }
}

async function adminQuery(server: string, sql: string) {
  const client = new pg.Client({ connectionString: withDatabase(server, 'postgres') })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
