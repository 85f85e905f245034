import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readMigrations } from '../../../src/db/migrations.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'
import { createEmptyDatabase } from '../../helpers/empty-database.js'
import { execute, schemaSnapshot } from '../../helpers/schema-snapshot.js'

const run = promisify(execFile)

/** The SQL Prisma's schema engine (WebAssembly build) writes for schema.prisma from nothing. */
async function engineDdl(connectUrl: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--experimental-wasm-modules', '--no-warnings', 'scripts/prisma-schema-engine.mjs', 'ddl'],
    { env: { ...process.env, DATABASE_URL: connectUrl }, maxBuffer: 10 * 1024 * 1024 },
  )
  return stdout
}

describe('the migrated database matches schema.prisma', () => {
  let migrated: TestDatabase
  let fromSchema: TestDatabase
  let ddl: string

  beforeAll(async () => {
    migrated = await createTestDatabase()
    fromSchema = await createEmptyDatabase()
    ddl = await engineDdl(fromSchema.url)
    await execute(fromSchema.url, ddl)
  })
  afterAll(async () => {
    await migrated?.drop()
    await fromSchema?.drop()
  })

  it('has the same tables, columns, types, nullability, defaults, indexes and constraints', async () => {
    const expected = await schemaSnapshot(fromSchema.url)
    expect(expected.columns.length).toBeGreaterThan(20)
    expect(await schemaSnapshot(migrated.url)).toEqual(expected)
  })

  it('notices a column changed in migration.sql only', async () => {
    const [first] = await readMigrations()
    const tampered = first!.sql.replace('"quantity" INTEGER NOT NULL', '"quantity" BIGINT NOT NULL')
    expect(tampered).not.toBe(first!.sql)
    const drifted = await createEmptyDatabase()
    try {
      await execute(drifted.url, tampered)
      expect(await schemaSnapshot(drifted.url)).not.toEqual(await schemaSnapshot(fromSchema.url))
    } finally {
      await drifted.drop()
    }
  })
})
