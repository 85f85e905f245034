import { cp, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_MIGRATIONS_DIR, migrate, MigrationError, readMigrations } from '../../../src/db/migrations.js'
import type { TestDatabase } from '../../helpers/database.js'
import { createEmptyDatabase } from '../../helpers/empty-database.js'

async function rows(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

async function copyOfMigrations() {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-migrations-'))
  await cp(DEFAULT_MIGRATIONS_DIR.pathname, dir, { recursive: true })
  return dir
}

describe('migrations', () => {
  let database: TestDatabase | undefined
  afterEach(async () => {
    await database?.drop()
    database = undefined
  })

  it('records each migration in _prisma_migrations as Prisma does, checksum = sha256 of the file', async () => {
    database = await createEmptyDatabase()
    const result = await migrate(database.url)
    const local = await readMigrations()
    expect(result.applied).toEqual(local.map((m) => m.name))
    const recorded = await rows(
      database.url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name',
    )
    expect(recorded).toEqual(
      local.map((m) => ({
        migration_name: m.name,
        checksum: m.checksum,
        finished_at: expect.any(Date),
        rolled_back_at: null,
        applied_steps_count: 1,
        logs: null,
      })),
    )
    expect(recorded[0]!.checksum).toMatch(/^[0-9a-f]{64}$/)
  })

  it('applies nothing the second time', async () => {
    database = await createEmptyDatabase()
    await migrate(database.url)
    const again = await migrate(database.url)
    expect(again.applied).toEqual([])
    expect(again.alreadyApplied.length).toBeGreaterThan(0)
  })

  it('applies each migration once when two instances start together', async () => {
    database = await createEmptyDatabase()
    const results = await Promise.all([migrate(database.url), migrate(database.url), migrate(database.url)])
    const appliedCount = results.reduce((n, r) => n + r.applied.length, 0)
    expect(appliedCount).toBe((await readMigrations()).length)
    const [{ count }] = await rows(database.url, 'SELECT count(*)::int AS count FROM "_prisma_migrations"')
    expect(count).toBe(appliedCount)
  })

  it('refuses to run when an applied migration was changed', async () => {
    database = await createEmptyDatabase()
    const dir = await copyOfMigrations()
    await migrate(database.url, { dir })
    const [first] = (await readdir(dir)).filter((d) => /^\d{14}_/.test(d)).sort()
    await writeFile(join(dir, first!, 'migration.sql'), '-- edited after it was applied\n', { flag: 'a' })
    await expect(migrate(database.url, { dir })).rejects.toMatchObject({ code: 'modified_after_apply' })
    await expect(migrate(database.url, { dir })).rejects.toBeInstanceOf(MigrationError)
  })

  it('leaves nothing half-applied when a migration fails, and retries it next time', async () => {
    database = await createEmptyDatabase()
    const dir = await copyOfMigrations()
    await migrate(database.url, { dir })
    const broken = join(dir, '29991231000000_broken')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(broken)
    await writeFile(join(broken, 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n')
    await expect(migrate(database.url, { dir })).rejects.toMatchObject({ code: 'apply_failed' })
    expect(await rows(database.url, "SELECT to_regclass('half_done') AS t")).toEqual([{ t: null }])
    await writeFile(join(broken, 'migration.sql'), 'CREATE TABLE half_done (id int);\n')
    expect((await migrate(database.url, { dir })).applied).toEqual(['29991231000000_broken'])
  })
})
