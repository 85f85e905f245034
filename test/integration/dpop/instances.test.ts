import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'
import { hasRedisServer, startRedisServer } from '../../helpers/redis-server.js'

// Two instances of tollgate on one database, as behind a load balancer: a DPoP proof captured in
// transit and replayed to the other instance (same jti) is refused at a protected route, whichever
// store the deployment shares (PostgreSQL without REDIS_URL, else Redis).
const ISSUER = 'http://tollgate.test'

function twoInstances(env: () => Promise<Record<string, string>>) {
  const state = {} as { t: TestApp; other: App; key: DpopKey; token: string }
  beforeAll(async () => {
    state.t = await buildTestApp(await env())
    state.other = await buildApp(state.t.config, { logger: false })
    state.key = await dpopKey()
    const { email, password } = await register(state.t.app)
    const login = await state.t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password },
      headers: { dpop: await dpopProof(state.key, { url: `${ISSUER}/v1/auth/login` }) },
    })
    expect(login.json().token_type).toBe('DPoP')
    state.token = login.json().access_token
  })
  afterAll(async () => {
    await state.other?.close()
    await state.t?.close()
  })
  return state
}

const me = (app: App, token: string, proof: string) => app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `DPoP ${token}`, dpop: proof } })

function replayAcross(state: ReturnType<typeof twoInstances>) {
  it('a proof accepted by instance A is refused when replayed at instance B, and the other way round', async () => {
    const { t, other, key, token } = state
    for (const [first, second] of [[t.app, other], [other, t.app]] as const) {
      const proof = await dpopProof(key, { method: 'GET', url: `${ISSUER}/v1/me`, accessToken: token })
      expect((await me(first, token, proof)).statusCode).toBe(200)
      const replayed = await me(second, token, proof)
      expect(replayed.statusCode).toBe(401)
      expect(replayed.json().code).toBe('invalid_dpop_proof')
      expect(replayed.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="invalid_dpop_proof"/)
    }
    // A fresh proof from the same key still passes at either instance: only the jti was spent.
    const fresh = await dpopProof(key, { method: 'GET', url: `${ISSUER}/v1/me`, accessToken: token })
    expect((await me(other, token, fresh)).statusCode).toBe(200)
  })
}

const proofsInPostgres = async (t: TestApp) => Number((await t.app.db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM dpop_proofs`)[0]!.n)

describe('two instances sharing PostgreSQL (no REDIS_URL)', () => {
  const state = twoInstances(async () => ({}))
  replayAcross(state)
  it('remembered the proofs in dpop_proofs', async () => {
    expect(await proofsInPostgres(state.t)).toBeGreaterThanOrEqual(3)
  })
})

describe.skipIf(!hasRedisServer)('two instances sharing Redis (REDIS_URL)', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined
  afterAll(() => redis?.stop()) // registered first, so it runs after the instances have closed
  const state = twoInstances(async () => {
    redis = await startRedisServer()
    return { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'deployment-a:' }
  })
  replayAcross(state)
  it('remembered the proofs in Redis, not in PostgreSQL', async () => {
    expect(await proofsInPostgres(state.t)).toBe(0)
  })
})
