import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const post = (url: string, email: string, password = GOOD_PASSWORD) => t.app.inject({ method: 'POST', url, payload: { email, password } })
const unique = () => Math.random().toString(36).slice(2, 10)

describe('look-alike emails', () => {
  it('café typed precomposed or decomposed is one account', async () => {
    const id = unique()
    const precomposed = `caf\u00e9-${id}@example.test`
    const decomposed = `cafe\u0301-${id}@example.test`
    expect((await post('/v1/auth/register', precomposed)).statusCode).toBe(201)
    const second = await post('/v1/auth/register', decomposed)
    expect(second.statusCode).toBe(409)
    expect(second.json().code).toBe('email_taken')
    expect((await post('/v1/auth/login', decomposed)).statusCode).toBe(200)
    expect((await post('/v1/auth/login', precomposed.toUpperCase())).statusCode).toBe(200)
  })

  it.each([
    ['a zero-width space', '\u200b'],
    ['a zero-width joiner', '\u200d'],
    ['a right-to-left override', '\u202e'],
    ['a soft hyphen', '\u00ad'],
    ['a Hangul filler', '\u3164'],
    ['a no-break space', '\u00a0'],
    ['a control character', '\u0007'],
    ['a word joiner', '\u2060'],
  ])('refuses %s with 400, at registration and at login, instead of a second account', async (_name, character) => {
    const id = unique()
    const visible = `ada-${id}@example.test`
    const disguised = `ada${character}-${id}@example.test`
    expect((await post('/v1/auth/register', visible)).statusCode).toBe(201)
    for (const url of ['/v1/auth/register', '/v1/auth/login']) {
      const response = await post(url, disguised)
      expect(response.statusCode, url).toBe(400)
      expect(response.json().code).toBe('validation_failed')
    }
    expect(await t.app.db.prisma.user.count({ where: { email: { contains: id } } })).toBe(1)
  })
})
