import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, register, registerAndLogin } from '../../helpers/accounts.js'
import { createClient, form, FORM } from '../oauth/helpers.js'
import { authorizeUrl, Browser, createOidcClient, interactionOf, pkcePair, REDIRECT_URI } from '../oidc/helpers.js'

// Issue #14, item 4, against the whole app on PostgreSQL with the limits on: they must stop
// guessing (also a parallel burst) without punishing the people who know their passwords.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_LOGIN_PER_IP: '20',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '5',
    RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: '10',
    RATE_LIMIT_TOKEN_PER_CLIENT: '20',
    RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP: '10',
    // Tests register their accounts from one address.
    RATE_LIMIT_REGISTER_PER_IP: '100000',
    MAX_SESSIONS_PER_USER: '100',
  })
})
afterAll(async () => t?.close())

let subnet = 0
/** An address of its own for each test, so that per-address counters do not leak between tests. */
const freshNetwork = () => `10.${Math.floor(++subnet / 250)}.${subnet % 250}`

const login = (email: string, password: string, ip: string) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip })

describe('logins', () => {
  it('six (and twenty-five) successful logins in a minute from one address are never throttled', async () => {
    const ip = `${freshNetwork()}.1`
    const { email, password } = await register(t.app)
    const statuses = []
    for (let i = 0; i < 25; i++) statuses.push((await login(email, password, ip)).statusCode)
    expect(statuses).toEqual(Array(25).fill(200))
  })

  it('an office behind one address: 40 people signing in at 9 am, ten at a time, all get in', async () => {
    const ip = `${freshNetwork()}.1`
    const people = await Promise.all(Array.from({ length: 40 }, () => register(t.app)))
    const statuses: number[] = []
    for (let i = 0; i < people.length; i += 10) {
      const answers = await Promise.all(people.slice(i, i + 10).map((person) => login(person.email, person.password, ip)))
      statuses.push(...answers.map((answer) => answer.statusCode))
    }
    expect(statuses).toEqual(Array(40).fill(200))
  })

  it('30 parallel wrong passwords from one address: at most the per-account-and-address limit are checked', async () => {
    const ip = `${freshNetwork()}.1`
    const { email } = await register(t.app)
    const answers = await Promise.all(Array.from({ length: 30 }, () => login(email, 'wrong password!', ip)))
    const statuses = answers.map((answer) => answer.statusCode)
    expect(statuses.filter((status) => status === 401)).toHaveLength(5)
    expect(statuses.filter((status) => status === 429)).toHaveLength(25)
  })

  it('30 parallel wrong passwords from 30 addresses: the account budget caps them', async () => {
    const network = freshNetwork()
    const { email } = await register(t.app)
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(email, 'wrong password!', `${network}.${i + 1}`)))
    expect(answers.filter((answer) => answer.statusCode === 401)).toHaveLength(10)
    expect(answers.filter((answer) => answer.statusCode === 429)).toHaveLength(20)
  })

  it('successes between failures do not spend the budget: the owner keeps signing in while a guesser is stopped', async () => {
    const ip = `${freshNetwork()}.1`
    const { email, password } = await register(t.app)
    for (let i = 0; i < 4; i++) expect((await login(email, 'wrong password!', ip)).statusCode).toBe(401)
    for (let i = 0; i < 10; i++) expect((await login(email, password, ip)).statusCode).toBe(200)
    expect((await login(email, 'wrong password!', ip)).statusCode).toBe(401)
    expect((await login(email, password, ip)).statusCode).toBe(429)
  })
})

describe('the login page (POST /oauth/login), which shows a refused password again with a 200', () => {
  it('counts its refused passwords with the same limits, and not its successful sign-ins', async () => {
    const client = await createOidcClient(t.app)
    const { email, password } = await register(t.app)
    const browser = new Browser(t.app)
    const { challenge } = pkcePair()
    const page = await browser.get(
      authorizeUrl({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }),
    )
    const interaction = interactionOf(page.body)
    const attempt = (pass: string) => browser.post('/oauth/login', { interaction, email, password: pass })
    for (let i = 0; i < 3; i++) expect((await attempt(password)).statusCode).not.toBe(429)
    const refused = []
    for (let i = 0; i < 7; i++) refused.push((await attempt('wrong password!')).statusCode)
    expect(refused).toEqual([200, 200, 200, 200, 200, 429, 429])
  })

  /** The login page of a fresh sign-in in `browser`, and a way to post its form. */
  async function loginForm(browser: Browser) {
    const client = await createOidcClient(t.app)
    const { challenge } = pkcePair()
    const page = await browser.get(
      authorizeUrl({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }),
    )
    const interaction = interactionOf(page.body)
    return (email: string, password: string) => browser.post('/oauth/login', { interaction, email, password })
  }

  /** What a person sees once the limits refuse a sign-in: a page of tollgate's, not the API's JSON. */
  function expectRateLimitedPage(response: Awaited<ReturnType<Browser['post']>>) {
    expect(response.statusCode).toBe(429)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    const retryAfter = Number(response.headers['retry-after'])
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(response.body).toMatch(/^<!doctype html>/)
    expect(response.body).toContain('<h1 id="title">Too many sign-in attempts</h1>')
    const minutes = Math.ceil(retryAfter / 60)
    expect(response.body).toContain(retryAfter < 60 ? `try again in ${retryAfter} second` : `try again in ${minutes} minute`)
    expect(response.body).not.toContain('RATE_LIMIT_ENABLED')
  }

  it('answers a refused sign-in with an HTML page saying how long to wait, 429 and Retry-After (the account and address counter)', async () => {
    const browser = new Browser(t.app, undefined, `${freshNetwork()}.1`)
    const attempt = await loginForm(browser)
    const { email } = await register(t.app)
    for (let i = 0; i < 5; i++) expect((await attempt(email, 'wrong password!')).statusCode).toBe(200)
    expectRateLimitedPage(await attempt(email, 'wrong password!'))
  })

  it('does the same when the address counter refuses it before the form is read', async () => {
    const browser = new Browser(t.app, undefined, `${freshNetwork()}.1`)
    const attempt = await loginForm(browser)
    // 20 failures from one address (RATE_LIMIT_LOGIN_PER_IP), 4 per account to stay under the account's own limit.
    const emails = await Promise.all(Array.from({ length: 5 }, async () => (await register(t.app)).email))
    for (const email of emails) for (let i = 0; i < 4; i++) expect((await attempt(email, 'wrong password!')).statusCode).toBe(200)
    const { email, password } = await register(t.app)
    expectRateLimitedPage(await attempt(email, password))
  })
})

describe('POST /v1/auth/password with a stolen access token', () => {
  const changePassword = (authorization: string, currentPassword: string, ip: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: { authorization },
      payload: { currentPassword, newPassword: 'a brand new passphrase' },
      remoteAddress: ip,
    })

  it('wrong current passwords spend the account\'s login budget, from any address, and are security events', async () => {
    const network = freshNetwork()
    const victim = await registerAndLogin(t.app)
    for (let i = 0; i < 4; i++) expect((await login(victim.email, 'wrong password!', `${network}.${100 + i}`)).statusCode).toBe(401)
    const statuses = []
    for (let i = 0; i < 12; i++) statuses.push((await changePassword(victim.authorization, `guess number ${i}`, `${network}.${i % 5}`)).statusCode)
    expect(statuses.slice(0, 6)).toEqual(Array(6).fill(401))
    expect(statuses.slice(6)).toEqual(Array(6).fill(429))
    // The same budget: a login now is refused too, even with the right password.
    expect((await login(victim.email, GOOD_PASSWORD, `${network}.200`)).statusCode).toBe(429)
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: victim.userId, type: 'password_change_failed' } })
    expect(events).toHaveLength(6)
    expect(events[0]).toMatchObject({ sessionId: victim.sessionId })
  })

  it('parallel guesses cannot get past the account budget either', async () => {
    const network = freshNetwork()
    const victim = await registerAndLogin(t.app)
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => changePassword(victim.authorization, `guess number ${i}`, `${network}.${i + 1}`)))
    expect(answers.filter((answer) => answer.statusCode === 401)).toHaveLength(10)
    expect(answers.filter((answer) => answer.statusCode === 429)).toHaveLength(20)
  })

  it('a successful change does not spend the budget', async () => {
    const ip = `${freshNetwork()}.1`
    const victim = await registerAndLogin(t.app)
    for (let i = 0; i < 9; i++) expect((await login(victim.email, 'wrong password!', `${freshNetwork()}.1`)).statusCode).toBe(401)
    expect((await changePassword(victim.authorization, GOOD_PASSWORD, ip)).statusCode).toBe(204)
    expect((await login(victim.email, 'a brand new passphrase', ip)).statusCode).toBe(200)
  })
})

describe('/oauth/* client authentication', () => {
  const token = (fields: Record<string, string>, ip: string, authorization?: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, ...(authorization ? { authorization } : {}) }, payload: form(fields), remoteAddress: ip })

  it('a stranger\'s wrong-secret flood does not lock the real client out, and is itself stopped per address', async () => {
    const client = await createClient(t.app, { grantTypes: ['client_credentials'] })
    const flooder = `${freshNetwork()}.66`
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        token({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: `wrong-${i}` }, flooder),
      ),
    )
    const statuses = flood.map((answer) => answer.statusCode)
    expect(statuses.filter((status) => status === 401)).toHaveLength(10)
    expect(statuses.filter((status) => status === 429)).toHaveLength(50)

    const real = `${freshNetwork()}.7`
    for (let i = 0; i < 15; i++) {
      const answer = await token({ grant_type: 'client_credentials' }, real, client.authorization)
      expect(answer.statusCode, `real client request ${i}`).toBe(200)
    }
  })

  it('the client\'s own budget still applies to the client that knows its secret', async () => {
    const client = await createClient(t.app, { grantTypes: ['client_credentials'] })
    const ip = `${freshNetwork()}.7`
    for (let i = 0; i < 20; i++) expect((await token({ grant_type: 'client_credentials' }, ip, client.authorization)).statusCode).toBe(200)
    expect((await token({ grant_type: 'client_credentials' }, ip, client.authorization)).statusCode).toBe(429)
  })

  it('wrong secrets at /oauth/introspect and /oauth/revoke are counted per address too', async () => {
    const client = await createClient(t.app)
    const ip = `${freshNetwork()}.9`
    const statuses = []
    for (let i = 0; i < 12; i++) {
      const url = i % 2 === 0 ? '/oauth/introspect' : '/oauth/revoke'
      const answer = await t.app.inject({ method: 'POST', url, headers: FORM, payload: form({ token: 'x', client_id: client.clientId, client_secret: `wrong-${i}` }), remoteAddress: ip })
      statuses.push(answer.statusCode)
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401))
    expect(statuses.slice(10)).toEqual([429, 429])
  })
})
