import type { App } from '../../src/app.js'
import { createUsers, inBatches } from './tollgate.js'

/**
 * The memory case's workload, driven inside the tollgate process through the service layer (the
 * same calls the routes make, without HTTP): what it keeps is what tollgate keeps. The refresh
 * tokens of the chains live here too (10,000 strings, about a megabyte).
 */
export function memoryCalls(app: App, digest: string) {
  let chains: string[] = []
  let offsetMs = 0
  app.clock = () => new Date(Date.now() + offsetMs)

  const usage = () => {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const { rss, heapUsed, external } = process.memoryUsage()
    return { rss, heapUsed, external, collected: gc !== undefined }
  }

  return {
    'memory.usage': usage,

    'memory.connections': async () => new Promise<number>((resolve, reject) => app.server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),

    'memory.tables': () => app.purge.tableSizes(),

    /** `count` sessions, ten per user (the default cap), each with its first refresh token. */
    'memory.sessions': async (params: unknown) => {
      const { count } = params as { count: number }
      const started = performance.now()
      const users = await createUsers(app, digest, `memory-${Date.now()}`, Math.ceil(count / 10))
      const starts = Array.from({ length: count }, (_, i) => users[i % users.length]!.id)
      const grants = await inBatches(starts, 16, (userId) => app.sessions.start({ userId, credentialsVersion: 0, ip: '127.0.0.1', userAgent: 'bench' }))
      chains = grants.map((grant) => grant.refreshToken)
      return { sessions: chains.length, seconds: (performance.now() - started) / 1000 }
    },

    /** Rotates the chains round-robin, `concurrency` at a time, until `count` rotations or `maxSeconds`. */
    'memory.rotate': async (params: unknown) => {
      const { count, concurrency, maxSeconds } = params as { count: number; concurrency: number; maxSeconds: number }
      const started = performance.now()
      const deadline = started + maxSeconds * 1000
      let next = 0
      let done = 0
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count && performance.now() < deadline) {
            const index = next++ % chains.length
            const grant = await app.sessions.refresh({ refreshToken: chains[index]!, ip: '127.0.0.1', userAgent: 'bench' })
            chains[index] = grant.refreshToken
            done++
          }
        }),
      )
      return { rotations: done, seconds: (performance.now() - started) / 1000 }
    },

    /**
     * Simulated days of use, on the app's clock: every tick, `logins` new sessions; each session
     * rotates once a tick while in use (`activeTicks`), a tenth of them then log out and the rest
     * are left to expire; the purge runs every tick. Returns the table sizes over time.
     */
    'memory.churn': async (params: unknown) => {
      const { ticks, logins, activeTicks, tickSeconds, reportEvery } = params as {
        ticks: number
        logins: number
        activeTicks: number
        tickSeconds: number
        reportEvery: number
      }
      const started = performance.now()
      const active: Array<{ token: string; sessionId: string; left: number }> = []
      const totals = { logins: 0, rotations: 0, logouts: 0, purged: { sessions: 0, refreshTokens: 0, securityEvents: 0 } }
      const rows: Array<Record<string, number>> = []
      for (let tick = 1; tick <= ticks; tick++) {
        offsetMs += tickSeconds * 1000
        const users = await createUsers(app, digest, `churn-${tick}-${Date.now()}`, logins)
        const grants = await inBatches(users, 16, (user) => app.sessions.start({ userId: user.id, credentialsVersion: 0, ip: '127.0.0.1', userAgent: 'bench' }))
        active.push(...grants.map((grant) => ({ token: grant.refreshToken, sessionId: grant.sessionId, left: activeTicks })))
        totals.logins += grants.length
        await inBatches(active, 16, async (session) => {
          session.token = (await app.sessions.refresh({ refreshToken: session.token, ip: '127.0.0.1', userAgent: 'bench' })).refreshToken
          session.left--
          totals.rotations++
        })
        const finished = active.filter((session) => session.left <= 0)
        await inBatches(
          finished.filter((_, i) => i % 10 === 0),
          16,
          async (session) => {
            await app.sessions.revokeSession(session.sessionId, 'logout')
            totals.logouts++
          },
        )
        active.splice(0, active.length, ...active.filter((session) => session.left > 0))
        const purged = await app.purge.run()
        totals.purged.sessions += purged.sessions
        totals.purged.refreshTokens += purged.refreshTokens
        totals.purged.securityEvents += purged.securityEvents
        if (tick % reportEvery === 0 || tick === ticks) {
          rows.push({ tick, simulatedMinutes: (offsetMs / 60_000) | 0, logins: totals.logins, rotations: totals.rotations, ...(await app.purge.tableSizes()), purgedSessions: totals.purged.sessions, purgedRefreshTokens: totals.purged.refreshTokens })
        }
      }
      return { rows, totals, seconds: (performance.now() - started) / 1000 }
    },
  }
}
