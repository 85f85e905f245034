import { describe, expect, it } from 'vitest'
import { usableCredentials } from '../../../src/domain/oauth/client-auth.js'
import { OAuthError } from '../../../src/errors.js'
import { bearerChallenge, clientCredentialsOf, parseBasicCredentials } from '../../../src/http/authorization.js'

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')

function errorOf(run: () => unknown): OAuthError {
  try {
    run()
  } catch (error) {
    if (error instanceof OAuthError) return error
    throw error
  }
  throw new Error('expected an OAuthError')
}

describe('parseBasicCredentials (RFC 6749 §2.3.1)', () => {
  it('reads a plain id and secret', () => {
    expect(parseBasicCredentials(basic('abc', 's3cret'))).toEqual({ clientId: 'abc', clientSecret: 's3cret' })
  })

  it('form-urldecodes both parts after base64, so a colon, a plus or a space survives', () => {
    const header = basic(formEncode('id:with space'), formEncode('a+b:c d%'))
    expect(parseBasicCredentials(header)).toEqual({ clientId: 'id:with space', clientSecret: 'a+b:c d%' })
  })

  it('accepts the scheme in any case', () => {
    expect(parseBasicCredentials(basic('abc', 'x').replace('Basic', 'bAsIc'))?.clientId).toBe('abc')
  })

  it.each([
    ['another scheme', 'Bearer abc.def.ghi'],
    ['no credentials', 'Basic '],
    ['not base64', 'Basic !!!!'],
    ['no colon', `Basic ${Buffer.from('just-an-id').toString('base64')}`],
    ['an empty id', basic('', 'secret')],
    ['an empty secret', basic('id', '')],
    ['a bad percent-escape', basic('id', '%E0%A4%A')],
    ['a NUL in the id', `Basic ${Buffer.from('\u0000:secret').toString('base64')}`],
    ['a control character in the secret', `Basic ${Buffer.from('id:se%0Acret').toString('base64')}`],
  ])('refuses %s: the client is malformed, and invalid_client', (_case, header) => {
    expect(parseBasicCredentials(header)).toBeUndefined()
    const credentials = clientCredentialsOf(header, {})
    expect(credentials.method).toBe('malformed')
    const error = errorOf(() => usableCredentials(credentials))
    expect(error.error).toBe('invalid_client')
    expect(error.status).toBe(401)
  })
})

describe('clientCredentialsOf', () => {
  it('HTTP Basic is client_secret_basic', () => {
    expect(clientCredentialsOf(basic('id', 'secret'), {})).toEqual({ method: 'client_secret_basic', clientId: 'id', clientSecret: 'secret' })
  })

  it('Basic with the same client_id in the body is still client_secret_basic', () => {
    expect(clientCredentialsOf(basic('id', 'secret'), { client_id: 'id' }).method).toBe('client_secret_basic')
  })

  it('client_id and client_secret in the body are client_secret_post', () => {
    expect(clientCredentialsOf(undefined, { client_id: 'id', client_secret: 'secret' })).toEqual({
      method: 'client_secret_post',
      clientId: 'id',
      clientSecret: 'secret',
    })
  })

  it('client_id alone is a public client', () => {
    expect(clientCredentialsOf(undefined, { client_id: 'tollgate-web' })).toEqual({ method: 'none', clientId: 'tollgate-web' })
  })

  it.each([
    ['nothing', {}],
    ['empty fields', { client_id: '', client_secret: '' }],
  ])('%s is absent', (_case, params) => {
    expect(clientCredentialsOf(undefined, params)).toEqual({ method: 'absent' })
  })

  it.each([
    ['Basic and client_secret together', basic('id', 'secret'), { client_secret: 'secret' }],
    ['Basic and a different client_id', basic('id', 'secret'), { client_id: 'other' }],
    ['client_secret without client_id', undefined, { client_secret: 'secret' }],
  ])('%s is invalid_request', (_case, header, params) => {
    expect(errorOf(() => usableCredentials(clientCredentialsOf(header, params))).error).toBe('invalid_request')
  })
})

describe('bearerChallenge (RFC 6750 §3)', () => {
  it('names the realm, and the error with its description and scope when there is one', () => {
    expect(bearerChallenge()).toBe('Bearer realm="tollgate"')
    expect(bearerChallenge({ code: 'insufficient_scope', description: 'needs "cart"', scope: 'cart' })).toBe(
      'Bearer realm="tollgate", error="insufficient_scope", error_description="needs cart", scope="cart"',
    )
  })
})
