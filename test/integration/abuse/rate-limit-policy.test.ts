import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildPolicyApp } from './policy-app.js'

const LIMITS = {
  RATE_LIMIT_WINDOW_SECONDS: '60',
  RATE_LIMIT_LOGIN_PER_IP: '10',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '3',
  RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: '6',
  RATE_LIMIT_REGISTER_PER_IP: '2',
  RATE_LIMIT_REFRESH_PER_IP: '8',
  RATE_LIMIT_REFRESH_PER_SESSION: '2',
  RATE_LIMIT_TOKEN_PER_CLIENT: '3',
}

const login = (app: FastifyInstance, email: string, password: string, ip = '10.0.0.1') =>
  app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip })

function expectRateLimited(res: Awaited<ReturnType<FastifyInstance['inject']>>, retryAfter?: number) {
  expect(res.statusCode).toBe(429)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(res.json()).toMatchObject({ status: 429, code: 'rate_limited' })
  // Outside production the detail says how a developer turns the limits off.
  expect(res.json().detail).toContain('RATE_LIMIT_ENABLED=false')
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  if (retryAfter !== undefined) expect(Number(res.headers['retry-after'])).toBe(retryAfter)
  expect(res.headers['ratelimit-remaining']).toBe('0')
  expect(res.headers['ratelimit-limit']).toBeDefined()
  expect(res.headers['ratelimit-reset']).toBeDefined()
}

describe('rate-limit policies', () => {
  let app: FastifyInstance
  let now = Date.parse('2030-01-01T00:00:00Z')

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(now)
    ;({ app } = await buildPolicyApp(LIMITS))
  })
  afterEach(async () => {
    await app.close()
    vi.useRealTimers()
  })
  const advance = (seconds: number) => {
    now += seconds * 1000
    vi.setSystemTime(now)
  }

  describe('login', () => {
    it('counts attempts per account and address, with the RateLimit headers, then answers 429', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await login(app, 'victim@example.com', 'wrong')
        expect(res.statusCode).toBe(401)
        expect(res.headers['ratelimit-limit']).toBe('3')
        expect(res.headers['ratelimit-remaining']).toBe(String(2 - i))
      }
      expectRateLimited(await login(app, 'victim@example.com', 'correct'), 60)
    })

    it('treats emails case- and whitespace-insensitively', async () => {
      for (const email of ['Victim@Example.com', ' victim@example.com', 'VICTIM@EXAMPLE.COM ']) {
        expect((await login(app, email, 'wrong')).statusCode).toBe(401)
      }
      expectRateLimited(await login(app, 'victim@example.com', 'wrong'))
    })

    it('backs off progressively for the address that keeps trying, and not for the owner elsewhere', async () => {
      for (let i = 0; i < 3; i++) await login(app, 'victim@example.com', 'wrong', '10.0.0.66')
      const waits: number[] = []
      for (let i = 0; i < 4; i++) {
        const res = await login(app, 'victim@example.com', 'wrong', '10.0.0.66')
        expectRateLimited(res)
        waits.push(Number(res.headers['retry-after']))
      }
      expect(waits).toEqual([60, 120, 240, 480])

      const owner = await login(app, 'victim@example.com', 'correct', '192.0.2.7')
      expect(owner.statusCode).toBe(200)

      advance(120)
      expectRateLimited(await login(app, 'victim@example.com', 'correct', '10.0.0.66'))
      expect((await login(app, 'victim@example.com', 'correct', '192.0.2.7')).statusCode).toBe(200)
    })

    it('caps attempts on one account across addresses for one window only', async () => {
      // Two attempts from each of three addresses stay under the per-address limit of 3...
      for (const ip of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) {
        for (let i = 0; i < 2; i++) expect((await login(app, 'victim@example.com', 'wrong', ip)).statusCode).toBe(401)
      }
      // ...but the account's shared budget of 6 is spent, even for a fresh address.
      expectRateLimited(await login(app, 'victim@example.com', 'correct', '192.0.2.7'))
      expect((await login(app, 'someone-else@example.com', 'correct', '192.0.2.7')).statusCode).toBe(200)

      advance(61)
      expect((await login(app, 'victim@example.com', 'correct', '192.0.2.7')).statusCode).toBe(200)
    })

    it('does not let an address already backing off keep the account budget spent', async () => {
      for (let i = 0; i < 20; i++) await login(app, 'victim@example.com', 'wrong', '10.0.0.66')
      // The per-address limit of 10 stops the flood; only 3 attempts reached the account budget.
      expect((await login(app, 'victim@example.com', 'correct', '192.0.2.7')).statusCode).toBe(200)
    })

    it('limits one address across many accounts (credential stuffing)', async () => {
      for (let i = 0; i < 10; i++) expect((await login(app, `user${i}@example.com`, 'wrong')).statusCode).toBe(401)
      expectRateLimited(await login(app, 'user99@example.com', 'correct'))
      expect((await login(app, 'user99@example.com', 'correct', '10.0.0.2')).statusCode).toBe(200)
    })

    it('folds an IPv6 /64 into one address', async () => {
      for (let i = 1; i <= 3; i++) await login(app, 'victim@example.com', 'wrong', `2001:db8:1:2::${i}`)
      expectRateLimited(await login(app, 'victim@example.com', 'wrong', '2001:db8:1:2:ffff::9'))
    })

    it('does not count requests whose body fails validation against the account', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: 'not json', headers: { 'content-type': 'application/json' } })
        expect(res.statusCode).toBe(400)
      }
      expect((await login(app, 'victim@example.com', 'correct')).statusCode).toBe(200)
    })
  })

  it('limits registration per address', async () => {
    const register = (ip: string) => app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'x@example.com' }, remoteAddress: ip })
    expect((await register('10.0.0.1')).statusCode).toBe(201)
    expect((await register('10.0.0.1')).statusCode).toBe(201)
    expectRateLimited(await register('10.0.0.1'))
    expect((await register('10.0.0.2')).statusCode).toBe(201)
  })

  describe('refresh', () => {
    const refresh = (options: { token?: string; cookie?: string; ip?: string }) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        remoteAddress: options.ip ?? '10.0.0.1',
        ...(options.token ? { payload: { refresh_token: options.token } } : {}),
        ...(options.cookie ? { cookies: { tollgate_refresh: options.cookie } } : {}),
      })

    it('counts one refresh token, from the body or the cookie, as one bucket', async () => {
      expect((await refresh({ token: 'token-a' })).statusCode).toBe(200)
      expect((await refresh({ cookie: 'token-a' })).statusCode).toBe(200)
      expectRateLimited(await refresh({ token: 'token-a' }))
      expect((await refresh({ token: 'token-b' })).statusCode).toBe(200)
    })

    it('limits one address whatever the tokens', async () => {
      for (let i = 0; i < 8; i++) expect((await refresh({ token: `t${i}` })).statusCode).toBe(200)
      expectRateLimited(await refresh({ token: 'fresh' }))
      expect((await refresh({ token: 'fresh', ip: '10.0.0.2' })).statusCode).toBe(200)
    })

    it('leaves logout alone', async () => {
      for (let i = 0; i < 12; i++) expect((await app.inject({ method: 'POST', url: '/v1/auth/logout' })).statusCode).toBe(204)
    })
  })

  describe('/oauth/token', () => {
    const token = (form: Record<string, string>, basic?: string, ip = '10.0.0.1') =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        remoteAddress: ip,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {}),
        },
        payload: new URLSearchParams(form).toString(),
      })

    it('counts per client and secret, whether it authenticates with Basic or in the body, and renders 429 the RFC 6749 way', async () => {
      expect((await token({ grant_type: 'client_credentials' }, 'svc-a:secret')).statusCode).toBe(200)
      expect((await token({ grant_type: 'client_credentials', client_id: 'svc-a', client_secret: 'secret' }, undefined, '10.0.0.2')).statusCode).toBe(200)
      expect((await token({ grant_type: 'client_credentials' }, 'svc-a:secret', '10.0.0.3')).statusCode).toBe(200)
      // Another secret (a stranger guessing) is not the client's budget.
      for (let i = 0; i < 3; i++) expect((await token({ grant_type: 'client_credentials' }, `svc-a:guess-${i}`, '10.0.0.9')).statusCode).toBe(200)
      const limited = await token({ grant_type: 'client_credentials' }, 'svc-a:secret', '10.0.0.4')
      expect(limited.statusCode).toBe(429)
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
      expect(limited.headers['cache-control']).toBe('no-store')
      expect(limited.json()).toMatchObject({ error: 'invalid_request' })
      expect((await token({ grant_type: 'client_credentials' }, 'svc-b:secret')).statusCode).toBe(200)
    })

    it('counts a public client refresh per token, not against the shared client id', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await token({ grant_type: 'refresh_token', client_id: 'tollgate-web', refresh_token: `t${i}` })).statusCode).toBe(200)
      }
      expect((await token({ grant_type: 'refresh_token', client_id: 'tollgate-web', refresh_token: 'same' })).statusCode).toBe(200)
      expect((await token({ grant_type: 'refresh_token', client_id: 'tollgate-web', refresh_token: 'same' })).statusCode).toBe(200)
      const limited = await token({ grant_type: 'refresh_token', client_id: 'tollgate-web', refresh_token: 'same' })
      expect(limited.statusCode).toBe(429)
      expect(limited.json()).toMatchObject({ error: 'invalid_request' })
    })
  })
})

describe('RATE_LIMIT_ENABLED=false', () => {
  let app: FastifyInstance
  afterAll(async () => app?.close())

  it('applies no limit and sends no RateLimit headers', async () => {
    ;({ app } = await buildPolicyApp({ ...LIMITS, RATE_LIMIT_ENABLED: 'false' }))
    for (let i = 0; i < 12; i++) {
      const res = await login(app, 'victim@example.com', 'wrong')
      expect(res.statusCode).toBe(401)
      expect(res.headers['ratelimit-limit']).toBeUndefined()
    }
  })
})
