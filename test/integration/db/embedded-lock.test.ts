import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

  it('takes over a lock left by a process that died', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'))
    const lockFile = join(dataDir, 'pglite', 'tollgate.lock')
    mkdirSync(join(dataDir, 'pglite'), { recursive: true })
    writeFileSync(lockFile, '999999999')
    const db = await startEmbeddedPostgres({ dataDir })
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid))
    await db.close()
    expect(existsSync(lockFile)).toBe(false)
  })
})
