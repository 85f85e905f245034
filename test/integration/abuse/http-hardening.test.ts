import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { buildPolicyApp } from './policy-app.js'

describe('security headers', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it.each([
    ['a JSON response', '/health/live'],
    ['a problem+json error', '/no/such/route'],
  ])('are sent on %s, with a policy that loads nothing', async (_name, url) => {
    const res = await t.app.inject(url)
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-resource-policy': 'same-origin',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
    })
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'")
    expect(res.headers['x-powered-by']).toBeUndefined()
  })

  it('let the /docs page load its own script and styles, but not be framed', async () => {
    const page = await t.app.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/default-src|script-src|style-src/)
    const script = page.body.match(/<script src="([^"]+)"/)?.[1]
    expect(script).toBeDefined()
    const bundle = await t.app.inject(`/docs/${script}`)
    expect(bundle.statusCode).toBe(200)
    expect(bundle.headers['content-type']).toMatch(/javascript/)
  })

  it('send no CORS headers when no origin is allowed', async () => {
    const res = await t.app.inject({ url: '/health/live', headers: { origin: 'https://evil.example' } })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/auth/login',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('CORS with an allow-list', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ CORS_ORIGINS: 'https://app.example,https://admin.example' })
  })
  afterAll(async () => t?.close())

  it.each(['https://app.example', 'https://admin.example'])('allows %s, with credentials', async (origin) => {
    const res = await t.app.inject({ url: '/health/live', headers: { origin } })
    expect(res.headers['access-control-allow-origin']).toBe(origin)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-expose-headers'])).toContain('Retry-After')
    expect(String(res.headers['access-control-expose-headers'])).toContain('DPoP-Nonce')
    expect(res.headers.vary).toMatch(/Origin/)
  })

  it.each(['https://evil.example', 'https://app.example.evil.example', 'null', 'http://app.example'])('refuses %s', async (origin) => {
    const res = await t.app.inject({ url: '/health/live', headers: { origin } })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('answers a preflight from an allowed origin', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/cart/items',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,dpop' },
    })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST')
    expect(String(res.headers['access-control-allow-headers'])).toMatch(/Authorization/)
    expect(String(res.headers['access-control-allow-headers'])).toMatch(/DPoP/)
  })
})

describe('load shedding', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ MAX_EVENT_LOOP_DELAY_MS: '5' })
  })
  afterAll(async () => t?.close())

  function blockEventLoop(ms: number) {
    const until = Date.now() + ms
    while (Date.now() < until) {
      // busy: nothing else runs
    }
  }

  it('answers 503 with Retry-After while the event loop lags, in each route\'s error format, and keeps liveness at 200', { timeout: 20_000 }, async () => {
    type Response = Awaited<ReturnType<typeof t.app.inject>>
    const seen = { shed: undefined as Response | undefined, token: undefined as Response | undefined, live: 0 }
    const tokenRequest = {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    }
    const deadline = Date.now() + 10_000
    while (!seen.shed && Date.now() < deadline) {
      blockEventLoop(1500)
      // The delay is sampled once a second; poll across the next sample.
      const pollUntil = Date.now() + 2500
      while (Date.now() < pollUntil) {
        const [ready, live, token] = await Promise.all([t.app.inject('/health/ready'), t.app.inject('/health/live'), t.app.inject(tokenRequest)])
        if (ready.statusCode === 503) {
          seen.shed = ready
          seen.token = token
          seen.live = live.statusCode
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    expect(seen.shed?.statusCode).toBe(503)
    expect(seen.shed?.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(seen.shed?.json()).toMatchObject({ status: 503, code: 'service_unavailable' })
    expect(seen.shed?.headers['retry-after']).toBe('5')
    // An OAuth endpoint sheds in RFC 6749's shape.
    expect(seen.token?.statusCode).toBe(503)
    expect(seen.token?.json()).toEqual({ error: 'temporarily_unavailable' })
    expect(seen.token?.headers['retry-after']).toBe('5')
    expect(seen.live).toBe(200)
  })
})

describe('Cache-Control: no-store on responses that carry a token', () => {
  it.each([
    ['a token body from a route that set no Cache-Control', '/stand-in/token', 'no-store'],
    ['a refresh cookie', '/stand-in/cookie', 'no-store'],
    ['a cleared refresh cookie', '/stand-in/cleared-cookie', undefined],
    ['a body that only mentions a token field in a value', '/stand-in/plain', undefined],
  ])('%s', async (_name, url, expected) => {
    const { app } = await buildPolicyApp()
    try {
      const res = await app.inject(url)
      expect(res.statusCode).toBe(200)
      expect(res.headers['cache-control']).toBe(expected)
    } finally {
      await app.close()
    }
  })
})
