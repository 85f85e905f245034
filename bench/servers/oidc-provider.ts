import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import LRU from 'oidc-provider/lib/helpers/lru.js'
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'
import type { LoadRequest } from '../lib/load.js'
import type { BenchServer } from '../lib/server.js'
import { createSingleUseSizer } from '../lib/single-use.js'

const RESOURCE = 'urn:tollgate:bench'
const CC_CLIENT = { id: 'bench-service', secret: 'bench-service-secret-0123456789abcdef' }
const PUBLIC_CLIENT = 'bench-web'
/** Chains per connection and run: one for the warm-up, one for the run, spares. */
const CHAINS_PER_CONNECTION = 3
const REDIRECT_URI = 'http://127.0.0.1/callback'
const CODE_VERIFIER = randomBytes(32).toString('base64url')
const CODE_CHALLENGE = createHash('sha256').update(CODE_VERIFIER).digest('base64url')

/**
 * oidc-provider (the reference OAuth server in Node) with its default in-memory adapter, set up
 * to do what tollgate does: EdDSA-signed JWT access tokens for a resource server (RFC 9068), a
 * confidential client for client_credentials, and a public client whose refresh tokens rotate
 * on every use. Refresh tokens and authorization codes are minted through its models (a grant and
 * a refresh token, as its authorization-code exchange would create them; a grant and a code with a
 * PKCE challenge, as its authorization endpoint would) rather than by driving a browser flow.
 *
 * The in-memory adapter is the default one, with one change: its store holds a million entries
 * instead of a thousand. At a thousand, a few seconds of rotations evict the grants of chains
 * waiting for the next run, and every refresh of theirs is invalid_grant.
 */
export async function start(): Promise<BenchServer> {
  const store = new LRU({ maxSize: 1_000_000 })
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'EdDSA', use: 'sig' }

  const provider = new Provider('http://127.0.0.1', {
    adapter: (model: string) => new MemoryAdapter(model, store),
    jwks: { keys: [jwk] },
    clients: [
      {
        client_id: CC_CLIENT.id,
        client_secret: CC_CLIENT.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'cart',
      },
      {
        client_id: PUBLIC_CLIENT,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        scope: 'openid offline_access cart',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'EdDSA' },
    scopes: ['openid', 'offline_access', 'cart'],
    findAccount: async (_ctx: unknown, accountId: string) => ({ accountId, claims: async () => ({ sub: accountId }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'cart', audience: 'tollgate', accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'EdDSA' } } }),
      },
    },
    rotateRefreshToken: true,
    ttl: { RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600, ClientCredentials: 600, AccessToken: 600 },
  })
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error))

  const server = createServer(provider.callback())
  server.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = await provider.Client.find(PUBLIC_CLIENT)

  async function refreshToken(): Promise<string> {
    const accountId = randomUUID()
    const grant = new provider.Grant({ accountId, clientId: PUBLIC_CLIENT })
    grant.addOIDCScope('offline_access')
    grant.addResourceScope(RESOURCE, 'cart')
    const grantId = await grant.save()
    const token = new provider.RefreshToken({
      accountId,
      grantId,
      client,
      gty: 'authorization_code',
      scope: 'offline_access cart',
      resource: RESOURCE,
      authTime: Math.floor(Date.now() / 1000),
      expiresWithSession: false,
    })
    return token.save()
  }

  /** A code as its authorization endpoint issues it after a sign-in and consent: openid, offline_access and the resource's scope. */
  async function authorizationCode(): Promise<string> {
    const accountId = randomUUID()
    const grant = new provider.Grant({ accountId, clientId: PUBLIC_CLIENT })
    grant.addOIDCScope('openid offline_access')
    grant.addResourceScope(RESOURCE, 'cart')
    const grantId = await grant.save()
    const code = new provider.AuthorizationCode({
      accountId,
      grantId,
      client,
      scope: 'openid offline_access cart',
      resource: RESOURCE,
      redirectUri: REDIRECT_URI,
      codeChallenge: CODE_CHALLENGE,
      codeChallengeMethod: 'S256',
      authTime: Math.floor(Date.now() / 1000),
    })
    return code.save()
  }
  const codes = createSingleUseSizer(2000)

  return {
    url,
    async prepare(caseName, { connections, seconds }): Promise<LoadRequest> {
      if (caseName === 'oidc-code') {
        const values: string[] = []
        for (let i = codes.count(seconds); i > 0; i--) values.push(await authorizationCode())
        return {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          consume: {
            values,
            body: `grant_type=authorization_code&client_id=${PUBLIC_CLIENT}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}&code={value}`,
          },
        }
      }
      if (caseName === 'oidc-cc') {
        return {
          method: 'POST',
          path: '/token',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${CC_CLIENT.id}:${CC_CLIENT.secret}`).toString('base64')}`,
          },
          body: 'grant_type=client_credentials&scope=cart',
        }
      }
      const tokens = await Promise.all(Array.from({ length: connections * CHAINS_PER_CONNECTION }, refreshToken))
      return {
        method: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        chain: { tokens, body: `grant_type=refresh_token&client_id=${PUBLIC_CLIENT}&refresh_token={token}`, field: 'refresh_token' },
      }
    },
    async afterRun(caseName, result) {
      if (caseName === 'oidc-code') codes.observe(result)
      return {}
    },
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
