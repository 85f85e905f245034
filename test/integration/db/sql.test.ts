import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { statement } from '../../../src/db/sql.js'
import { createAccountStore, type AccountTransaction } from '../../../src/repositories/account-store.js'
import { isLockUnavailable } from '../../../src/repositories/database-errors.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { registerAndLogin } from '../../helpers/accounts.js'
import { testServerUrl } from '../../helpers/test-database-server.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

describe('db.sql, the hot paths straight through pg', () => {
  it("returns rows with pg's types", async () => {
    const rows = await t.app.db.sql<{ at: Date; n: number; big: string; id: string }>(
      statement('test_types', `SELECT $1::timestamptz AS at, $2::int AS n, count(*) AS big, gen_random_uuid() AS id FROM users`),
      ['2026-01-02T03:04:05.678Z', 7],
    )
    expect(rows).toEqual([{ at: new Date('2026-01-02T03:04:05.678Z'), n: 7, big: expect.stringMatching(/^\d+$/), id: expect.stringMatching(/^[0-9a-f-]{36}$/) }])
  })

  it('prepares each statement once per connection under its name, on PostgreSQL (not on PGlite, one session for all)', async () => {
    const prepared = statement('test_prepared', 'SELECT name FROM pg_prepared_statements WHERE name = $1::text')
    const rows = await t.app.db.sql<{ name: string }>(prepared, [prepared.name])
    expect(rows).toEqual(t.database.real ? [{ name: 'hot_test_prepared' }] : [])
  })

  it.skipIf(testServerUrl() === undefined)('reports a NOWAIT lock held by a transaction as lock-unavailable', async () => {
    const { userId } = await registerAndLogin(t.app)
    let release!: () => void
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const holder = t.app.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`
      locked()
      await new Promise<void>((resolve) => (release = resolve))
    })
    await isLocked
    const error = await t.app.db.sql(statement('test_nowait', 'SELECT id FROM users WHERE id = $1::uuid FOR UPDATE NOWAIT'), [userId]).catch((e: unknown) => e)
    release()
    await holder
    expect(isLockUnavailable(error)).toBe(true)
  })

  it('the one-statement paths are out of reach inside a transaction, where they would run on another connection', async () => {
    expectTypeOf<AccountTransaction>().not.toHaveProperty('fastPaths')
    const store = createAccountStore(t.app.db.prisma, t.app.db.sql)
    expect(await store.transaction(async (tx) => 'fastPaths' in tx)).toBe(false)
  })
})
