import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { hashRefreshToken } from '../../src/domain/tokens/refresh-token.js'
import { CSRF_COOKIE_NAME } from '../../src/http/pages/cookies.js'
import { AUTHORIZATION_CODE_TTL_SECONDS } from '../../src/services/oidc/authorization.js'
import { argon2Parameters, createPasswordHasher } from '../../src/services/password-hasher.js'
import type { LoadRequest } from '../lib/load.js'
import { benchEnvironment, type BenchServer, type RunCheck, type RunShape } from '../lib/server.js'
import { createSingleUseSizer } from '../lib/single-use.js'
import { scaleUserEmail } from '../lib/scale-data.js'
import { memoryCalls } from './tollgate-memory.js'
import { scaleCalls } from './tollgate-scale.js'

export const PASSWORD = 'bench passphrase 4711'
export const SKUS = Array.from({ length: 20 }, (_, i) => `BENCH-${String(i).padStart(3, '0')}`)
const CART_USERS = 100
const LOGIN_USERS = 500
/** Chains per connection and run: one for the warm-up, one for the run, spares for reconnects. */
const CHAINS_PER_CONNECTION = 3
const CLIENT_CONTEXT = { ip: '127.0.0.1', userAgent: null }
/** The app the authorization-code cases sign users in to (loopback, as oidc-provider's baseline). */
const REDIRECT_URI = 'http://127.0.0.1/callback'
// One PKCE pair for every code: the verifier's check is a SHA-256 either way.
const CODE_VERIFIER = randomBytes(32).toString('base64url')
const CODE_CHALLENGE = createHash('sha256').update(CODE_VERIFIER).digest('base64url')
/**
 * Codes per sign-in: each redemption starts a session, and past MAX_SESSIONS_PER_USER (10) the
 * next would evict the user's oldest, the sign-in itself, ending its unredeemed codes mid-run.
 */
const CODES_PER_SIGN_IN = 8

/**
 * tollgate as deployed, in a process of its own: real PostgreSQL, argon2 at the configured
 * parameters, no logging, no rate limits (the load comes from one address), the rest default.
 * Any TOLLGATE_* variable of the benchmark's environment overrides a setting (TOLLGATE_ARGON2_MEMORY_KIB=...).
 */
export function benchConfig(overrides: Record<string, string> = {}): { config: Config; cleanup(): void } {
  const bench = benchEnvironment()
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
  const fromEnvironment = Object.fromEntries(
    Object.entries(process.env)
      .filter(([name, value]) => name.startsWith('TOLLGATE_') && value !== undefined)
      .map(([name, value]) => [name.slice('TOLLGATE_'.length), value!]),
  )
  const config = loadConfig({
    NODE_ENV: bench.databaseUrl ? 'production' : 'development',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ...(bench.databaseUrl ? { DATABASE_URL: bench.databaseUrl, MIGRATE_ON_START: 'false' } : {}),
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    RATE_LIMIT_ENABLED: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
    // Required in production since the guard rails; the benchmark's tokens never leave loopback.
    ISSUER: 'http://127.0.0.1',
    ...fromEnvironment,
    ...overrides,
  })
  return { config, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) }
}

/** Users that all share one argon2 digest of PASSWORD (hashing each would only slow the setup). */
export async function createUsers(app: App, digest: string, prefix: string, count: number): Promise<{ id: string; email: string }[]> {
  const emails = Array.from({ length: count }, (_, i) => `${prefix}-${i}@bench.example`)
  await app.db.prisma.user.createMany({ data: emails.map((email) => ({ email, passwordHash: digest })), skipDuplicates: true })
  const users = await app.db.prisma.user.findMany({ where: { email: { in: emails } }, select: { id: true, email: true } })
  return users.sort((a, b) => a.email.localeCompare(b.email, 'en', { numeric: true }))
}

export async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))))
  return results
}

/** Rotations and reuse events of the given users (their sessions only: a scan of the whole tables takes seconds at scale). */
async function counts(app: App, userIds: string[]) {
  const [row] = await app.db.prisma.$queryRaw<Array<{ rotated: bigint; reused: bigint }>>`
    SELECT (SELECT count(*) FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
             WHERE s.user_id = ANY(${userIds}::uuid[]) AND rt.rotated_at IS NOT NULL) AS rotated,
           (SELECT count(*) FROM security_events WHERE user_id = ANY(${userIds}::uuid[]) AND type = 'refresh_token_reused') AS reused`
  return { rotated: Number(row!.rotated), reused: Number(row!.reused) }
}

export async function start(): Promise<BenchServer> {
  const { config, cleanup } = benchConfig()
  const app = await buildServer(config, { logger: false })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const digest = await createPasswordHasher(argon2Parameters(config)).hash(PASSWORD)
  const json = (value: unknown) => JSON.stringify(value)

  let refreshUsers = 0
  const scaleUsers = Number(process.env.BENCH_SCALE_USERS ?? 0)
  const before = new Map<string, Awaited<ReturnType<typeof counts>> & { userIds: string[] }>()
  const once = new Map<string, Promise<LoadRequest>>()
  // What the code and login-page runs are checked against afterwards.
  const codeRun = { minted: 0, consumedBefore: 0 }
  let loginPageUsers: string[] = []
  let loginPageSignIns = 0
  const consumedCodes = (clientId: string) => app.db.prisma.authorizationCode.count({ where: { clientId, consumedAt: { not: null } } })
  const memo = (name: string, make: () => Promise<LoadRequest>) => {
    if (!once.has(name)) once.set(name, make())
    return once.get(name)!
  }

  async function sessionsFor(prefix: string, count: number) {
    const users = await createUsers(app, digest, prefix, count)
    return inBatches(users, 10, async (user) => ({ user, grant: await app.sessions.start({ userId: user.id, credentialsVersion: 0, ...CLIENT_CONTEXT }) }))
  }

  // A public client of the authorization code flow (PKCE alone), its ID tokens in ES256: oidc-provider's
  // baseline signs them with EdDSA, and RS256 (the OIDC default) would measure RSA signing instead.
  let publicClient: Promise<string> | undefined
  const oidcClientId = () =>
    (publicClient ??= app.oauth.clients
      .create({ name: 'bench-web', type: 'public', scopes: ['openid', 'offline_access'], redirectUris: [REDIRECT_URI], firstParty: true, idTokenSigningAlg: 'ES256' })
      .then(({ client }) => client.clientId))
  // The first round's guess: a redemption is one statement, over 1,000 a second on the loaded machine (300 ran out).
  const codes = createSingleUseSizer(1_200)
  let codeRuns = 0

  const prepare: Record<string, (run: RunShape) => Promise<LoadRequest>> = {
    jwks: async () => ({ method: 'GET', path: '/.well-known/jwks.json' }),

    'cart-get': () =>
      memo('cart-get', async () => {
        const sessions = await sessionsFor('cart-get', CART_USERS)
        for (const { user } of sessions) for (const sku of SKUS.slice(0, 5)) await app.cart.add(user.id, { sku, quantity: 1 })
        return {
          method: 'GET',
          path: '/v1/cart/items',
          variants: sessions.map(({ grant }) => ({ headers: { authorization: `Bearer ${grant.accessToken}` } })),
        }
      }),

    // Every (user, sku) pair in turn: many carts, so the run measures writes, not one cart's row lock.
    'cart-post': () =>
      memo('cart-post', async () => {
        const sessions = await sessionsFor('cart-post', CART_USERS)
        return {
          method: 'POST',
          path: '/v1/cart/items',
          variants: SKUS.flatMap((sku) =>
            sessions.map(({ grant }) => ({ headers: { authorization: `Bearer ${grant.accessToken}` }, body: json({ sku, quantity: 1 }) })),
          ),
        }
      }),

    refresh: async ({ connections }) => {
      const count = connections * CHAINS_PER_CONNECTION
      const sessions = await sessionsFor(`refresh-${refreshUsers++}`, count)
      const userIds = sessions.map(({ user }) => user.id)
      before.set('refresh', { ...(await counts(app, userIds)), userIds })
      return {
        method: 'POST',
        path: '/v1/auth/refresh',
        chain: { tokens: sessions.map(({ grant }) => grant.refreshToken), body: '{"refresh_token":"{token}"}', field: 'refresh_token' },
      }
    },

    'client-credentials': () =>
      memo('client-credentials', async () => {
        const { client, clientSecret } = await app.oauth.clients.create({ name: 'bench', scopes: ['cart', 'bench:read'] })
        return {
          method: 'POST',
          path: '/oauth/token',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
          },
          body: 'grant_type=client_credentials&scope=cart',
        }
      }),

    // On a scaled database (BENCH_SCALE_USERS, bench/scale.ts) the users are the dataset's, spread
    // over it, each with its sessions and history; their digest is another hash of PASSWORD.
    // A resource server (registered for the access tokens' audience) introspecting access tokens
    // (active: signature, then the jti's and the session's revocation) and refresh tokens in turn
    // (a lookup by hash; another client's, so inactive once found).
    introspect: () =>
      memo('introspect', async () => {
        const { client, clientSecret } = await app.oauth.clients.create({ name: 'bench-introspection', scopes: ['cart'], audience: config.ACCESS_TOKEN_AUDIENCE })
        const sessions = await sessionsFor('introspect', CART_USERS)
        return {
          method: 'POST',
          path: '/oauth/introspect',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
          },
          variants: sessions.flatMap(({ grant }) => [{ body: `token=${grant.refreshToken}` }, { body: `token=${grant.accessToken}` }]),
        }
      }),

    // What a stateless verifier polls, as packages/verifier's createRemoteRevocations does: each
    // connection sends the ETag of the last document it got as If-None-Match (a 304 while the
    // lists, the key and the iat step are unchanged; the new document once they change).
    revocations: async () => ({ method: 'GET', path: '/v1/revocations', headers: { accept: 'application/jwt' }, conditional: true }),

    // Codes as the authorization endpoint stores them, each from a sign-in of a fresh user, redeemed
    // by the public client: an access token, a refresh token (offline_access) and an ID token each.
    code: async ({ seconds }) => {
      const clientId = await oidcClientId()
      const count = codes.count(seconds)
      const users = await createUsers(app, digest, `code-${codeRuns++}`, Math.ceil(count / CODES_PER_SIGN_IN))
      const signIns = await inBatches(users, 10, (user) => app.sessions.startSignIn({ userId: user.id, credentialsVersion: 0, ...CLIENT_CONTEXT }))
      const values = Array.from({ length: count }, () => randomBytes(32).toString('base64url'))
      const now = new Date()
      await app.db.prisma.authorizationCode.createMany({
        data: values.map((code, i) => {
          // Round-robin over the sign-ins: the connections' codes are of different users, whose
          // redemptions do not queue on one user's row lock (one user's codes are not redeemed at once).
          const signIn = signIns[i % signIns.length]!
          return {
            codeHash: hashRefreshToken(code),
            clientId,
            userId: signIn.userId,
            signInSessionId: signIn.id,
            redirectUri: REDIRECT_URI,
            codeChallenge: CODE_CHALLENGE,
            scope: 'openid offline_access',
            nonce: null,
            authTime: signIn.createdAt,
            createdAt: now,
            expiresAt: new Date(now.getTime() + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
          }
        }),
      })
      Object.assign(codeRun, { minted: count, consumedBefore: await consumedCodes(clientId) })
      return {
        method: 'POST',
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        consume: {
          values,
          body: `grant_type=authorization_code&client_id=${clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}&code={value}`,
        },
      }
    },

    // The login page's form, as a browser posts it: the interaction and CSRF cookie of one
    // authorization request of a third-party client (the page state binds no email), and each
    // user's email and password. A sign-in answers the consent page (a 200); so does nothing else
    // but a refused password, which afterRun rules out by counting the sign-ins.
    'login-page': () =>
      memo('login-page', async () => {
        const { client } = await app.oauth.clients.create({ name: 'bench-third-party', scopes: ['openid'], redirectUris: [REDIRECT_URI] })
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: client.clientId,
          redirect_uri: REDIRECT_URI,
          scope: 'openid',
          state: 'bench',
          code_challenge: CODE_CHALLENGE,
          code_challenge_method: 'S256',
        })
        const page = await app.inject({ method: 'GET', url: `/oauth/authorize?${query.toString()}` })
        const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1]
        const csrf = page.cookies.find((cookie) => cookie.name === CSRF_COOKIE_NAME)?.value
        if (!interaction || !csrf) throw new Error(`no login page to post to (${page.statusCode})`)
        const users = await createUsers(app, digest, 'login-page', LOGIN_USERS)
        loginPageUsers = users.map((user) => user.id)
        return {
          method: 'POST',
          path: '/oauth/login',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${CSRF_COOKIE_NAME}=${csrf}`, origin: config.ISSUER },
          variants: users.map((user) => ({ body: new URLSearchParams({ interaction, email: user.email, password: PASSWORD }).toString() })),
        }
      }),

    login: () =>
      memo('login', async () => {
        const users = scaleUsers > 0
          ? Array.from({ length: LOGIN_USERS }, (_, i) => ({ email: scaleUserEmail(Math.floor((i * scaleUsers) / LOGIN_USERS)) }))
          : await createUsers(app, digest, 'login', LOGIN_USERS)
        return {
          method: 'POST',
          path: '/v1/auth/login',
          variants: users.map((user) => ({ body: json({ email: user.email, password: PASSWORD }) })),
          // 100 a second: a run's p99 then rests on some 400 answers, not on the worst of 80.
          probe: { path: '/health/live', ratePerSecond: 100 },
        }
      }),
  }

  return {
    url,
    async prepare(caseName, run) {
      const make = prepare[caseName]
      if (!make) throw new Error(`tollgate has no case ${caseName}`)
      return make(run)
    },
    async afterRun(caseName, result): Promise<RunCheck> {
      const answered = result.ok + result.warmupOk
      if (caseName === 'code') {
        codes.observe(result)
        const redemptions = (await consumedCodes(await oidcClientId())) - codeRun.consumedBefore
        // A redemption whose answer was cut off by the end of the run is in the database and not in `answered`.
        const failures = redemptions < answered ? [`only ${redemptions} codes consumed in the database for ${answered} 2xx answers`] : []
        return { failures, notes: [`${codeRun.minted} codes minted, ${redemptions} redeemed, for ${answered} 2xx answers`] }
      }
      if (caseName === 'login-page') {
        const signIns = await app.db.prisma.session.count({ where: { userId: { in: loginPageUsers }, kind: 'sign_in' } })
        const started = signIns - loginPageSignIns
        loginPageSignIns = signIns
        return {
          failures: started < answered ? [`only ${started} sign-in sessions started for ${answered} 2xx answers: some were refused passwords`] : [],
          notes: [`${started} sign-in sessions started for ${answered} 2xx answers (consent pages)`],
        }
      }
      if (caseName !== 'refresh') return {}
      const start = before.get('refresh')!
      const end = await counts(app, start.userIds)
      const rotations = end.rotated - start.rotated
      const replays = end.reused - start.reused
      const failures: string[] = []
      // A rotation whose answer was cut off by the end of the run is in the database and not in `answered`.
      if (rotations < answered) failures.push(`only ${rotations} rotations in the database for ${answered} 2xx answers`)
      if (replays > 0) failures.push(`${replays} refresh_token_reused events: some requests were replays, not rotations`)
      return { failures, notes: [`${rotations} rotations recorded in refresh_tokens for ${answered} 2xx answers, ${replays} replays`] }
    },
    calls: { ...scaleCalls(app), ...(process.env.BENCH_MEMORY === '1' ? memoryCalls(app, digest) : {}) },
    async close() {
      await app.close()
      cleanup()
    },
  }
}
