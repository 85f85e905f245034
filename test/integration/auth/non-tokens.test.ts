import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, registerAndLogin } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

describe('anything presented as a refresh token that is not a live one', () => {
  it('is 401 invalid_grant when it is a real access token of the same session', async () => {
    const session = await registerAndLogin(t.app)
    const response = await refresh(t.app, session.accessToken)
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_grant')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /)
  })

  it.each([
    ['an empty string (and no cookie)', ''],
    ['garbage of 513 characters', 'x'.repeat(513)],
    ['garbage of 10,000 characters', 'A'.repeat(10_000)],
    ['a string of spaces and symbols', ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ '],
  ])('is 401 invalid_grant for %s, never a validation error', async (_name, token) => {
    const response = await refresh(t.app, token)
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_grant')
  })
})
