import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedPostgres {
  /** A postgres:// URL for the `pg` driver, on a loopback port chosen by the OS. */
  url: string
  /** The process whose database this is, when it was joined rather than opened (`join`). */
  joinedProcess?: number
  close(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  dataDir?: string
  maxConnections?: number
  /**
   * When another live process has the data directory open and serves it on its socket, connect
   * there instead of refusing (the CLI beside a running server). The server itself never joins:
   * two servers on one embedded database is not a deployment.
   */
  join?: boolean
}

/**
 * Real PostgreSQL compiled to WebAssembly, persisted under `dataDir` (or in memory), served over a
 * loopback socket so the application talks to it through the same `pg` driver and Prisma adapter
 * it uses for a real server: one database code path.
 *
 * PGlite is a single session: give the pool one connection (see database.ts). Its files may be
 * opened by one process at a time, so the data directory is locked while it is open, and the lock
 * names the socket it is served on: a second process may join through it (`join`, the CLI beside
 * a running server; pglite-socket multiplexes connections onto the one session), or is refused
 * instead of corrupting the files.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  let dataDir: string | undefined
  if (options.dataDir) {
    dataDir = resolve(options.dataDir, 'pglite')
    mkdirSync(dataDir, { recursive: true })
  }
  let lock: DataDirectoryLock | undefined
  if (dataDir) {
    try {
      lock = lockDataDirectory(dataDir)
    } catch (error) {
      if (options.join && error instanceof EmbeddedDatabaseInUseError && error.url) {
        return { url: error.url, joinedProcess: error.pid, close: async () => {} }
      }
      throw error
    }
  }
  const unlock = () => lock?.release()
  let db: PGlite
  try {
    db = await PGlite.create(dataDir ? { dataDir } : {})
  } catch (error) {
    unlock()
    throw error
  }
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: options.maxConnections ?? 32,
  })
  await server.start()
  const url = `postgresql://postgres:postgres@${server.getServerConn()}/postgres?sslmode=disable`
  lock?.advertise(url)
  return {
    url,
    async close() {
      await server.stop()
      await db.close()
      unlock()
    },
  }
}

export class EmbeddedDatabaseInUseError extends Error {
  readonly pid: number
  /** Where the holder serves the database, if it says. */
  readonly url: string | undefined

  constructor(dataDir: string, pid: number, url?: string) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. Stop that process first, ` +
        'or run both against a PostgreSQL server (DATABASE_URL).',
    )
    this.name = 'EmbeddedDatabaseInUseError'
    this.pid = pid
    this.url = url
  }
}

interface DataDirectoryLock {
  /** Names the socket the database is served on, for a process that joins. */
  advertise(url: string): void
  release(): void
}

/** The lock file holds the holder's pid, then `pid url` once the database is served. */
function lockDataDirectory(dataDir: string): DataDirectoryLock {
  const lockFile = join(dataDir, 'tollgate.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 })
      return {
        advertise: (url) => writeFileSync(lockFile, `${process.pid} ${url}`, { mode: 0o600 }),
        release: () => rmSync(lockFile, { force: true }),
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const [pid, url] = readFileSync(lockFile, 'utf8').trim().split(' ')
      const holder = Number(pid)
      if (holder && holder !== process.pid && isAlive(holder)) throw new EmbeddedDatabaseInUseError(dataDir, holder, url)
      rmSync(lockFile, { force: true }) // left by a process that died
    }
  }
  throw new Error(`Could not lock ${dataDir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
