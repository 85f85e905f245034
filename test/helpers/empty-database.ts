import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import type { TestDatabase } from './database.js'
import { testServerUrl, withDatabase } from './test-database-server.js'

/** A database with nothing in it, not even migrations. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const server = testServerUrl()
  if (server) {
    const name = `${inject('runPrefix')}_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') })
    await admin.connect()
    await admin.query(`CREATE DATABASE "${name}"`)
    await admin.end()
    return {
      url: withDatabase(server, name),
      real: true,
      async drop() {
        const client = new pg.Client({ connectionString: withDatabase(server, 'postgres') })
        await client.connect()
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
        await client.end()
      },
    }
  }
  const embedded = await startEmbeddedPostgres({})
  return { url: embedded.url, real: false, drop: () => embedded.close() }
}
