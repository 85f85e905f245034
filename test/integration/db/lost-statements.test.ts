import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseFailureOf } from '../../../src/db/unavailable.js'
import { registerAndLogin } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { testServerUrl } from '../../helpers/test-database-server.js'

// A connection whose state the server and pg no longer agree on: PostgreSQL forgot the statements
// pg knows as prepared there (DEALLOCATE ALL behind pg's back stands for any such loss: a session
// reset, messages out of step), so binding one fails with 26000 "prepared statement does not
// exist". Such a request is a 503 to retry, not a 500, and the connection is not used again.
// One pooled connection, so the pool cannot hide a poisoned one behind healthy ones. PostgreSQL
// only: statements are prepared by name there, not on the embedded PGlite.
let t: TestApp
const real = testServerUrl() !== undefined

beforeAll(async () => {
  if (real) t = await buildTestApp({ DATABASE_POOL_SIZE: '1' })
})
afterAll(async () => t?.close())

describe.skipIf(!real)('a connection whose prepared statements the server lost', () => {
  const backend = async () => (await t.app.db.prisma.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`)[0]!.pid

  it('a refresh meeting it: 503 with Retry-After, and the retry with the same token succeeds', async () => {
    const user = await registerAndLogin(t.app)
    const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } })
    const first = await refresh(user.refreshToken)
    expect(first.statusCode, first.body).toBe(200)
    let token = first.json<{ refresh_token: string }>().refresh_token
    // A background job (the revocation reload, every second) may meet the lost statements first
    // and have the connection replaced, when the refresh then runs on a fresh one: try again.
    const statuses: number[] = []
    for (let attempt = 0; attempt < 10 && !statuses.includes(503) && !statuses.includes(500); attempt++) {
      await t.app.db.prisma.$executeRawUnsafe('DEALLOCATE ALL')
      const answer = await refresh(token)
      statuses.push(answer.statusCode)
      if (answer.statusCode === 200) token = answer.json<{ refresh_token: string }>().refresh_token
      else expect(Number(answer.headers['retry-after']), answer.body).toBeGreaterThan(0)
    }
    expect(statuses.at(-1), `answers: ${statuses.join()}`).toBe(503)
    const retry = await refresh(token)
    expect(retry.statusCode, retry.body).toBe(200)
  })

  it('inside a Prisma transaction (which releases its connection without an error): the connection is destroyed, not pooled again', async () => {
    const before = await backend()
    const failure = await t.app.db.prisma
      .$transaction(async (tx) => {
        await tx.$queryRaw`SELECT pg_backend_pid() AS pid`
        await tx.$executeRawUnsafe('DEALLOCATE ALL')
        await tx.$queryRaw`SELECT pg_backend_pid() AS pid`
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(databaseFailureOf(failure), String(failure)).toBe('connection_lost')
    // The next query gets a fresh connection: on the old one it would fail the same way.
    const after = await backend()
    expect(after).not.toBe(before)
    expect(await backend()).toBe(after)
  })
})
