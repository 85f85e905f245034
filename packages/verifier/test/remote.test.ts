import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, type JWK } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRemoteRevocations, createVerifier, type TokenVerificationError } from '../src/index.js'
import { AUDIENCE, claims, ISSUER, signToken, testKey, type TestKey } from './fixtures.js'

/** A stand-in for tollgate's two public endpoints, reached through the verifier's fetch option. */
function fakeTollgate(initialKeys: JWK[]) {
  const state = {
    keys: initialKeys,
    feed: '' as string,
    feedStatus: 200,
    jwksFetches: 0,
    feedRequests: [] as Array<string | null>,
  }
  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input)
    const headers = new Headers(init?.headers)
    if (url.pathname === '/.well-known/jwks.json') {
      state.jwksFetches += 1
      return Response.json({ keys: state.keys })
    }
    if (url.pathname === '/v1/revocations') {
      state.feedRequests.push(headers.get('if-none-match'))
      if (state.feedStatus !== 200) return new Response('down', { status: state.feedStatus })
      const etag = `"${createHash('sha256').update(state.feed).digest('hex').slice(0, 16)}"`
      if (headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } })
      return new Response(state.feed, { headers: { 'content-type': 'application/jwt', etag } })
    }
    return new Response('not found', { status: 404 })
  }) as typeof globalThis.fetch
  return { state, fetch: fakeFetch }
}

async function feed(key: TestKey, lists: { sids?: string[]; jtis?: string[] }, options: { typ?: string; iat?: number } = {}) {
  const iat = options.iat ?? Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, iat, exp: iat + 600, sids: lists.sids ?? [], jtis: lists.jtis ?? [] })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: options.typ ?? 'revocations+jwt' })
    .sign(key.privateKey)
}

let key: TestKey
beforeAll(async () => {
  key = await testKey()
})

const closers: Array<() => void> = []
afterEach(() => closers.splice(0).forEach((close) => close()))

describe('remote verification through the JWKS URL and the revocations feed', () => {
  it('picks up a new key (an unknown kid) by refetching the JWKS, without a restart', async () => {
    const tollgate = fakeTollgate([key.publicJwk])
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: 'https://auth.example.test/.well-known/jwks.json',
      jwksCooldown: 0,
      fetch: tollgate.fetch,
    })
    closers.push(() => verifier.close())
    await verifier.verify(await signToken(key))
    const rotated = await testKey()
    tollgate.state.keys = [key.publicJwk, rotated.publicJwk]
    await expect(verifier.verify(await signToken(rotated))).resolves.toMatchObject({ sub: 'user-1' })
    expect(tollgate.state.jwksFetches).toBe(2)
  })

  it('rejects a token whose session the feed lists, within one poll', async () => {
    const tollgate = fakeTollgate([key.publicJwk])
    tollgate.state.feed = await feed(key, {})
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: 'https://auth.example.test/.well-known/jwks.json',
      revocationsUrl: 'https://auth.example.test/v1/revocations',
      revocationsInterval: 1,
      fetch: tollgate.fetch,
    })
    closers.push(() => verifier.close())
    const payload = claims()
    const token = await signToken(key, payload)
    await expect(verifier.verify(token)).resolves.toBeDefined()
    tollgate.state.feed = await feed(key, { sids: [payload.sid as string] }, { iat: Math.floor(Date.now() / 1000) + 1 })
    await expect.poll(() => verifier.verify(token).then(() => 'accepted', (e: TokenVerificationError) => e.code), { timeout: 8000, interval: 200 }).toBe('token_revoked')
  })

  it('reads a feed signed with another algorithm than the one its tokens are pinned to', async () => {
    const rsa = await testKey('RS256')
    const es = await testKey('ES256')
    const tollgate = fakeTollgate([rsa.publicJwk, es.publicJwk])
    const payload = claims()
    tollgate.state.feed = await feed(es, { sids: [payload.sid as string] })
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256'],
      jwksUrl: 'https://auth.example.test/.well-known/jwks.json',
      revocationsUrl: 'https://auth.example.test/v1/revocations',
      fetch: tollgate.fetch,
    })
    closers.push(() => verifier.close())
    await expect(verifier.verify(await signToken(rsa, payload))).rejects.toMatchObject({ code: 'token_revoked' })
    await expect(verifier.verify(await signToken(es))).rejects.toMatchObject({ code: 'algorithm_not_allowed' })
  })
})

describe('createRemoteRevocations', () => {
  const keySetOf = (k: TestKey) => async () => (await import('jose')).importJWK(k.publicJwk, k.alg) as never

  function source(tollgate: ReturnType<typeof fakeTollgate>, errors: unknown[] = []) {
    const revocations = createRemoteRevocations({
      url: 'https://auth.example.test/v1/revocations',
      keySet: keySetOf(key),
      issuer: ISSUER,
      algorithms: ['EdDSA'],
      intervalSeconds: 300,
      fetch: tollgate.fetch,
      onError: (error) => errors.push(error),
    })
    closers.push(() => revocations.close())
    return revocations
  }

  it('lists sids and jtis, polls with If-None-Match, and keeps its list on a 304', async () => {
    const tollgate = fakeTollgate([])
    const sid = randomUUID()
    tollgate.state.feed = await feed(key, { sids: [sid], jtis: ['j1'] })
    const revocations = source(tollgate)
    await revocations.refresh()
    await revocations.refresh()
    expect(tollgate.state.feedRequests.at(-1)).toMatch(/^"/)
    expect(await revocations.isRevoked({ sid })).toBe(true)
    expect(await revocations.isRevoked({ jti: 'j1' })).toBe(true)
    expect(await revocations.isRevoked({ sid: randomUUID(), jti: 'j2' })).toBe(false)
  })

  it.each([
    { name: 'the feed answers 500', change: (t: ReturnType<typeof fakeTollgate>) => void (t.state.feedStatus = 500) },
    { name: 'the feed is signed by a foreign key', change: async (t: ReturnType<typeof fakeTollgate>) => void (t.state.feed = await feed(await testKey('EdDSA', key.kid), {}, { iat: 2e9 })) },
    { name: 'the feed has the wrong typ', change: async (t: ReturnType<typeof fakeTollgate>) => void (t.state.feed = await feed(key, {}, { typ: 'at+jwt', iat: 2e9 })) },
    { name: 'the feed is older than the list held', change: async (t: ReturnType<typeof fakeTollgate>) => void (t.state.feed = await feed(key, {}, { iat: Math.floor(Date.now() / 1000) - 100 })) },
    { name: 'the feed is not a JWT', change: (t: ReturnType<typeof fakeTollgate>) => void (t.state.feed = 'nonsense') },
  ])('keeps the last good list when $name', async ({ change }) => {
    const tollgate = fakeTollgate([])
    const sid = randomUUID()
    tollgate.state.feed = await feed(key, { sids: [sid] })
    const revocations = source(tollgate)
    await revocations.refresh()
    await change(tollgate)
    await revocations.refresh().catch(() => {})
    expect(await revocations.isRevoked({ sid })).toBe(true)
  })

  it('fails closed with revocations_unavailable until a first list has loaded', async () => {
    const tollgate = fakeTollgate([])
    tollgate.state.feedStatus = 503
    const errors: unknown[] = []
    const revocations = source(tollgate, errors)
    await expect(revocations.isRevoked({ sid: 'x' })).rejects.toMatchObject({ code: 'revocations_unavailable' })
    tollgate.state.feedStatus = 200
    tollgate.state.feed = await feed(key, {})
    expect(await revocations.isRevoked({ sid: 'x' })).toBe(false)
    expect(errors.length).toBeGreaterThan(0)
  })
})
