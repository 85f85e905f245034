import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DpopPresentation } from '../../../src/domain/dpop/proof.js'
import { ProblemError } from '../../../src/errors.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'
import { hasRedisServer, startRedisServer } from '../../helpers/redis-server.js'

const ISSUER = 'http://tollgate.test'

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return error instanceof ProblemError ? error.code : String(error)
  }
}

let key: DpopKey
beforeAll(async () => {
  key = await dpopKey()
})

const presentation = async (path = '/oauth/token'): Promise<DpopPresentation> => ({
  proof: await dpopProof(key, { url: `${ISSUER}${path}` }),
  method: 'POST',
  path,
})

describe('DPoP proofs without Redis (PostgreSQL)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('accepts a proof once; the same proof again is invalid_dpop_proof', async () => {
    const presented = await presentation()
    await expect(t.app.dpop.check(presented)).resolves.toMatchObject({ jkt: key.jkt })
    expect(await codeOf(t.app.dpop.check(presented))).toBe('invalid_dpop_proof')
    // Concurrent replays: exactly one wins.
    const again = await presentation()
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => t.app.dpop.check(again)))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
  })

  it('without a proof: nothing, unless one is required', async () => {
    await expect(t.app.dpop.check({ proof: undefined, method: 'POST', path: '/oauth/token' })).resolves.toBeUndefined()
    expect(await codeOf(t.app.dpop.check({ proof: undefined, method: 'POST', path: '/oauth/token' }, { required: true }))).toBe('invalid_dpop_proof')
  })
})

describe.skipIf(!hasRedisServer)('DPoP proofs in Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>
  const apps: TestApp[] = []
  beforeAll(async () => {
    redis = await startRedisServer()
    apps.push(...(await Promise.all([1, 2].map(() => buildTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'deployment-a:' })))))
  })
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()))
    redis?.stop()
  })

  it('a proof accepted by one instance is refused by the other', async () => {
    const presented = await presentation()
    await expect(apps[0]!.app.dpop.check(presented)).resolves.toMatchObject({ jkt: key.jkt })
    expect(await codeOf(apps[1]!.app.dpop.check(presented))).toBe('invalid_dpop_proof')
  })

  it('is 503 service_unavailable, not a pass, when Redis is gone', async () => {
    const solo = await buildTestApp({ REDIS_URL: 'redis://127.0.0.1:1' })
    try {
      expect(await codeOf(solo.app.dpop.check(await presentation()))).toBe('service_unavailable')
    } finally {
      await solo.close()
    }
  })
})
