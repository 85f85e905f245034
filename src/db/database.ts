import { PrismaPg } from '@prisma/adapter-pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js'
import { migrate } from './migrations.js'

export type Prisma = PrismaClient

export interface Database {
  prisma: PrismaClient
  /** Where the database is: the configured URL, or the embedded server's loopback URL. */
  url: string
  embedded: boolean
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATA_DIR' | 'MIGRATE_ON_START'>
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
    const adapter = new PrismaPg({
      connectionString: url,
      // PGlite is a single session, and its socket server keeps a connection's protocol messages
      // together only inside a transaction: concurrent plain queries from several connections
      // interleave their Parse/Bind/Execute and fail. One connection costs nothing there.
      max: embedded ? 1 : config.DATABASE_POOL_SIZE,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    })
    const prisma = new PrismaClient({ adapter })
    return {
      prisma,
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
