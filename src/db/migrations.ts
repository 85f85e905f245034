import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'

/** The advisory lock `prisma migrate` takes, so this runner and Prisma's exclude each other. */
const PRISMA_MIGRATE_LOCK = 72707369

/** Prisma's own bookkeeping table, column for column, so `prisma migrate deploy/status` agree with us. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

export interface Migration {
  name: string
  sql: string
  checksum: string
}

export class MigrationError extends Error {
  readonly code: 'modified_after_apply' | 'failed_migration' | 'apply_failed'

  constructor(code: MigrationError['code'], message: string) {
    super(message)
    this.name = 'MigrationError'
    this.code = code
  }
}

export const DEFAULT_MIGRATIONS_DIR = new URL('../../prisma/migrations/', import.meta.url)

export async function readMigrations(dir: URL | string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const path = typeof dir === 'string' ? dir : dir.pathname
  const entries = await readdir(path, { withFileTypes: true })
  const names = entries
    .filter((e) => e.isDirectory() && /^\d{14}_[\w-]+$/.test(e.name))
    .map((e) => e.name)
    .sort()
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(path, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    }),
  )
}

interface AppliedRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

export interface MigrationResult {
  applied: string[]
  alreadyApplied: string[]
}

/**
 * Applies pending migrations in order, each in its own transaction, under Prisma's advisory lock
 * so that instances starting together apply each migration once. A migration changed after it
 * was applied, or one left failed, stops everything: the schema is no longer what the files say.
 */
export async function migrate(
  connectionString: string,
  options: { dir?: URL | string; log?: (message: string) => void } = {},
): Promise<MigrationResult> {
  // The advisory lock excludes other processes. The embedded PGlite is one session shared by
  // every connection, where that lock is re-entrant, so calls in this process also queue here.
  const previous = inProcess.get(connectionString) ?? Promise.resolve()
  const current = previous.catch(() => {}).then(() => migrateLocked(connectionString, options))
  inProcess.set(connectionString, current)
  try {
    return await current
  } finally {
    if (inProcess.get(connectionString) === current) inProcess.delete(connectionString)
  }
}

const inProcess = new Map<string, Promise<MigrationResult>>()

async function migrateLocked(
  connectionString: string,
  options: { dir?: URL | string; log?: (message: string) => void },
): Promise<MigrationResult> {
  const migrations = await readMigrations(options.dir)
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK])
    try {
      return await applyPending(client, migrations, options.log ?? (() => {}))
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK])
    }
  } finally {
    await client.end()
  }
}

async function applyPending(client: pg.Client, migrations: Migration[], log: (message: string) => void) {
  await client.query(CREATE_MIGRATIONS_TABLE)
  const { rows } = await client.query<AppliedRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  )
  const live = rows.filter((row) => row.rolled_back_at === null)
  const failed = live.find((row) => row.finished_at === null)
  if (failed) {
    throw new MigrationError(
      'failed_migration',
      `Migration ${failed.migration_name} failed earlier and was not resolved; fix the database, then mark it rolled back.`,
    )
  }
  const applied = new Map(live.map((row) => [row.migration_name, row.checksum]))
  const result: MigrationResult = { applied: [], alreadyApplied: [] }

  for (const migration of migrations) {
    const checksum = applied.get(migration.name)
    if (checksum !== undefined) {
      if (checksum !== migration.checksum) {
        throw new MigrationError(
          'modified_after_apply',
          `Migration ${migration.name} was modified after it was applied (checksum ${checksum} in the database, ${migration.checksum} on disk).`,
        )
      }
      result.alreadyApplied.push(migration.name)
      continue
    }
    await applyOne(client, migration)
    log(`applied migration ${migration.name}`)
    result.applied.push(migration.name)
  }
  return result
}

async function applyOne(client: pg.Client, migration: Migration) {
  const id = randomUUID()
  try {
    await client.query('BEGIN')
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name],
    )
    await client.query(migration.sql)
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    )
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK')
    // The transaction left the schema untouched; record the attempt as rolled back, as
    // `prisma migrate resolve --rolled-back` would, so the next start retries it.
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, now(), now(), 0)`,
      [id, migration.checksum, migration.name, String((error as Error).message)],
    )
    throw new MigrationError('apply_failed', `Migration ${migration.name} failed: ${(error as Error).message}`)
  }
}
