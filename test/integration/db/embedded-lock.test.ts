import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { startEmbeddedPostgres } from '../../../src/db/embedded-postgres.js'

describe('the embedded database directory', () => {
  it('refuses a second process while one has it open, and frees it on close', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'))
    const first = await startEmbeddedPostgres({ dataDir })
    try {
      const child = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('./src/db/embedded-postgres.ts').then(m => m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} }))
             .then(() => process.exit(0), (e) => { console.error(e.name); process.exit(3) })`,
        ],
        { encoding: 'utf8' },
      )
      expect(child.status).toBe(3)
      expect(child.stderr).toContain('EmbeddedDatabaseInUseError')
    } finally {
      await first.close()
    }
    const again = await startEmbeddedPostgres({ dataDir })
    await again.close()
  })

  it('lets another process join through the socket when asked to (the CLI beside a running server)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'))
    const first = await startEmbeddedPostgres({ dataDir })
    try {
      // Asynchronously: this process serves the socket the child joins.
      const child = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('./src/db/embedded-postgres.ts').then(async (m) => {
             const joined = await m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, join: true })
             const pg = (await import('pg')).default
             const client = new pg.Client({ connectionString: joined.url })
             await client.connect()
             const { rows } = await client.query("SELECT 'same database' AS answer")
             await client.end()
             console.log(joined.joinedProcess, rows[0].answer)
             process.exit(0)
           }, (e) => { console.error(e.name); process.exit(3) })`,
        ],
        { encoding: 'utf8' },
      )
      expect(child.stdout.trim()).toBe(`${process.pid} same database`)
    } finally {
      await first.close()
    }
  })

  it('takes over a lock left by a process that died', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'))
    const lockFile = join(dataDir, 'pglite', 'tollgate.lock')
    mkdirSync(join(dataDir, 'pglite'), { recursive: true })
    writeFileSync(lockFile, '999999999')
    const db = await startEmbeddedPostgres({ dataDir })
    expect(readFileSync(lockFile, 'utf8')).toMatch(new RegExp(`^${process.pid} postgresql://postgres:postgres@127\\.0\\.0\\.1:\\d+/`))
    await db.close()
    expect(existsSync(lockFile)).toBe(false)
  })
})
