import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRevocationRepository } from '../../../src/repositories/revocations.js'
import { createRevocationFeed } from '../../../src/services/revocation-feed.js'
import { createRevocationPurge, feedStepSeconds } from '../../../src/services/revocations.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { rotateSigningKeys } from '../../helpers/keys.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const PUBLIC_MEMBERS = new Set(['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'])

describe('GET /.well-known/jwks.json', () => {
  it('publishes the active and the next key, public members only', async () => {
    const response = await t.app.inject('/.well-known/jwks.json')
    expect(response.statusCode).toBe(200)
    const { keys } = response.json() as { keys: Array<Record<string, string>> }
    const listed = await t.app.signingKeys.list()
    expect(keys.map((key) => key.kid).sort()).toEqual(listed.map((key) => key.kid).sort())
    expect(listed.map((key) => key.status).sort()).toEqual(['active', 'next'])
    for (const key of keys) {
      expect(Object.keys(key).every((member) => PUBLIC_MEMBERS.has(member))).toBe(true)
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    }
  })

  it('is cacheable for at most JWKS_MAX_AGE_SECONDS, with an ETag', async () => {
    const response = await t.app.inject('/.well-known/jwks.json')
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(response.headers['cache-control'] as string)?.[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(t.config.JWKS_MAX_AGE_SECONDS)
    expect(response.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/)
  })

  it.each([
    { name: 'the same ETag', header: (etag: string) => etag, status: 304 },
    { name: 'a weak form of it', header: (etag: string) => `W/${etag}`, status: 304 },
    { name: 'a list containing it', header: (etag: string) => `"other", ${etag}`, status: 304 },
    { name: '*', header: () => '*', status: 304 },
    { name: 'another ETag', header: () => '"stale"', status: 200 },
  ])('answers If-None-Match with $name: $status', async ({ header, status }) => {
    const first = await t.app.inject('/.well-known/jwks.json')
    const etag = first.headers.etag as string
    const response = await t.app.inject({ url: '/.well-known/jwks.json', headers: { 'if-none-match': header(etag) } })
    expect(response.statusCode).toBe(status)
    expect(response.headers.etag).toBe(etag)
    expect(response.headers['cache-control']).toBe(first.headers['cache-control'])
    if (status === 304) expect(response.body).toBe('')
  })
})

describe('GET /.well-known/oauth-authorization-server', () => {
  it('serves RFC 8414 metadata under the issuer', async () => {
    const response = await t.app.inject('/.well-known/oauth-authorization-server')
    expect(response.statusCode).toBe(200)
    const issuer = t.config.ISSUER
    expect(response.json()).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access', ...t.config.DEFAULT_SCOPES],
      access_token_signing_alg_values_supported: t.config.SIGNING_ALGORITHMS,
    })
    expect(response.json().introspection_endpoint_auth_methods_supported).not.toContain('none')
  })

  it('serves OpenID Connect discovery: a superset of the RFC 8414 document', async () => {
    const metadata = (await t.app.inject('/.well-known/oauth-authorization-server')).json()
    const response = await t.app.inject('/.well-known/openid-configuration')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      ...metadata,
      subject_types_supported: ['public'],
      // Every configured algorithm, the default (RS256 when configured) first.
      id_token_signing_alg_values_supported: [...t.config.SIGNING_ALGORITHMS].sort((a, b) => Number(b === 'RS256') - Number(a === 'RS256')),
      claims_supported: expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'sid', 'auth_time', 'nonce']),
    })
  })
})

describe('GET /v1/revocations', () => {
  async function fetchFeed(headers: Record<string, string> = {}) {
    const response = await t.app.inject({ url: '/v1/revocations', headers })
    return response
  }

  async function verifiedFeed() {
    const response = await fetchFeed()
    const jwks = (await t.app.inject('/.well-known/jwks.json')).json()
    const { payload, protectedHeader } = await jwtVerify(response.body, createLocalJWKSet(jwks), {
      issuer: t.config.ISSUER,
      typ: 'revocations+jwt',
      algorithms: ['ES256'],
    })
    return { response, payload, protectedHeader }
  }

  it('is a revocations+jwt signed with the active key, verifiable through the JWKS', async () => {
    const { response, payload, protectedHeader } = await verifiedFeed()
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('application/jwt')
    expect(protectedHeader).toMatchObject({ typ: 'revocations+jwt', alg: 'ES256', kid: t.app.signingKeys.activeKid() })
    expect(payload).toEqual({ iss: t.config.ISSUER, iat: expect.any(Number), exp: expect.any(Number), sids: [], jtis: [] })
    expect(payload.exp!).toBeGreaterThan(payload.iat!)
  })

  it('is cacheable for REVOCATIONS_MAX_AGE_SECONDS, with an ETag and 304s', async () => {
    const response = await fetchFeed()
    expect(response.headers['cache-control']).toBe(`public, max-age=${t.config.REVOCATIONS_MAX_AGE_SECONDS}`)
    const etag = response.headers.etag as string
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/)
    const again = await fetchFeed({ 'if-none-match': etag })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
  })

  it('lists revoked sessions and unexpired revoked access tokens, and changes its ETag when they change', async () => {
    const before = await fetchFeed()
    const user = await t.app.db.prisma.user.create({ data: { email: `feed-${randomUUID()}@example.test`, passwordHash: 'x' } })
    const now = Date.now()
    const session = (revokedAt: Date | null) =>
      t.app.db.prisma.session.create({
        data: {
          userId: user.id,
          clientId: 'tollgate-web',
          scope: 'cart',
          idleExpiresAt: new Date(now + 86_400_000),
          absoluteExpiresAt: new Date(now + 86_400_000),
          revokedAt,
        },
      })
    const recent = await session(new Date(now - 1000))
    const longAgo = await session(new Date(now - (t.config.ACCESS_TOKEN_TTL_SECONDS + 3600) * 1000))
    const live = await session(null)
    const jti = randomUUID()
    await t.app.revocations.revokeAccessToken({ jti, sessionId: live.id, expiresAt: new Date(now + 300_000) })
    await t.app.revocations.revokeAccessToken({ jti, sessionId: live.id, expiresAt: new Date(now + 300_000) })
    await t.app.revocations.revokeAccessToken({ jti: 'already-expired', expiresAt: new Date(now - 1000) })

    const { response, payload } = await verifiedFeed()
    expect(payload.sids).toContain(recent.id)
    expect(payload.sids).not.toContain(longAgo.id)
    expect(payload.sids).not.toContain(live.id)
    expect(payload.jtis).toEqual([jti])
    expect(response.headers.etag).not.toBe(before.headers.etag)
    expect((await fetchFeed({ 'if-none-match': before.headers.etag as string })).statusCode).toBe(200)

    expect(await t.app.revocations.isSessionRevoked(recent.id)).toBe(true)
    expect(await t.app.revocations.isSessionRevoked(live.id)).toBe(false)
    expect(await t.app.revocations.isSessionRevoked('not-a-uuid')).toBe(false)
    expect(await t.app.revocations.isAccessTokenRevoked(jti)).toBe(true)
    expect(await t.app.revocations.isAccessTokenRevoked('already-expired')).toBe(false)
    expect(await t.app.revocations.feed()).toEqual({ sids: payload.sids, jtis: [jti] })
  })

  it('has the same ETag on every instance for the same lists and key, though each signs its own copy', async () => {
    const feeds = [1, 2].map(() => createRevocationFeed({ revocations: t.app.revocations, keys: t.app.keys, config: t.config }))
    const [a, b] = await Promise.all(feeds.map((feed) => feed.document()))
    expect(a!.jwt).not.toBe(b!.jwt) // ES256 signatures are randomized
    expect(a!.etag).toBe(b!.etag)
    expect(a!.etag).toBe((await fetchFeed()).headers.etag)
  })

  it('is signed by the new active key after a rotation', async () => {
    await rotateSigningKeys(t.app)
    const { response } = await verifiedFeed()
    expect(decodeProtectedHeader(response.body).kid).toBe(t.app.signingKeys.activeKid())
  })
})

describe('purging revoked access tokens', () => {
  it('drops only rows whose tokens have expired', async () => {
    const live = randomUUID()
    const expired = randomUUID()
    await t.app.revocations.revokeAccessToken({ jti: live, expiresAt: new Date(Date.now() + 600_000) })
    await t.app.revocations.revokeAccessToken({ jti: expired, expiresAt: new Date(Date.now() + 1000) })
    // The feed lists an expired jti until its step ends (up to one step): the purge waits as long.
    const later = Date.now() + feedStepSeconds(t.config) * 1000 + 5000
    const purge = createRevocationPurge({ repository: createRevocationRepository(t.app.db.prisma), config: t.config, clock: () => new Date(later) })
    expect(await purge.purgeExpired()).toBeGreaterThanOrEqual(1)
    const left = (await t.app.db.prisma.revokedAccessToken.findMany({ select: { jti: true } })).map((row) => row.jti)
    expect(left).toContain(live)
    expect(left).not.toContain(expired)
  })
})
