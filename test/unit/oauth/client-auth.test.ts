import { describe, expect, it } from 'vitest'
import { parseBasicAuthorization, readClientCredentials } from '../../../src/domain/oauth/client-auth.js'
import { OAuthError } from '../../../src/errors.js'

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

describe('parseBasicAuthorization (RFC 6749 §2.3.1)', () => {
  it('reads a plain id and secret', () => {
    expect(parseBasicAuthorization(basic('abc', 's3cret'))).toEqual({ clientId: 'abc', clientSecret: 's3cret' })
  })

  it('form-urldecodes both parts after base64, so a colon, a plus or a space survives', () => {
    const header = basic(formEncode('id:with space'), formEncode('a+b:c d%'))
    expect(parseBasicAuthorization(header)).toEqual({ clientId: 'id:with space', clientSecret: 'a+b:c d%' })
  })

  it('accepts the scheme in any case', () => {
    expect(parseBasicAuthorization(basic('abc', 'x').replace('Basic', 'bAsIc')).clientId).toBe('abc')
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
  ])('refuses %s as invalid_client with a Basic challenge', (_case, header) => {
    const error = errorOf(() => parseBasicAuthorization(header))
    expect(error.error).toBe('invalid_client')
    expect(error.status).toBe(401)
    expect(error.headers['www-authenticate']).toBe('Basic realm="tollgate"')
  })
})

describe('readClientCredentials', () => {
  it('HTTP Basic is client_secret_basic', () => {
    expect(readClientCredentials(basic('id', 'secret'), {})).toEqual({ method: 'client_secret_basic', clientId: 'id', clientSecret: 'secret' })
  })

  it('Basic with the same client_id in the body is still client_secret_basic', () => {
    expect(readClientCredentials(basic('id', 'secret'), { client_id: 'id' }).method).toBe('client_secret_basic')
  })

  it('client_id and client_secret in the body are client_secret_post', () => {
    expect(readClientCredentials(undefined, { client_id: 'id', client_secret: 'secret' })).toEqual({
      method: 'client_secret_post',
      clientId: 'id',
      clientSecret: 'secret',
    })
  })

  it('client_id alone is a public client', () => {
    expect(readClientCredentials(undefined, { client_id: 'tollgate-web' })).toEqual({ method: 'none', clientId: 'tollgate-web' })
  })

  it.each([
    ['nothing', {}],
    ['empty fields', { client_id: '', client_secret: '' }],
  ])('%s is absent', (_case, params) => {
    expect(readClientCredentials(undefined, params)).toEqual({ method: 'absent' })
  })

  it.each([
    ['Basic and client_secret together', basic('id', 'secret'), { client_secret: 'secret' }],
    ['Basic and a different client_id', basic('id', 'secret'), { client_id: 'other' }],
    ['client_secret without client_id', undefined, { client_secret: 'secret' }],
  ])('%s is invalid_request', (_case, header, params) => {
    expect(errorOf(() => readClientCredentials(header, params)).error).toBe('invalid_request')
  })
})
