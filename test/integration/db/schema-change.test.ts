import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify from 'fastify'
import { databaseFailureOf, isStalePlan } from '../../../src/db/unavailable.js'
import { renderError } from '../../../src/http/error-renderer.js'
import { createAccountStore } from '../../../src/repositories/account-store.js'
import { GOOD_PASSWORD, login, register, uniqueEmail } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { testServerUrl } from '../../helpers/test-database-server.js'
import { cartRequest } from '../cart/helpers.js'
import { Browser, createOidcClient, redeem, signInFor } from '../oidc/helpers.js'

// A rolling deploy migrates the database while instances of the previous release still serve,
// each with statements prepared on its pooled connections (the hot paths' and Prisma's). A
// migration that changes what such a statement returns (a column's type here; a new column under
// a top-level `*`) makes PostgreSQL refuse it on every connection that prepared it before:
// 0A000 "cached plan must not change result type". What a user of a running instance sees must
// not change: the requests succeed. One pooled connection, so every statement the warm-up
// prepared is on the connection the requests after the migration use. PostgreSQL only: the
// embedded PGlite prepares no named statements.
let t: TestApp
let migrator: pg.Client
const real = testServerUrl() !== undefined

beforeAll(async () => {
  if (!real) return
  t = await buildTestApp({ DATABASE_POOL_SIZE: '1' })
  // Another connection, as another instance's `tollgate migrate` would be.
  migrator = new pg.Client({ connectionString: t.database.url })
  await migrator.connect()
})
afterAll(async () => {
  await migrator?.end()
  await t?.close()
})

const backend = async () => (await t.app.db.prisma.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`)[0]!.pid

/** An account with a session and a cart, made before the migration. */
async function account() {
  const { email, password } = await register(t.app, { name: 'Ada' })
  const session = await login(t.app, { email, password })
  const first = await cartRequest(t.app, session.authorization)('POST', '/v1/cart/items', { sku: 'A-1', quantity: 1 })
  expect(first.statusCode).toBe(201)
  const client = await createOidcClient(t.app, { type: 'public' })
  return { email, password, session, client }
}

/**
 * Every hot statement (login, rotation, cart read and add, code redemption) and Prisma's reads and
 * transactions, as a user meets them: the status of each request, by name.
 */
async function useEverything({ email, password, session, client }: Awaited<ReturnType<typeof account>>) {
  const cart = cartRequest(t.app, session.authorization)
  const agent = { 'user-agent': 'test-agent/1.0' }
  const answers = {
    login: await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers: agent }),
    refresh: await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: session.refreshToken }, headers: agent }),
    'cart add': await cart('POST', '/v1/cart/items', { sku: 'A-1', quantity: 1 }),
    'cart read': await cart('GET', '/v1/cart/items'),
    me: await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: session.authorization } }),
    'sessions list': await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: session.authorization } }),
    'end other sessions': await t.app.inject({ method: 'DELETE', url: '/v1/auth/sessions', headers: { authorization: session.authorization } }),
    register: await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), password: GOOD_PASSWORD } }),
  }
  const statuses: Record<string, number> = {}
  for (const [name, answer] of Object.entries(answers)) statuses[name] = answer.statusCode
  try {
    const { code, verifier } = await signInFor(new Browser(t.app), client, { email, password })
    statuses['code redemption'] = (await redeem(t.app, client, code!, verifier)).statusCode
  } catch (error) {
    statuses['code redemption'] = Number(/ended with (\d+)/.exec(String(error))?.[1] ?? -1)
  }
  session.refreshToken = answers.refresh.json<{ refresh_token?: string }>().refresh_token ?? session.refreshToken
  return statuses
}

const EXPECTED = {
  login: 200,
  refresh: 200,
  'cart add': 201,
  'cart read': 200,
  me: 200,
  'sessions list': 200,
  'end other sessions': 204,
  register: 201,
  'code redemption': 200,
}

describe.skipIf(!real)('a migration while the instance runs (a rolling deploy)', () => {
  it('prepares every statement first', async () => {
    expect(await useEverything(await account())).toEqual(EXPECTED)
  })

  it('new columns in every table the hot statements read: every request answers as before', async () => {
    await migrator.query(`
      ALTER TABLE users ADD COLUMN locale text;
      ALTER TABLE sessions ADD COLUMN device_name text;
      ALTER TABLE refresh_tokens ADD COLUMN note text;
      ALTER TABLE authorization_codes ADD COLUMN claims jsonb;
      ALTER TABLE carts ADD COLUMN currency text;
      ALTER TABLE cart_items ADD COLUMN note text`)
    expect(await useEverything(await account())).toEqual(EXPECTED)
  })

  it('a changed column type under prepared statements (timestamps to microseconds): every request succeeds, on the same connection', async () => {
    const user = await account()
    expect(await useEverything(user)).toEqual(EXPECTED)
    const before = await backend()
    await migrator.query(`
      ALTER TABLE users ALTER COLUMN created_at TYPE timestamptz(6);
      ALTER TABLE sessions ALTER COLUMN created_at TYPE timestamptz(6), ALTER COLUMN last_used_at TYPE timestamptz(6),
        ALTER COLUMN absolute_expires_at TYPE timestamptz(6);
      ALTER TABLE cart_items ALTER COLUMN updated_at TYPE timestamptz(6)`)
    expect(await useEverything(user)).toEqual(EXPECTED)
    // The statements were prepared again where they were: the connection was not thrown away.
    expect(await backend()).toBe(before)
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(200)
  })

  it('a transaction that meets a statement prepared before the migration is tried again and succeeds', async () => {
    const store = createAccountStore(t.app.db.prisma, t.app.db.sql)
    const { user } = await register(t.app)
    const read = () => store.transaction((tx) => tx.users.findById(user.id))
    expect((await read())?.email).toBe(user.email)
    await migrator.query('ALTER TABLE users ALTER COLUMN disabled_at TYPE timestamptz(6)')
    expect((await read())?.email).toBe(user.email)
  })

  it('outside the account store (no retry of its own), such a transaction is a 503 with Retry-After, and the next one succeeds', async () => {
    const read = () => t.app.db.prisma.$transaction((tx) => tx.cart.findMany({ take: 1 }))
    await read()
    await migrator.query('ALTER TABLE carts ALTER COLUMN updated_at TYPE timestamptz(6)')
    const failure = await read().then(
      () => undefined,
      (error: unknown) => error,
    )
    // No background job reads carts: the transaction is the first to meet the stale statement.
    expect(isStalePlan(failure), String(failure)).toBe(true)
    expect(databaseFailureOf(failure)).toBeUndefined()
    // What the user of a route that met it sees, in either error format.
    const app = Fastify()
    app.setErrorHandler(renderError)
    app.get('/v1/stand-in', { config: { errorFormat: 'problem' } }, async () => Promise.reject(failure))
    app.post('/oauth/stand-in', { config: { errorFormat: 'oauth' } }, async () => Promise.reject(failure))
    for (const [method, url, code] of [['GET', '/v1/stand-in', 'service_unavailable'], ['POST', '/oauth/stand-in', 'temporarily_unavailable']] as const) {
      const answer = await app.inject({ method, url })
      expect(answer.statusCode, answer.body).toBe(503)
      expect(answer.headers['retry-after']).toBe('1')
      expect(JSON.stringify(answer.json())).toContain(code)
    }
    await app.close()
    await expect(read()).resolves.toBeDefined()
  })
})
