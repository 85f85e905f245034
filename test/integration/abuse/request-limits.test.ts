import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'

/**
 * The limits openapi.yaml states on request strings (maxLength, pattern, format: checked by
 * `npm run openapi:security`) are the ones validation enforces: past them, a clear 400 naming the
 * field, in the shape of the route. The strings documented as x-unrestricted are the exceptions,
 * answered as the RFCs and the contract say.
 */
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const json = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, payload, headers })
const form = (url: string, fields: Record<string, string>) =>
  t.app.inject({ method: 'POST', url, payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })

describe('request strings past their documented limits', () => {
  it.each([
    { name: 'an email over its length', send: () => json('/v1/auth/register', { email: `${'a'.repeat(300)}@example.com`, password: 'correct horse battery staple' }), field: 'email' },
    { name: 'an email with a control character', send: () => json('/v1/auth/login', { email: 'ada\u0007@example.com', password: 'x' }), field: 'email' },
    { name: 'a display name with a line break', send: () => json('/v1/auth/register', { email: 'grace@example.com', password: 'correct horse battery staple', name: 'Grace\nHopper' }), field: 'name' },
    { name: 'a password over 256 characters', send: () => json('/v1/auth/login', { email: 'ada@example.com', password: 'x'.repeat(257) }), field: 'password' },
    { name: 'a malformed If-None-Match', send: () => t.app.inject({ url: '/.well-known/jwks.json', headers: { 'if-none-match': 'not-an-etag' } }), field: 'if-none-match' },
  ])('/v1 and discovery: $name is 400 validation_failed', async ({ send, field }) => {
    const response = await send()
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'validation_failed' })
    expect(response.json().detail).toContain(field)
  })

  it.each<{ name: string; fields: Record<string, string> }>([
    { name: 'a client_id outside VSCHAR', fields: { grant_type: 'client_credentials', client_id: 'client\u0001', client_secret: 's' } },
    { name: 'a code_verifier over 4096 characters', fields: { grant_type: 'authorization_code', code: 'c', code_verifier: 'v'.repeat(4097), client_id: 'c' } },
    { name: 'a redirect_uri that is no URI reference', fields: { grant_type: 'authorization_code', code: 'c', redirect_uri: 'http://exa mple.com/\u0000', client_id: 'c' } },
  ])('/oauth/token: $name is 400 invalid_request', async ({ fields }) => {
    const response = await form('/oauth/token', fields)
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ error: 'invalid_request' })
  })
})

describe('request strings documented as x-unrestricted', () => {
  it('a refresh token of any length or shape is 401 invalid_grant, never a validation error', async () => {
    for (const refreshToken of ['x'.repeat(10_000), 'ä ö\t"', 'eyJhbGciOiJub25lIn0.e30.']) {
      const response = await json('/v1/auth/refresh', { refresh_token: refreshToken })
      expect(response.statusCode, refreshToken.slice(0, 20)).toBe(401)
      expect(response.json().code).toBe('invalid_grant')
    }
  })

  it('revoking a string that is no token, whatever its characters, is 200 (RFC 7009)', async () => {
    const response = await form('/oauth/revoke', { token: 'ä ö\t"', client_id: 'tollgate-web' })
    expect(response.statusCode).toBe(200)
  })

  it('a session id that is not a uuid is 404, like any id that is not yours', async () => {
    const { email, password } = await register(t.app)
    const session = await login(t.app, { email, password })
    const response = await t.app.inject({ method: 'DELETE', url: '/v1/auth/sessions/not-a-uuid', headers: { authorization: session.authorization } })
    expect(response.statusCode).toBe(404)
  })
})
