import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOAuthClientsRepository } from '../../../src/repositories/oauth-clients.js'
import { createOAuthClientService } from '../../../src/services/oauth/clients.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { createClient, postForm } from './helpers.js'

describe('the OAuth client cache (OAUTH_CLIENT_CACHE_SECONDS)', () => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp({ OAUTH_CLIENT_CACHE_SECONDS: '5' })
  })
  afterAll(async () => t?.close())

  const token = (authorization: string) => postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization })

  it('a client deleted through this instance is refused at once, even while cached', async () => {
    const client = await createClient(t.app)
    expect((await token(client.authorization)).statusCode).toBe(200)
    expect((await token(client.authorization)).statusCode).toBe(200)
    expect(await t.app.oauth.clients.delete(client.clientId)).toBe(true)
    const refused = await token(client.authorization)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error).toBe('invalid_client')
  })

  it('a client deleted elsewhere is refused once its cache entry is older than the cache lifetime', async () => {
    let now = new Date('2030-01-01T00:00:00Z')
    const services = (cacheSeconds: number) =>
      createOAuthClientService({
        clients: createOAuthClientsRepository(t.app.db.prisma),
        secretKeys: t.app.secrets('client-secret-hmac'),
        firstPartyClientId: t.config.FIRST_PARTY_CLIENT_ID,
        clock: () => now,
        cacheSeconds,
      })
    const here = services(5)
    const elsewhere = services(0)
    const { client, clientSecret } = await elsewhere.create({ name: 'cached', scopes: ['orders:read'] })
    const credentials = { method: 'client_secret_basic', clientId: client.clientId, clientSecret } as const
    const authenticate = () => here.authenticate(credentials, { allowPublic: false })

    await expect(authenticate()).resolves.toMatchObject({ clientId: client.clientId })
    expect(await elsewhere.delete(client.clientId)).toBe(true)
    now = new Date(now.getTime() + 4_999)
    await expect(authenticate()).resolves.toMatchObject({ clientId: client.clientId })
    expect(await here.isActive(client.clientId)).toBe(true)
    now = new Date(now.getTime() + 1)
    await expect(authenticate()).rejects.toMatchObject({ error: 'invalid_client' })
    expect(await here.isActive(client.clientId)).toBe(false)
  })

  it('never keeps a wrong secret: the cached client still checks every secret', async () => {
    const client = await createClient(t.app)
    expect((await token(client.authorization)).statusCode).toBe(200)
    const wrong = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'wrong' })
    expect(wrong.statusCode).toBe(401)
  })
})
