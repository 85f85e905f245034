import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const registerRequest = (payload: unknown) => t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: payload as Record<string, unknown> })

describe('POST /v1/auth/register', () => {
  it('creates an account: 201 with id, normalised email, name and createdAt, and never the password', async () => {
    const local = `Ada-${Date.now()}`
    const response = await registerRequest({ email: `  ${local}@Example.COM `, password: GOOD_PASSWORD, name: '  Ada Lovelace ' })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'email', 'id', 'name'])
    expect(body).toMatchObject({ email: `${local.toLowerCase()}@example.com`, name: 'Ada Lovelace' })
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt)
    expect(response.body).not.toContain(GOOD_PASSWORD)
  })

  it.each([
    ['absent', {}],
    ['null', { name: null }],
    ['blank', { name: '   ' }],
  ])('name is null when %s', async (_name, extra) => {
    const response = await registerRequest({ email: uniqueEmail(), password: GOOD_PASSWORD, ...extra })
    expect(response.statusCode).toBe(201)
    expect(response.json().name).toBeNull()
  })

  it('stores an argon2id hash, never the password', async () => {
    const email = uniqueEmail()
    await registerRequest({ email, password: GOOD_PASSWORD })
    const row = await t.app.db.prisma.user.findUniqueOrThrow({ where: { email } })
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    expect(row.passwordHash).not.toContain(GOOD_PASSWORD)
  })

  it('answers 409 email_taken for an existing email in any case or spacing', async () => {
    const email = uniqueEmail('taken')
    expect((await registerRequest({ email, password: GOOD_PASSWORD })).statusCode).toBe(201)
    for (const variant of [email, email.toUpperCase(), `  ${email} `]) {
      const response = await registerRequest({ email: variant, password: 'another good passphrase' })
      expect(response.statusCode).toBe(409)
      expect(response.headers['content-type']).toContain('application/problem+json')
      expect(response.json().code).toBe('email_taken')
    }
  })

  it('lets exactly one of many concurrent registrations of one email win; the others get 409', async () => {
    const email = uniqueEmail('race')
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => registerRequest({ email: i % 2 ? email : email.toUpperCase(), password: GOOD_PASSWORD })),
    )
    expect(responses.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409])
    for (const response of responses.filter((r) => r.statusCode === 409)) expect(response.json().code).toBe('email_taken')
    expect(await t.app.db.prisma.user.count({ where: { email } })).toBe(1)
  })

  it.each([
    ['no email', { password: GOOD_PASSWORD }],
    ['no password', { email: uniqueEmail() }],
    ['an email that is not one', { email: 'not-an-email', password: GOOD_PASSWORD }],
    ['an email without a domain dot', { email: 'ada@localhost', password: GOOD_PASSWORD }],
    ['an email of only spaces', { email: '   ', password: GOOD_PASSWORD }],
    ['an email over 254 characters', { email: `${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example.com`, password: GOOD_PASSWORD }],
    ['an email that is a number', { email: 42, password: GOOD_PASSWORD }],
    ['a password that is a number', { email: uniqueEmail(), password: 12345678 }],
    ['a password over 256 characters', { email: uniqueEmail(), password: 'x7'.repeat(129) }],
    ['a name over 100 characters', { email: uniqueEmail(), password: GOOD_PASSWORD, name: 'n'.repeat(101) }],
  ])('answers 400 validation_failed for %s, and creates nothing', async (_name, payload) => {
    const before = await t.app.db.prisma.user.count()
    const response = await registerRequest(payload)
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
    expect(await t.app.db.prisma.user.count()).toBe(before)
  })

  it.each([
    ['7 characters', 'x7!kQz0'],
    ['a common password', 'password'],
    ['a common password in capitals', 'SUNSHINE'],
    ['a common password of digits', '12345678'],
    ['another common one', 'iloveyou'],
  ])('answers 400 weak_password for %s, and creates nothing', async (_name, password) => {
    const email = uniqueEmail()
    const response = await registerRequest({ email, password })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('weak_password')
    expect(await t.app.db.prisma.user.count({ where: { email } })).toBe(0)
  })

  it('accepts 8 and 256 characters', async () => {
    for (const password of ['x7!kQz0#', 'x7'.repeat(128)]) {
      expect((await registerRequest({ email: uniqueEmail(), password })).statusCode).toBe(201)
    }
  })
})
