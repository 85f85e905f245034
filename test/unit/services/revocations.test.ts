import { describe, expect, it } from 'vitest'
import type { RevocationRepository } from '../../../src/repositories/revocations.js'
import { createLocalRevocationSource } from '../../../src/services/revocations.js'

function fakes() {
  const state = { sids: [] as string[], jtis: [] as string[], feeds: 0, queries: 0 }
  const revocations = {
    async feed() {
      state.feeds += 1
      return { sids: [...state.sids], jtis: [...state.jtis] }
    },
  }
  const repository = {
    async isRevoked(jti: string, sid: string | null) {
      state.queries += 1
      return state.jtis.includes(jti) || (sid !== null && state.sids.includes(sid))
    },
  } as unknown as RevocationRepository
  return { state, revocations, repository }
}

const config = { ACCESS_TOKEN_TTL_SECONDS: 600 }
const SID = '0b7f5a52-8a55-4a62-9a0c-6c5b1f1c2d3e'

describe('the local revocation source', () => {
  it('answers from its snapshot, without a query per request', async () => {
    const { state, revocations, repository } = fakes()
    const now = new Date()
    const source = createLocalRevocationSource({ revocations, repository, refreshMs: 1000, config, clock: () => now })
    state.jtis.push('j1')
    await source.start()
    for (let i = 0; i < 10; i++) expect(await source.isRevoked({ jti: 'j1' })).toBe(true)
    expect(await source.isRevoked({ jti: 'j2', sid: SID })).toBe(false)
    expect(state.feeds).toBe(1)
    expect(state.queries).toBe(0)
    source.close()
  })

  it('sees a revocation after refresh(), and reloads a snapshot that went stale before trusting it', async () => {
    const { state, revocations, repository } = fakes()
    let now = new Date()
    const source = createLocalRevocationSource({ revocations, repository, refreshMs: 1000, config, clock: () => now })
    await source.start()
    state.sids.push(SID)
    expect(await source.isRevoked({ sid: SID })).toBe(false)
    await source.refresh()
    expect(await source.isRevoked({ sid: SID })).toBe(true)

    state.jtis.push('late')
    now = new Date(now.getTime() + 5000)
    expect(await source.isRevoked({ jti: 'late' })).toBe(true)
    source.close()
  })

  it('refresh() during a reload that read the lists before a revocation waits for one that reads them after', async () => {
    const { state, repository } = fakes()
    let release: () => void = () => {}
    let slow = false
    const revocations = {
      async feed() {
        const lists = { sids: [...state.sids], jtis: [...state.jtis] }
        if (slow) await new Promise<void>((resolve) => (release = resolve))
        return lists
      },
    }
    const source = createLocalRevocationSource({ revocations, repository, refreshMs: 1000, config })
    await source.start()
    slow = true
    const stale = source.refresh() // the timer's reload, say: it has read the lists
    slow = false
    state.sids.push(SID) // the revocation commits
    const fresh = source.refresh()
    release()
    await Promise.all([stale, fresh])
    expect(await source.isRevoked({ sid: SID })).toBe(true)
    source.close()
  })

  it('queries the database on every request when the refresh interval is 0', async () => {
    const { state, revocations, repository } = fakes()
    const source = createLocalRevocationSource({ revocations, repository, refreshMs: 0, config })
    await source.start()
    state.sids.push(SID)
    expect(await source.isRevoked({ sid: SID, jti: 'x' })).toBe(true)
    expect(await source.isRevoked({ sid: 'not-a-uuid', jti: 'x' })).toBe(false)
    expect(state.queries).toBe(2)
    expect(state.feeds).toBe(0)
  })
})
