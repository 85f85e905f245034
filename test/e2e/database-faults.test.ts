import t from 'tap'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { createClient, createUser, outage, startLoad, type Sample } from './outage.js'
import { startService } from './service.js'

// The built service on real PostgreSQL through a TCP proxy that refuses and resets connections,
// goes silent (a black hole), or loses the reply to one statement, under a load of clients that
// follow README's retry rules. PostgreSQL itself is never stopped.
const server = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
const GRACE_SECONDS = 10
// README's bounds with the default settings: a connection or a pooled one within 2 s, a query
// within 3 s, a refresh within 5 s; a request may add both waits. Generous for a busy machine.
const REQUEST_BOUND_MS = 7_000
const RECOVERY_BOUND_MS = 5_000

if (!server) t.plan(0, 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL)')
else {
  t.test('database faults: 503s within their bounds, readiness following, recovery without restart, nothing acknowledged lost, nobody logged out', async (t) => {
    const target = new URL(server)
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.teardown(() => proxy.close())
    const service = await startService(
      { REFRESH_GRACE_SECONDS: String(GRACE_SECONDS), RATE_LIMIT_ENABLED: 'false', MAX_EVENT_LOOP_DELAY_MS: '0' },
      { databaseUrl: (url) => proxy.url(url) },
    )
    t.teardown(() => service.kill())

    const load = await startLoad(service.baseUrl, { users: 4, graceMs: GRACE_SECONDS * 1000 })
    const probe = await createUser(load.call, 'probe')
    await new Promise((resolve) => setTimeout(resolve, 1_000))

    for (const [mode, seconds] of [
      ['reset', 3],
      ['blackhole', 5],
    ] as const) {
      const figures = await outage(proxy, load, mode, seconds, probe)
      t.comment(`${mode} for ${seconds} s: ${JSON.stringify(figures)}`)
      t.ok(figures.recoveryMs < RECOVERY_BOUND_MS, `${mode}: serving again ${Math.round(figures.recoveryMs)} ms after the database returned, without a restart`)
      t.ok(figures.readinessDownMs !== undefined && figures.readinessDownMs < 2_000, `${mode}: readiness 503 within about a second (${Math.round(figures.readinessDownMs ?? -1)} ms)`)
      t.ok(figures.readinessUpMs !== undefined && figures.readinessUpMs < 3_000, `${mode}: readiness back to 200 (${Math.round(figures.readinessUpMs ?? -1)} ms)`)
      t.ok(figures.longestMs < REQUEST_BOUND_MS, `${mode}: no request outlived its bound (longest ${Math.round(figures.longestMs)} ms)`)
      t.ok((figures.statuses['503'] ?? 0) > 0, `${mode}: the outage was seen (503s)`)
    }
    await load.stop()

    const failures = (samples: Sample[]) => samples.filter((sample) => sample.status === 'network' || (sample.status >= 500 && sample.status !== 503))
    t.same(failures(load.samples), [], 'no 500 and no request left without an answer')
    t.same(
      load.samples.filter((sample) => sample.status === 503 && sample.kind !== 'ready' && sample.retryAfter === null),
      [],
      'every 503 says when to retry',
    )
    t.same(
      load.users.filter((user) => user.loggedOut).map((user) => user.email),
      [],
      'nobody was logged out: every refresh, retried by the rule, succeeded',
    )

    // Every acknowledged add is in the cart once; nothing unacknowledged appears twice.
    for (const user of load.users) {
      const cart = await load.call('cart', 'GET', '/v1/cart/items', { headers: { authorization: `Bearer ${user.accessToken}` } })
      const items = (cart.json.items as Array<{ sku: string; quantity: number }>) ?? []
      const present = new Map(items.map((item) => [item.sku, item.quantity]))
      const missing = [...user.acknowledged].filter((sku) => present.get(sku) !== 1)
      const strangers = items.filter((item) => !user.attempted.has(item.sku) || item.quantity !== 1)
      t.same({ missing, strangers }, { missing: [], strangers: [] }, `${user.email}: ${user.acknowledged.size} acknowledged adds, each present once`)
    }

    await t.test('a lost reply to a refresh: 503 within the bound, and the retry gets the same successor', async (t) => {
      const samples: Sample[] = []
      const call = createClient(service.baseUrl, samples)
      const user = await createUser(call, 'lost-refresh')
      const dropped = proxy.dropReplyTo(/UPDATE refresh_tokens SET rotated_at/)
      const first = await call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: user.refreshToken } })
      t.match(await dropped, /UPDATE refresh_tokens/, 'the rotation reached PostgreSQL, its reply did not come back')
      t.equal(first.status, 503, 'the refresh whose reply was lost answers 503')
      t.ok(samples[samples.length - 1]!.ms < 5_000 + 1_000, `within REFRESH_TIMEOUT_MS (${Math.round(samples[samples.length - 1]!.ms)} ms)`)
      await new Promise((resolve) => setTimeout(resolve, Number(first.headers?.get('retry-after') ?? 1) * 1000))
      const retry = await call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: user.refreshToken } })
      t.equal(retry.status, 200, 'the retry inside the window succeeds')
      const again = await call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: user.refreshToken } })
      t.equal(again.json.refresh_token, retry.json.refresh_token, 'every retry gets the same successor')
      const next = await call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: retry.json.refresh_token } })
      t.equal(next.status, 200, 'the successor works: the session lives')
      const events = await call('me', 'GET', '/v1/auth/events', { headers: { authorization: `Bearer ${next.json.access_token as string}` } })
      const types = (events.json.events as Array<{ type: string }>).map((event) => event.type)
      t.notOk(types.includes('session_revoked'), `no session revoked (events: ${types.join(', ')})`)
    })

    await t.test('a lost reply to the COMMIT of a cart add: 503, and the retry with its Idempotency-Key adds nothing more', async (t) => {
      const samples: Sample[] = []
      const call = createClient(service.baseUrl, samples)
      const user = await createUser(call, 'lost-commit')
      const headers = { authorization: `Bearer ${user.accessToken}`, 'idempotency-key': 'lost-commit-1' }
      const dropped = proxy.dropReplyTo(/^COMMIT$/, { after: /INSERT INTO idempotency_records/ })
      const first = await call('cart', 'POST', '/v1/cart/items', { body: { sku: 'LOST-COMMIT', quantity: 2 }, headers })
      t.equal(await dropped, 'COMMIT', 'the add committed, its acknowledgement was lost')
      t.equal(first.status, 503, 'the add answers 503')
      t.ok(samples[samples.length - 1]!.ms < REQUEST_BOUND_MS, `within the bound (${Math.round(samples[samples.length - 1]!.ms)} ms)`)
      const retry = await call('cart', 'POST', '/v1/cart/items', { body: { sku: 'LOST-COMMIT', quantity: 2 }, headers })
      t.equal(retry.status, 201, 'the retry gets the first answer')
      const cart = await call('cart', 'GET', '/v1/cart/items', { headers })
      t.same(
        (cart.json.items as Array<{ sku: string; quantity: number }>).map(({ sku, quantity }) => ({ sku, quantity })),
        [{ sku: 'LOST-COMMIT', quantity: 2 }],
        'added once',
      )
      t.same(failures(samples), [], 'no 500')
    })

    // The outages are told once each in the log, without stack traces (the last "back" comes with
    // the next ping, within a second).
    const told = (msg: string) => service.logs().filter((line) => line.msg === msg).length
    for (let i = 0; i < 30 && told('database back') < told('database unreachable'); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    const lines = service.logs()
    const unreachable = lines.filter((line) => line.msg === 'database unreachable')
    const back = lines.filter((line) => line.msg === 'database back')
    t.ok(unreachable.length >= 2 && unreachable.length <= 6, `one 'database unreachable' per outage (${unreachable.length})`)
    t.equal(back.length, unreachable.length, "and one 'database back' each")
    t.same(
      lines.filter((line) => line.level >= 50 && line.msg !== 'database unreachable').map((line) => line.msg),
      [],
      'no other error logged',
    )
    const { code } = await service.stop('SIGTERM')
    t.equal(code, 0, 'exits 0 afterwards')
  })
}
