import { describe, expect, it, vi } from 'vitest'
import type { AuthenticatedClient } from '../../../../src/domain/oauth/grants.js'
import type { Grant } from '../../../../src/services/oauth/grants/index.js'
import { OAuthError } from '../../../../src/errors.js'
import { clientCredentialsOf } from '../../../../src/http/authorization.js'
import { createOAuthTokenService } from '../../../../src/services/oauth/token.js'

const client: AuthenticatedClient = { clientId: 'c1', public: false, grantTypes: ['client_credentials'], scopes: ['a'], audience: null, dpopBoundAccessTokens: false, idTokenSigningAlg: null }
const response = { access_token: 'at', token_type: 'Bearer' as const, expires_in: 600, scope: 'a' }

function setup() {
  const authenticate = vi.fn(async () => client)
  const grant = (allowsPublicClients: boolean): Grant => ({ allowsPublicClients, handle: vi.fn(async () => response) })
  const grants = { authorization_code: grant(true), client_credentials: grant(false), refresh_token: grant(true) }
  const metrics = { issued: vi.fn(), refused: vi.fn() }
  const service = createOAuthTokenService({ clients: { authenticate }, grants, metrics, dpop: { check: async () => undefined } })
  const exchange = (params: Record<string, string>, authorization?: string) => service.exchange({ credentials: clientCredentialsOf(authorization, params), params, dpop: { proof: undefined, method: 'POST', path: '/oauth/token' }, ip: '127.0.0.1', userAgent: null })
  return { authenticate, grants, metrics, exchange }
}

async function errorOf(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OAuthError) return error
    throw error
  }
  throw new Error('expected an OAuthError')
}

describe('the token service', () => {
  it.each([
    ['client_credentials', false],
    ['refresh_token', true],
  ] as const)('dispatches %s to its grant, authenticating the client as that grant requires', async (grantType, allowPublic) => {
    const { authenticate, grants, metrics, exchange } = setup()
    expect(await exchange({ grant_type: grantType, client_id: 'c1', client_secret: 's' })).toBe(response)
    expect(authenticate).toHaveBeenCalledWith({ method: 'client_secret_post', clientId: 'c1', clientSecret: 's' }, { allowPublic })
    expect(grants[grantType].handle).toHaveBeenCalledWith(expect.objectContaining({ client, ip: '127.0.0.1' }))
    expect(metrics.issued).toHaveBeenCalledWith(grantType)
  })

  it.each([
    ['no grant_type', {}, 'invalid_request'],
    ['the password grant', { grant_type: 'password' }, 'unsupported_grant_type'],
    ['an unknown grant', { grant_type: 'magic' }, 'unsupported_grant_type'],
  ])('refuses %s before looking at the client', async (_case, params: Record<string, string>, code) => {
    const { authenticate, metrics, exchange } = setup()
    expect((await errorOf(exchange(params, 'Basic !!'))).error).toBe(code)
    expect(authenticate).not.toHaveBeenCalled()
    expect(metrics.refused).toHaveBeenCalledWith('other', code)
  })
})
