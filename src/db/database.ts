import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js'
import { migrate } from './migrations.js'
import { createSqlRunner, type SqlRunner } from './sql.js'

export type Prisma = PrismaClient

export interface Database {
  prisma: PrismaClient
  /** pg itself, on Prisma's pool, for the one-statement hot paths (see sql.ts). */
  sql: SqlRunner
  /** Where the database is: the configured URL, or the embedded server's loopback URL. */
  url: string
  embedded: boolean
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  close(): Promise<void>
}

// Distinct statements kept prepared on each connection; any beyond are parsed every time.
const PREPARED_STATEMENTS = 200

/**
 * Names for prepared statements, one per distinct SQL text (as Prisma's former query engine kept
 * them): PostgreSQL then parses and plans a statement once per connection instead of every time.
 * Off until enabled: PGlite is one backend behind every connection to it, where a name prepared
 * through another connection (or another client) may already exist, which pg cannot know.
 */
function preparedStatementNames(limit: number) {
  const names = new Map<string, string>()
  let enabled = false
  return {
    get enabled() {
      return enabled
    },
    enable() {
      enabled = true
    },
    name(query: { sql: string }): string {
      // An empty name is pg's unnamed statement, parsed each time.
      if (!enabled) return ''
      let name = names.get(query.sql)
      if (name === undefined) {
        if (names.size >= limit) return ''
        name = `tollgate_${names.size}`
        names.set(query.sql, name)
      }
      return name
    },
  }
}

export interface OpenDatabaseOptions {
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATA_DIR' | 'MIGRATE_ON_START'> &
    Partial<Pick<Config, 'DATABASE_PREPARED_STATEMENTS'>>
  log?: { info(message: string): void; warn(message: string): void }
}

/**
 * Connects to PostgreSQL (or starts the embedded PGlite when no DATABASE_URL is set), applies
 * pending migrations when configured to, and returns a Prisma client over @prisma/adapter-pg.
 */
export async function openDatabase({ config, log }: OpenDatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined
  let url = config.DATABASE_URL
  if (!url) {
    log?.warn(
      `No DATABASE_URL: using the embedded PostgreSQL (PGlite) under ${config.DATA_DIR}. ` +
        'Fine for development; production needs DATABASE_URL.',
    )
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR })
    url = embedded.url
  }
  try {
    if (config.MIGRATE_ON_START) {
      await migrate(url, { log: (message) => log?.info(message) })
    }
    const statements = preparedStatementNames(PREPARED_STATEMENTS)
    const pool = new pg.Pool({
      connectionString: url,
      // PGlite is a single session, and its socket server keeps a connection's protocol messages
      // together only inside a transaction: concurrent plain queries from several connections
      // interleave their Parse/Bind/Execute and fail. One connection costs nothing there.
      max: embedded ? 1 : config.DATABASE_POOL_SIZE,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    })
    // An idle connection that dies (PostgreSQL restarting) leaves the pool; the next query opens another.
    pool.on('error', (error) => log?.warn(`idle database connection lost: ${error.message}`))
    const adapter = new PrismaPg(pool, { statementNameGenerator: (query) => statements.name(query), disposeExternalPool: true })
    // 'minimal': the other formats capture a stack trace on every query, in case it fails.
    const prisma = new PrismaClient({ adapter, errorFormat: 'minimal' })
    if (!embedded && config.DATABASE_PREPARED_STATEMENTS !== false) {
      // A PGlite served on a socket (the tests') is not `embedded` here, but it says what it is.
      const version = await prisma.$queryRaw<{ version: string }[]>`SELECT version()`.catch(() => [])
      if (version[0] && !version[0].version.includes('PGlite')) statements.enable()
    }
    return {
      prisma,
      sql: createSqlRunner(pool, () => statements.enabled),
      url,
      embedded: embedded !== undefined,
      async ping() {
        await prisma.$queryRaw`SELECT 1`
      },
      async close() {
        await prisma.$disconnect()
        await embedded?.close()
      },
    }
  } catch (error) {
    await embedded?.close()
    throw error
  }
}
