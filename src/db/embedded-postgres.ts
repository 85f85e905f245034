import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedPostgres {
  /** A postgres:// URL for the `pg` driver, on a loopback port chosen by the OS. */
  url: string
  close(): Promise<void>
}

/**
 * Real PostgreSQL compiled to WebAssembly, persisted under `dataDir` (or in memory), served over a
 * loopback socket so the application talks to it through the same `pg` driver and Prisma adapter
 * it uses for a real server: one database code path.
 *
 * PGlite is a single session: give the pool one connection (see database.ts). Its files may be
 * opened by one process at a time, so the data directory is locked while it is open; a second
 * process (the CLI beside a running server) is refused instead of corrupting it.
 */
export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections?: number }): Promise<EmbeddedPostgres> {
  let dataDir: string | undefined
  if (options.dataDir) {
    dataDir = resolve(options.dataDir, 'pglite')
    mkdirSync(dataDir, { recursive: true })
  }
  const unlock = dataDir ? lockDataDirectory(dataDir) : () => {}
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
  const address = server.getServerConn()
  return {
    url: `postgresql://postgres:postgres@${address}/postgres?sslmode=disable`,
    async close() {
      await server.stop()
      await db.close()
      unlock()
    },
  }
}

export class EmbeddedDatabaseInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. Stop that process first, ` +
        'or run both against a PostgreSQL server (DATABASE_URL).',
    )
    this.name = 'EmbeddedDatabaseInUseError'
  }
}

function lockDataDirectory(dataDir: string): () => void {
  const lockFile = join(dataDir, 'tollgate.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      return () => rmSync(lockFile, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number(readFileSync(lockFile, 'utf8').trim())
      if (holder && holder !== process.pid && isAlive(holder)) throw new EmbeddedDatabaseInUseError(dataDir, holder)
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
