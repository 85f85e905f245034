import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { databaseFailureOf } from '../../../src/db/unavailable.js'
import type { Config } from '../../../src/config.js'
import { registerAndLogin, type LoggedIn } from '../../helpers/accounts.js'
import { testConfig } from '../../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js'

// The app on real PostgreSQL behind a proxy that refuses, resets or silences the connection. On
// the embedded PGlite (one session, in process) there is no network to lose.
const real = Boolean(process.env.TEST_DATABASE_URL || process.env.DATABASE_URL)

let database: TestDatabase
let proxy: FaultProxy
let app: App
let config: Config
let user: LoggedIn
/** The app's log lines, parsed. */
const logs: Array<{ level: number; msg?: string; err?: unknown; [key: string]: unknown }> = []
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line))
    done()
  },
})

beforeAll(async () => {
  if (!real) return
  database = await createTestDatabase()
  const target = new URL(database.url)
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })
  config = testConfig({ DATABASE_URL: proxy.url(database.url) })
  app = await buildApp(config, { logger: { level: 'info', stream: logStream } })
  user = await registerAndLogin(app)
})
afterAll(async () => {
  if (!real) return
  await app?.close()
  await proxy?.close()
  await database?.drop()
})

/**
 * One request of each kind that needs the database, /v1 and /oauth, as `who`. Each login starts a
 * session, and past MAX_SESSIONS_PER_USER the oldest is revoked: the recovery loop, which logs in
 * again and again, acts as the user it just registered, so its access token stays live.
 */
function requests(refreshToken: string, who: LoggedIn = user) {
  return {
    login: () => app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: who.email, password: who.password } }),
    refresh: () => app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } }),
    cartAdd: () =>
      app.inject({ method: 'POST', url: '/v1/cart/items', headers: { authorization: who.authorization }, payload: { sku: 'FAULT-1', quantity: 1 } }),
    sessions: () => app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: who.authorization } }),
    oauthRefresh: () =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.FIRST_PARTY_CLIENT_ID }).toString(),
      }),
  }
}

/** What the outage looked like in the log and the metrics, from `since` (an index into logs). */
async function outageRecord(since: number) {
  const lines = logs.slice(since)
  const metrics = (await app.inject('/metrics')).body
  const counted = (kind: string) => Number(metrics.match(new RegExp(`^database_errors_total\\{kind="${kind}"\\} (\\d+)`, 'm'))?.[1] ?? 0)
  return {
    unreachable: lines.filter((line) => line.msg === 'database unreachable'),
    back: lines.filter((line) => line.msg === 'database back'),
    errors: lines.filter((line) => line.level >= 50 && line.msg !== 'database unreachable'),
    withStack: lines.filter((line) => line.err !== undefined),
    counted,
  }
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

type Injected = Awaited<ReturnType<App['inject']>>

function expectUnavailable(response: Injected, format: 'problem' | 'oauth') {
  expect(response.statusCode, response.body).toBe(503)
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
  if (format === 'oauth') expect(response.json()).toEqual({ error: 'temporarily_unavailable' })
  else expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' })
}

/**
 * How long until everything answers again after the database's return: a registration, a login,
 * and then several requests at once (more than one pooled connection) all succeed.
 */
async function recoveryMs(withinMs: number): Promise<number> {
  const started = performance.now()
  let last = ''
  while (performance.now() - started < withinMs) {
    const fresh = await registerAndLogin(app).catch((error: Error) => void (last = error.message))
    if (fresh) {
      const again = requests(fresh.refreshToken, fresh)
      const answers = await Promise.all([again.refresh(), again.cartAdd(), again.sessions(), again.login(), again.sessions(), again.cartAdd()])
      const statuses = answers.map((answer) => answer.statusCode)
      if ((await app.inject('/health/ready')).statusCode === 200 && statuses.join() === '200,201,200,200,200,201') return performance.now() - started
      last = statuses.join()
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`not recovered within ${withinMs} ms (last: ${last})`)
}

describe.skipIf(!real)('when PostgreSQL falters (real PostgreSQL behind a fault proxy)', () => {
  it('gives every connection the server-side timeouts', async () => {
    const [settings] = await app.db.prisma.$queryRaw<Array<Record<string, string>>>`
      SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
             current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('tcp_keepalives_idle') AS keepalive`
    expect(settings).toMatchObject({ statement: '2s', lock: '2s', idle: '10s' })
  })

  it('a silent database: 503 with Retry-After within the bounds, readiness 503, then everything heals without a restart', async () => {
    const { refreshToken } = await registerAndLogin(app)
    const call = requests(refreshToken)
    // Several pooled connections open and idle: the black hole silences them mid-stream.
    await Promise.all(Array.from({ length: 6 }, () => call.sessions()))
    const since = logs.length
    await proxy.set('blackhole')
    try {
      const [login, refresh, cartAdd, sessions, oauthRefresh, ready] = await Promise.all(
        [call.login, call.refresh, call.cartAdd, call.sessions, call.oauthRefresh, () => app.inject('/health/ready')].map((request) => timed(request)),
      )
      for (const answer of [login, refresh, cartAdd, sessions]) expectUnavailable(answer!.value, 'problem')
      expectUnavailable(oauthRefresh!.value, 'oauth')
      expect(ready!.value.statusCode).toBe(503)
      // Connecting or a free pooled connection (2 s), then a query (3 s); a refresh is cut at 5 s.
      // The bounds leave room for a busy machine: the suite runs files in parallel.
      for (const answer of [login, refresh, cartAdd, sessions, oauthRefresh]) expect(answer!.ms).toBeLessThan(7_000)
      expect(ready!.ms).toBeLessThan(2_500)
      expect((await app.inject('/health/live')).statusCode).toBe(200)
    } finally {
      await proxy.set('pass')
    }
    // The black-holed connections stay silent for good: the pool must have thrown them away.
    await recoveryMs(5_000)
    const record = await outageRecord(since)
    expect(record.unreachable).toHaveLength(1)
    expect(record.back).toHaveLength(1)
    expect(record.back[0]!.failedRequests).toBeGreaterThanOrEqual(5)
    expect(record.errors).toEqual([])
    expect(record.withStack).toEqual([])
    expect(record.counted('timeout') + record.counted('pool_exhausted')).toBeGreaterThanOrEqual(5)
  }, 30_000)

  it('a refused or reset connection: 503 at once, then everything heals without a restart', async () => {
    const { refreshToken } = await registerAndLogin(app)
    const call = requests(refreshToken)
    const since = logs.length
    await proxy.set('reset')
    try {
      for (const request of [call.login, call.refresh, call.cartAdd, call.sessions]) {
        const { value, ms } = await timed(request)
        expectUnavailable(value, 'problem')
        expect(ms).toBeLessThan(2_000)
      }
      expectUnavailable(await call.oauthRefresh(), 'oauth')
      const ready = await timed(() => app.inject('/health/ready'))
      expect(ready.value.statusCode).toBe(503)
      expect(ready.ms, 'during a known outage readiness answers at once').toBeLessThan(1_000)
    } finally {
      await proxy.set('pass')
    }
    await recoveryMs(3_000)
    const record = await outageRecord(since)
    expect(record.unreachable).toHaveLength(1)
    expect(record.unreachable[0]).toMatchObject({ kind: expect.stringMatching(/^(refused|connection_lost)$/) })
    expect(record.back).toHaveLength(1)
    expect(record.back[0]!.failedRequests).toBeGreaterThanOrEqual(5)
    expect(record.errors).toEqual([])
    expect(record.withStack).toEqual([])
    expect(record.counted('refused') + record.counted('connection_lost')).toBeGreaterThanOrEqual(5)
  }, 30_000)

  it('replies slower than the query timeout now and then, under concurrent load on a two-connection pool: only answers and 503s, never a 500, and the pool heals', async () => {
    // pg's query_timeout rejects a query whose reply is late but leaves it in flight on its
    // connection; the suspicion was that such a connection, reused, could read the lost query's
    // reply as the next one's ('unnamed prepared statement does not exist' answered 500). pg keeps
    // the late query's place (the next one waits for its ReadyForQuery) and the service destroys
    // the connection anyway: this holds both. Short timeouts and a small pool so that it happens
    // often and quickly: every 20th reply chunk of the server comes 1.2 to 1.5 s late (the query
    // timeout is 1 s).
    const slowDatabase = await createTestDatabase()
    const slow = await startFaultProxy({ host: new URL(slowDatabase.url).hostname, port: Number(new URL(slowDatabase.url).port || 5432) })
    const slowApp = await buildApp(
      testConfig({
        DATABASE_URL: slow.url(slowDatabase.url),
        DATABASE_POOL_SIZE: '2',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        DATABASE_QUERY_TIMEOUT_MS: '1000',
        DATABASE_STATEMENT_TIMEOUT_MS: '800',
        DATABASE_LOCK_TIMEOUT_MS: '800',
      }),
      { logger: false },
    )
    try {
      const users = await Promise.all(Array.from({ length: 4 }, () => registerAndLogin(slowApp)))
      const answers: Array<{ what: string; status: number; retryAfter: unknown; body: string }> = []
      const send = async (what: string, request: InjectOptions) => {
        const response = await slowApp.inject(request)
        answers.push({ what, status: response.statusCode, retryAfter: response.headers['retry-after'], body: response.body.slice(0, 200) })
        return response
      }
      let chunks = 0
      slow.delayReplies(() => (++chunks % 20 === 0 ? 1_200 + ((chunks / 20) % 4) * 100 : 0))
      const until = performance.now() + 4_000
      await Promise.all(
        users.flatMap((user, index) => [
          (async () => {
            // A refresh retried with the same token after a 503, as README tells clients to.
            while (performance.now() < until) {
              const answer = await send('refresh', { method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } })
              if (answer.statusCode === 200) user.refreshToken = answer.json<{ refresh_token: string }>().refresh_token
            }
          })(),
          (async () => {
            for (let n = 0; performance.now() < until; n++) {
              const headers = { authorization: user.authorization, 'idempotency-key': randomUUID() }
              await send('cart add', { method: 'POST', url: '/v1/cart/items', headers, payload: { sku: `SLOW-${index}-${n}`, quantity: 1 } })
              await send('sessions', { method: 'GET', url: '/v1/auth/sessions', headers: { authorization: user.authorization } })
            }
          })(),
        ]),
      )
      slow.delayReplies(undefined)
      const unexpected = answers.filter((answer) => ![200, 201, 503].includes(answer.status) || (answer.status === 503 && !(Number(answer.retryAfter) > 0)))
      expect(unexpected).toEqual([])
      expect(answers.filter((answer) => answer.status === 503).length, 'query timeouts fired').toBeGreaterThan(0)
      expect(answers.filter((answer) => answer.status !== 503).length, 'and others were answered').toBeGreaterThan(0)

      // Healed: every connection the late replies touched is gone; several requests at once succeed.
      let last = ''
      for (const started = performance.now(); performance.now() - started < 10_000; await new Promise((resolve) => setTimeout(resolve, 100))) {
        const user = users[0]!
        const round = await Promise.all([
          slowApp.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } }),
          slowApp.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: user.authorization } }),
          slowApp.inject({ method: 'POST', url: '/v1/cart/items', headers: { authorization: user.authorization }, payload: { sku: 'HEALED', quantity: 1 } }),
          slowApp.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: users[1]!.authorization } }),
        ])
        if (round[0]!.statusCode === 200) user.refreshToken = round[0]!.json<{ refresh_token: string }>().refresh_token
        last = round.map((answer) => answer.statusCode).join()
        if (last === '200,200,201,200') break
        const failure = round.find((answer) => answer.statusCode !== 503 && answer.statusCode >= 500)
        expect(failure?.body).toBeUndefined()
      }
      expect(last).toBe('200,200,201,200')
      // A query straight on the pool gets no stray reply of a lost query.
      const rows = await Promise.all([1, 2, 3, 4].map((n) => slowApp.db.prisma.$queryRaw<Array<{ n: number }>>`SELECT ${n}::int AS n`.catch((error: unknown) => databaseFailureOf(error))))
      expect(rows).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }], [{ n: 4 }]])
    } finally {
      slow.delayReplies(undefined)
      await slowApp.close()
      await slow.close()
      await slowDatabase.drop()
    }
  }, 60_000)
})
