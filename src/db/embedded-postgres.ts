import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
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
 * PGlite is a single session; the socket server multiplexes connections onto it and keeps a
 * transaction's statements together, so pools must not hold a transaction open while awaiting
 * another connection.
 */
export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections?: number }): Promise<EmbeddedPostgres> {
  let dataDir: string | undefined
  if (options.dataDir) {
    dataDir = resolve(options.dataDir, 'pglite')
    mkdirSync(dataDir, { recursive: true })
  }
  const db = await PGlite.create(dataDir ? { dataDir } : {})
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
    },
  }
}
