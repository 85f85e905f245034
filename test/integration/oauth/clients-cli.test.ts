import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientsCommand } from '../../../src/cli/clients.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { basicAuth, postForm } from './helpers.js'

describe('tollgate clients create|list|delete', () => {
  let t: TestApp

  beforeAll(async () => {
    // The CLI deletes behind the app's back: with no client cache the app sees it at once
    // (with one, within OAUTH_CLIENT_CACHE_SECONDS: see client-cache.test.ts).
    t = await buildTestApp({ OAUTH_CLIENT_CACHE_SECONDS: '0' })
  })
  afterAll(async () => t?.close())

  /** Runs the command against the test app's database and key-encryption key, as an operator would. */
  async function cli(...args: string[]) {
    let stdout = ''
    let stderr = ''
    const code = await clientsCommand(args, {
      env: {
        NODE_ENV: 'test',
        DATABASE_URL: t.database.url,
        KEY_ENCRYPTION_KEY: t.config.KEY_ENCRYPTION_KEY,
        MIGRATE_ON_START: 'false',
      },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    })
    return { code, stdout, stderr }
  }

  const tokenFor = (clientId: string, clientSecret: string, scope?: string) =>
    postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { authorization: basicAuth(clientId, clientSecret) })

  it('create --json prints the id and the secret once; the client can get tokens with them', async () => {
    const created = await cli('create', '--name', 'billing', '--scopes', 'invoices:read invoices:write', '--audience', 'billing-api', '--json')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    const { client_id: clientId, client_secret: clientSecret, ...rest } = JSON.parse(created.stdout)
    expect(rest).toEqual({})
    expect(clientId).toMatch(/^[0-9a-f]{32}$/)
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const res = await tokenFor(clientId, clientSecret, 'invoices:read')
    expect(res.statusCode).toBe(200)
    expect(res.json().scope).toBe('invoices:read')

    const listed = await cli('list', '--json')
    expect(listed.code).toBe(0)
    expect(listed.stdout).not.toContain(clientSecret)
    expect(JSON.parse(listed.stdout)).toContainEqual({
      client_id: clientId,
      name: 'billing',
      type: 'confidential',
      grant_types: ['client_credentials'],
      scopes: ['invoices:read', 'invoices:write'],
      audience: 'billing-api',
      redirect_uris: [],
      post_logout_redirect_uris: [],
      first_party: false,
      access_token_signing_alg: null,
      id_token_signed_response_alg: null,
      created_at: expect.any(String),
      deleted_at: null,
    })
  })

  it('create without --json explains that the secret is shown once', async () => {
    const created = await cli('create', '--name', 'reports', '--scopes', 'reports')
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/client_id: +[0-9a-f]{32}/)
    expect(created.stdout).toMatch(/client_secret: +[A-Za-z0-9_-]{43}/)
    expect(created.stdout).toMatch(/shown only this once/)
  })

  it('list prints a table of the clients, never a secret or its hash', async () => {
    const { stdout, code } = await cli('list')
    expect(code).toBe(0)
    expect(stdout.split('\n')[0]).toMatch(/^CLIENT_ID +NAME +TYPE +GRANTS +SCOPES +AUDIENCE +ALG +CREATED +STATUS$/)
    expect(stdout).toContain('billing')
    const hashes = (await t.app.db.prisma.oAuthClient.findMany()).flatMap((c) => (c.secretHash ? [c.secretHash] : []))
    for (const hash of hashes) expect(stdout).not.toContain(hash)
  })

  it('delete stops the client from authenticating; list --all still shows it', async () => {
    const { client_id: clientId, client_secret: clientSecret } = JSON.parse((await cli('create', '--name', 'temp', '--scopes', 'x', '--json')).stdout)
    expect((await tokenFor(clientId, clientSecret)).statusCode).toBe(200)

    expect(await cli('delete', clientId)).toMatchObject({ code: 0, stdout: `deleted client ${clientId}\n` })
    const refused = await tokenFor(clientId, clientSecret)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error).toBe('invalid_client')

    expect(JSON.parse((await cli('list', '--json')).stdout).map((c: { client_id: string }) => c.client_id)).not.toContain(clientId)
    const all = JSON.parse((await cli('list', '--all', '--json')).stdout) as { client_id: string; deleted_at: string | null }[]
    expect(all.find((c) => c.client_id === clientId)?.deleted_at).toEqual(expect.any(String))

    expect(await cli('delete', clientId)).toMatchObject({ code: 1, stderr: expect.stringContaining('no client') })
  })

  it('create --grants sets the allowed grants', async () => {
    const { client_id: clientId, client_secret: clientSecret } = JSON.parse(
      (await cli('create', '--name', 'refresher', '--scopes', 'x', '--grants', 'refresh_token', '--json')).stdout,
    )
    const res = await tokenFor(clientId, clientSecret)
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('unauthorized_client')
  })

  it('create --type public registers an OpenID Connect client with no secret, its redirect URIs and its settings', async () => {
    const created = await cli(
      'create', '--name', 'spa', '--type', 'public', '--scopes', 'openid profile email offline_access',
      '--redirect-uris', 'https://spa.example/callback http://127.0.0.1:8080/cb', '--post-logout-redirect-uris', 'https://spa.example/',
      '--audience', 'spa-api', '--first-party', '--json',
    )
    expect(created).toMatchObject({ code: 0, stderr: '' })
    const { client_id: clientId, ...rest } = JSON.parse(created.stdout)
    expect(rest).toEqual({})
    const listed = JSON.parse((await cli('list', '--json')).stdout) as Array<Record<string, unknown>>
    expect(listed.find((c) => c.client_id === clientId)).toMatchObject({
      type: 'public',
      grant_types: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      audience: 'spa-api',
      redirect_uris: ['https://spa.example/callback', 'http://127.0.0.1:8080/cb'],
      post_logout_redirect_uris: ['https://spa.example/'],
      first_party: true,
    })
    expect((await t.app.db.prisma.oAuthClient.findUnique({ where: { clientId } }))?.secretHash).toBeNull()
    // A public client identifies itself by client_id alone, and cannot use client_credentials.
    const refused = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', client_id: clientId })
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error).toBe('invalid_client')
  })

  it('create with --redirect-uris and no --type is a confidential web app: a secret, code and refresh grants', async () => {
    const created = await cli('create', '--name', 'web', '--scopes', 'openid', '--redirect-uris', 'https://web.example/cb')
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/created confidential client/)
    expect(created.stdout).toMatch(/client_secret: +[A-Za-z0-9_-]{43}/)
    expect(created.stdout).toMatch(/grants: +authorization_code refresh_token/)
    expect(created.stdout).toMatch(/consent: +asked of each user/)
  })

  it('create --alg registers the algorithm of the client\'s access tokens', async () => {
    const created = await cli('create', '--name', 'legacy', '--scopes', 'reports', '--alg', 'ES256', '--json')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    const { client_id: clientId, client_secret: clientSecret } = JSON.parse(created.stdout)
    const listed = JSON.parse((await cli('list', '--json')).stdout) as Array<Record<string, unknown>>
    expect(listed.find((c) => c.client_id === clientId)).toMatchObject({ access_token_signing_alg: 'ES256' })
    const res = await tokenFor(clientId, clientSecret)
    expect(JSON.parse(Buffer.from(res.json().access_token.split('.')[0], 'base64url').toString()).alg).toBe('ES256')
  })

  it('create --id-token-alg registers the algorithm of the client\'s ID tokens (id_token_signed_response_alg)', async () => {
    const created = await cli('create', '--name', 'oidc-app', '--scopes', 'openid', '--redirect-uris', 'https://oidc.example/cb', '--id-token-alg', 'ES256')
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/ID token alg: +ES256/)
    const clientId = /client_id: +([0-9a-f]{32})/.exec(created.stdout)![1]
    const listed = JSON.parse((await cli('list', '--json')).stdout) as Array<Record<string, unknown>>
    expect(listed.find((c) => c.client_id === clientId)).toMatchObject({ id_token_signed_response_alg: 'ES256', access_token_signing_alg: null })
  })

  it.each([
    ['no subcommand', [], 2],
    ['an unknown type', ['create', '--name', 'a', '--scopes', 'a', '--type', 'secret'], 2],
    ['a public client of client_credentials', ['create', '--name', 'a', '--scopes', 'a', '--type', 'public', '--grants', 'client_credentials'], 1],
    ['authorization_code without a redirect URI', ['create', '--name', 'a', '--scopes', 'a', '--grants', 'authorization_code'], 1],
    ['redirect URIs on a client_credentials client', ['create', '--name', 'a', '--scopes', 'a', '--grants', 'client_credentials', '--redirect-uris', 'https://a.example/cb'], 1],
    ['an http redirect URI off loopback', ['create', '--name', 'a', '--scopes', 'a', '--redirect-uris', 'http://a.example/cb'], 1],
    ['a redirect URI with a fragment', ['create', '--name', 'a', '--scopes', 'a', '--redirect-uris', 'https://a.example/cb#x'], 1],
    ['a post-logout URI with credentials', ['create', '--name', 'a', '--scopes', 'a', '--redirect-uris', 'https://a.example/cb', '--post-logout-redirect-uris', 'https://u:p@a.example/'], 1],
    ['an unknown subcommand', ['frobnicate'], 2],
    ['an unknown option', ['list', '--colour'], 2],
    ['create without --name', ['create', '--scopes', 'a'], 2],
    ['create without --scopes', ['create', '--name', 'a'], 2],
    ['delete without an id', ['delete'], 2],
    ['a malformed scope', ['create', '--name', 'a', '--scopes', 'ok "quoted"'], 1],
    ['an unsupported grant', ['create', '--name', 'a', '--scopes', 'a', '--grants', 'password'], 1],
    ['an algorithm SIGNING_ALGORITHMS does not list', ['create', '--name', 'a', '--scopes', 'a', '--alg', 'EdDSA'], 1],
    ['a symmetric algorithm', ['create', '--name', 'a', '--scopes', 'a', '--alg', 'HS256'], 1],
    ['an ID token algorithm SIGNING_ALGORITHMS does not list', ['create', '--name', 'a', '--scopes', 'openid', '--redirect-uris', 'https://a.example/cb', '--id-token-alg', 'EdDSA'], 1],
    ['a symmetric ID token algorithm', ['create', '--name', 'a', '--scopes', 'openid', '--redirect-uris', 'https://a.example/cb', '--id-token-alg', 'HS256'], 1],
    ['an ID token algorithm for a client without openid', ['create', '--name', 'a', '--scopes', 'a', '--id-token-alg', 'ES256'], 1],
  ])('refuses %s with exit code %i and a message on stderr', async (_case, args, code) => {
    const result = await cli(...args)
    expect(result.code).toBe(code)
    expect(result.stdout).toBe('')
    expect(result.stderr).not.toBe('')
  })
})
