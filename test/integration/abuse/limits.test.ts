import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, register, uniqueEmail } from '../../helpers/accounts.js'
import { createClient, postForm } from '../oauth/helpers.js'

/** The limits on the real endpoints: small numbers, so the test stays quick. */
const LIMITS = {
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_LOGIN_PER_IP: '8',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '3',
  RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: '6',
  RATE_LIMIT_REGISTER_PER_IP: '4',
  RATE_LIMIT_REFRESH_PER_SESSION: '2',
  RATE_LIMIT_TOKEN_PER_CLIENT: '3',
}

describe('rate limits on the real endpoints', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(LIMITS)
  })
  afterAll(async () => t?.close())

  const login = (email: string, password: string, ip: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip })

  it('throttles guessing on one account from one address, while the owner elsewhere still logs in', async () => {
    const { email } = await register(t.app, { email: uniqueEmail('victim') })
    for (let i = 0; i < 3; i++) {
      const res = await login(email, 'wrong password', '203.0.113.66')
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ code: 'invalid_credentials' })
      expect(res.headers['ratelimit-remaining']).toBe(String(2 - i))
    }
    const limited = await login(email.toUpperCase(), GOOD_PASSWORD, '203.0.113.66')
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(limited.json()).toMatchObject({ status: 429, code: 'rate_limited', type: 'urn:tollgate:problem:rate_limited' })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.headers['ratelimit-limit']).toBe('3')
    expect(limited.headers['ratelimit-remaining']).toBe('0')

    const owner = await login(email, GOOD_PASSWORD, '198.51.100.7')
    expect(owner.statusCode).toBe(200)
    expect(owner.headers['cache-control']).toBe('no-store')
  })

  it('throttles one address trying many accounts', async () => {
    const { email } = await register(t.app)
    for (let i = 0; i < 8; i++) expect((await login(uniqueEmail('nobody'), 'wrong password', '203.0.113.77')).statusCode).toBe(401)
    expect((await login(email, GOOD_PASSWORD, '203.0.113.77')).statusCode).toBe(429)
    expect((await login(email, GOOD_PASSWORD, '203.0.113.78')).statusCode).toBe(200)
  })

  it('throttles registration per address, and a refused registration creates no account', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), password: GOOD_PASSWORD }, remoteAddress: '203.0.113.88' })
      expect(res.statusCode).toBe(201)
    }
    const email = uniqueEmail('refused')
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: GOOD_PASSWORD }, remoteAddress: '203.0.113.88' })
    expect(res.statusCode).toBe(429)
    expect(await t.app.db.prisma.user.count({ where: { email } })).toBe(0)
  })

  it('throttles replays of one refresh token', async () => {
    const { email } = await register(t.app)
    const { refresh_token: refreshToken } = (await login(email, GOOD_PASSWORD, '192.0.2.10')).json<{ refresh_token: string }>()
    const refresh = () => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken }, remoteAddress: '192.0.2.10' })
    const first = await refresh()
    expect(first.statusCode).toBe(200)
    expect(first.headers['cache-control']).toBe('no-store')
    expect((await refresh()).statusCode).toBe(200)
    const limited = await refresh()
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toMatchObject({ code: 'rate_limited' })
  })

  it('throttles the token endpoint per client, in the RFC 6749 error format', async () => {
    const client = await createClient(t.app)
    for (let i = 0; i < 3; i++) {
      const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
      expect(res.statusCode).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
    }
    const limited = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret })
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.headers['cache-control']).toBe('no-store')
    expect(limited.json()).toMatchObject({ error: 'invalid_request' })
  })
})
