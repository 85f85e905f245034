import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Signer } from '../../../src/domain/keys/key-provider.js'
import type { RevocationRepository } from '../../../src/repositories/revocations.js'
import { createRevocationFeed } from '../../../src/services/revocation-feed.js'
import { createLocalRevocationSource, createRevocationService } from '../../../src/services/revocations.js'

const TTL = 600 // the default ACCESS_TOKEN_TTL_SECONDS: the document lives 600 s, its step is 300 s
const STEP_MS = 300_000

/**
 * One instance as keys.ts wires it (service, local snapshot, feed) on a controlled clock, over a
 * repository that answers revokedSince() as the SQL does (strictly after the given instants).
 */
function instance(rows: { jtis: Map<string, Date>; sessions: Map<string, Date> }, clock: () => Date) {
  const repository = {
    async revokedSince(sessionsSince: Date, now: Date) {
      const sids = [...rows.sessions].filter(([, revokedAt]) => revokedAt > sessionsSince).map(([id]) => id).sort()
      const jtis = [...rows.jtis].filter(([, expiresAt]) => expiresAt > now).map(([jti]) => jti).sort()
      return { sids, jtis }
    },
  } as unknown as RevocationRepository
  const config = { ISSUER: 'https://auth.example.com', ACCESS_TOKEN_TTL_SECONDS: TTL, REVOCATIONS_MAX_AGE_SECONDS: 5 }
  const revocations = createRevocationService({ repository, config, clock })
  const snapshot = createLocalRevocationSource({ revocations, repository, refreshMs: 1000, clock, config })
  const signed = { count: 0 }
  const signer: Signer = {
    alg: 'ES256',
    kid: 'k1',
    async sign(payload, header) {
      signed.count += 1
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
      // Randomized like an ES256 signature: the ETag must not depend on it.
      return `${part({ alg: 'ES256', kid: 'k1', ...header })}.${part(payload)}.${randomBytes(8).toString('base64url')}`
    },
  }
  const feed = createRevocationFeed({ revocations, snapshot, keys: { signer: () => signer }, config, clock })
  return { snapshot, feed, signed }
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { iat: number; sids: string[]; jtis: string[] }

describe('the revocations feed on a controlled clock', () => {
  it('keeps an entry that expires mid-step until the step ends: the ETag holds (304s) until a revocation or the next step', async () => {
    // 10 s into a step; "early" expires 20 s later, mid-step.
    const start = Math.ceil(Date.now() / STEP_MS) * STEP_MS + 10_000
    let now = start
    const clock = () => new Date(now)
    const rows = {
      jtis: new Map([
        ['early', new Date(start + 20_000)],
        ['late', new Date(start + 3 * STEP_MS)],
      ]),
      sessions: new Map([['0b7f5a52-8a55-4a62-9a0c-6c5b1f1c2d3e', new Date(start - (TTL + 60) * 1000 + 30_000)]]),
    }
    const { snapshot, feed, signed } = instance(rows, clock)
    await snapshot.start()
    const first = await feed.document()
    expect(claims(first.jwt).jtis).toEqual(['early', 'late'])
    expect(claims(first.jwt).sids).toHaveLength(1)

    // One second after both "early" and the session's listing window ended, mid-step, the
    // snapshot reloads (the timer): the document, its ETag and its bytes are unchanged.
    now = start + 31_000
    await snapshot.refresh()
    const later = await feed.document()
    expect(later.etag).toBe(first.etag)
    expect(later.body).toBe(first.body)
    expect(signed.count).toBe(1)

    // A new revocation changes the ETag at once.
    rows.jtis.set('fresh', new Date(now + 600_000))
    await snapshot.refresh()
    const revoked = await feed.document()
    expect(revoked.etag).not.toBe(first.etag)
    expect(claims(revoked.jwt).jtis).toEqual(['early', 'fresh', 'late'])

    // At the step boundary, the expired entries are gone, even before the timer's reload.
    now = start - 10_000 + STEP_MS
    const next = await feed.document()
    expect(claims(next.jwt).iat).toBe((start - 10_000 + STEP_MS) / 1000)
    expect(claims(next.jwt).jtis).toEqual(['fresh', 'late'])
    expect(claims(next.jwt).sids).toEqual([])
    snapshot.close()
  })

  it('agrees on the ETag across instances whose snapshots were loaded at different seconds of a step', async () => {
    const start = Math.ceil(Date.now() / STEP_MS) * STEP_MS + 10_000
    const rows = { jtis: new Map([['early', new Date(start + 20_000)]]), sessions: new Map<string, Date>() }
    // A loaded its snapshot before "early" expired, B one second after; both serve at once.
    let nowA = start + 19_500
    let nowB = start + 21_000
    const a = instance(rows, () => new Date(nowA))
    const b = instance(rows, () => new Date(nowB))
    await a.snapshot.start()
    await b.snapshot.start()
    nowA = nowB
    expect((await a.feed.document()).etag).toBe((await b.feed.document()).etag)
    nowA = nowB = start + 120_000
    await b.snapshot.refresh()
    expect((await a.feed.document()).etag).toBe((await b.feed.document()).etag)
    a.snapshot.close()
    b.snapshot.close()
  })

  it('the snapshot keeps refusing a revoked jti after its expiry (its token is expired anyway), and lets it go at the step', async () => {
    const start = Math.ceil(Date.now() / STEP_MS) * STEP_MS + 10_000
    let now = start
    const rows = { jtis: new Map([['early', new Date(start + 20_000)]]), sessions: new Map<string, Date>() }
    const { snapshot } = instance(rows, () => new Date(now))
    await snapshot.start()
    now = start + 21_000
    await snapshot.refresh()
    expect(await snapshot.isRevoked({ jti: 'early' })).toBe(true)
    now = start - 10_000 + STEP_MS
    await snapshot.refresh()
    expect(await snapshot.isRevoked({ jti: 'early' })).toBe(false)
    snapshot.close()
  })
})
