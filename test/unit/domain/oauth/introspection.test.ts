import { describe, expect, it } from 'vitest'
import { isMeantFor } from '../../../../src/domain/oauth/introspection.js'

describe('isMeantFor', () => {
  const ordersApi = { clientId: 'orders-rs', audience: 'orders-api' }
  it.each([
    ['a token the client obtained', { client_id: 'orders-rs', aud: 'elsewhere' }, true],
    ['a token for the client\'s audience', { client_id: 'batch', aud: 'orders-api' }, true],
    ['a token naming the client\'s id', { client_id: 'batch', aud: 'orders-rs' }, true],
    ['one of several audiences', { client_id: 'batch', aud: ['billing-api', 'orders-api'] }, true],
    ['another audience', { client_id: 'batch', aud: 'billing-api' }, false],
    ['a refresh token of another client (no aud)', { client_id: 'tollgate-web' }, false],
  ] as const)('%s: %s', (_name, token, expected) => {
    expect(isMeantFor(token, ordersApi)).toBe(expected)
  })

  it('a client without an audience only by its id', () => {
    expect(isMeantFor({ client_id: 'batch', aud: 'tollgate' }, { clientId: 'x', audience: null })).toBe(false)
    expect(isMeantFor({ client_id: 'batch', aud: 'x' }, { clientId: 'x', audience: null })).toBe(true)
  })
})
