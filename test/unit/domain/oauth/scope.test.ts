import { describe, expect, it } from 'vitest'
import { grantedScopes, isScopeToken } from '../../../../src/domain/oauth/scope.js'
import { OAuthError } from '../../../../src/errors.js'

describe('grantedScopes', () => {
  const allowed = ['orders:read', 'orders:write', 'cart']

  it.each([
    [undefined, allowed],
    ['', allowed],
    ['   ', allowed],
    ['orders:read', ['orders:read']],
    ['cart  orders:read cart', ['cart', 'orders:read']],
  ])('requested %j gets %j', (requested, expected) => {
    expect(grantedScopes(requested, allowed)).toEqual(expected)
  })

  it.each([
    ['a scope the client lacks', 'orders:read admin'],
    ['a malformed scope', 'cart "quoted"'],
    ['a backslash', 'ca\\rt'],
  ])('%s is invalid_scope', (_case, requested) => {
    expect(() => grantedScopes(requested, allowed)).toThrow(OAuthError)
    try {
      grantedScopes(requested, allowed)
    } catch (error) {
      expect((error as OAuthError).error).toBe('invalid_scope')
    }
  })
})

describe('isScopeToken (RFC 6749 §3.3)', () => {
  it.each(['cart', 'orders:read', 'https://api.example/x', '!#[]~'])('%s is a scope token', (value) => {
    expect(isScopeToken(value)).toBe(true)
  })
  it.each(['', 'two words', 'quote"', 'back\\slash', 'tab\t', 'é'])('%j is not', (value) => {
    expect(isScopeToken(value)).toBe(false)
  })
})
