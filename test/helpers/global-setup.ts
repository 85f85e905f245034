import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { migrate } from '../../src/db/migrations.js'
import { testServerUrl, withDatabase } from './test-database-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated template database on the real server, cloned by each test file; '' when embedded. */
    templateDatabase: string
    /** Prefix of every database this run creates, so teardown can drop leftovers. */
    runPrefix: string
  }
}

/**
 * With a real PostgreSQL server, builds one migrated template database per run; each test file
 * clones it (CREATE DATABASE ... TEMPLATE, milliseconds) and drops its clone. Teardown drops
 * whatever this run created. Without one, each test file starts its own in-memory PGlite.
 */
export default async function setup(project: TestProject) {
  const runPrefix = `tollgate_test_${randomBytes(4).toString('hex')}`
  project.provide('runPrefix', runPrefix)
  const server = testServerUrl()
  if (!server) {
    project.provide('templateDatabase', '')
    return
  }
  const template = `${runPrefix}_template`
  const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') })
  await admin.connect()
  await admin.query(`CREATE DATABASE "${template}"`)
  await migrate(withDatabase(server, template))
  project.provide('templateDatabase', template)

  return async () => {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${runPrefix}%`],
    )
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
    await admin.end()
  }
}
