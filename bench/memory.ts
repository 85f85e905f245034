/**
 * Memory and growth (the `memory` case of the suite: npm run bench:memory). In a tollgate process
 * of its own, started with --expose-gc so every figure is the RSS after a full collection:
 *
 * 1. RSS after 10,000 sessions and 100,000 rotations, driven through the service layer inside the
 *    process (over HTTP 100,000 rotations take minutes here; bounded by BENCH_MEMORY_SECONDS);
 * 2. RSS with 5,000 idle keep-alive connections, opened from the load generator's process;
 * 3. table sizes across a long rotation run on a simulated clock (logins, rotations while a
 *    session is in use, logouts, sessions left to expire, the purge every tick): flat once the
 *    first sessions have ended.
 *
 * For 2. and 3. the memory server keeps idle connections 60 s (KEEP_ALIVE_TIMEOUT_SECONDS and
 * CONNECTION_TIMEOUT_SECONDS; the defaults close them after 5 and 10 s) and uses short session
 * lifetimes (idle 30 min, absolute 2 h), so that a few simulated hours show the steady state.
 */
import { execFileSync } from 'node:child_process'
import { startChild, type Child } from './lib/child.js'
import { integer, table } from './lib/format.js'

const SESSIONS = 10_000
const ROTATIONS = 100_000
const IDLE_CONNECTIONS = 5_000
const CHURN = { ticks: 36, logins: 100, activeTicks: 6, tickSeconds: 300, reportEvery: 3 }

interface Usage {
  rss: number
  heapUsed: number
  external: number
  collected: boolean
}

export interface MemoryResult {
  rss: Array<{ after: string; rssMiB: number; heapUsedMiB: number }>
  sessions: { sessions: number; seconds: number }
  rotations: { rotations: number; seconds: number; requested: number }
  idleConnections: { requested: number; open: number; serverCount: number; failed: number; perConnectionKiB: number }
  churn: { rows: Array<Record<string, number>>; seconds: number }
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

function openFilesLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity
  } catch {
    return Infinity
  }
}

export async function runMemory(context: { env: Record<string, string>; seconds: number }): Promise<MemoryResult> {
  const maxSeconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 60)
  const env = {
    ...context.env,
    BENCH_MEMORY: '1',
    TOLLGATE_PURGE_INTERVAL_SECONDS: '0',
    TOLLGATE_SESSION_IDLE_TTL_SECONDS: '1800',
    TOLLGATE_SESSION_ABSOLUTE_TTL_SECONDS: '7200',
    TOLLGATE_KEEP_ALIVE_TIMEOUT_SECONDS: '60',
    TOLLGATE_CONNECTION_TIMEOUT_SECONDS: '60',
  }
  console.log(`\nmemory: a tollgate process of its own (--expose-gc: RSS after a full collection)`)
  const children: Child[] = []
  try {
    const server = await startChild<{ url: string }>(new URL('./lib/server-child.ts', import.meta.url), { args: ['tollgate'], env, execArgv: ['--expose-gc'] })
    children.push(server)
    const load = await startChild(new URL('./lib/load-child.ts', import.meta.url), { env })
    children.push(load)

    const rss: MemoryResult['rss'] = []
    const measure = async (after: string) => {
      const usage = await server.request<Usage>('memory.usage')
      rss.push({ after, rssMiB: mib(usage.rss), heapUsedMiB: mib(usage.heapUsed) })
      console.log(`  ${after.padEnd(44)} RSS ${mib(usage.rss).toFixed(1).padStart(6)} MiB   heap used ${mib(usage.heapUsed).toFixed(1).padStart(6)} MiB`)
      return usage
    }
    await measure('started')

    const sessions = await server.request<MemoryResult['sessions']>('memory.sessions', { count: SESSIONS })
    await measure(`${integer(sessions.sessions)} sessions (${sessions.seconds.toFixed(1)} s)`)

    const rotations = { rotations: 0, seconds: 0, requested: ROTATIONS }
    const step = ROTATIONS / 10
    while (rotations.rotations < ROTATIONS && rotations.seconds < maxSeconds) {
      const done = await server.request<{ rotations: number; seconds: number }>('memory.rotate', { count: step, concurrency: 16, maxSeconds: maxSeconds - rotations.seconds })
      rotations.rotations += done.rotations
      rotations.seconds += done.seconds
      await measure(`${integer(rotations.rotations)} rotations (${integer(rotations.rotations / rotations.seconds)}/s in-process)`)
    }
    if (rotations.rotations < ROTATIONS) {
      console.log(
        `  (stopped at ${integer(rotations.rotations)} of ${integer(ROTATIONS)} rotations after BENCH_MEMORY_SECONDS=${maxSeconds}: ` +
          'compare the checkpoints above; rotations keep nothing in the process, so the rest would not move them)',
      )
    }

    const limit = openFilesLimit()
    const requested = Math.min(IDLE_CONNECTIONS, Number.isFinite(limit) ? limit - 200 : IDLE_CONNECTIONS)
    if (requested < IDLE_CONNECTIONS) console.log(`  ulimit -n is ${limit}: opening ${requested} connections instead of ${IDLE_CONNECTIONS} (raise it with ulimit -n 16384)`)
    const before = await server.request<Usage>('memory.usage')
    const opened = await load.request<{ open: number; failed: number; firstError?: string }>('connections.open', { url: server.info.url, count: requested, path: '/health/live' })
    const serverCount = await server.request<number>('memory.connections')
    const withConnections = await measure(`${integer(serverCount)} idle keep-alive connections`)
    const perConnection = (bytes: number) => (serverCount > 0 ? Math.round((bytes / serverCount / 1024) * 10) / 10 : 0)
    const perConnectionKiB = perConnection(withConnections.rss - before.rss)
    console.log(
      `    per idle connection: about ${perConnectionKiB} KiB of RSS, ${perConnection(withConnections.heapUsed - before.heapUsed)} KiB of heap` +
        `${opened.failed > 0 ? `; ${opened.failed} failed to open (${opened.firstError})` : ''}`,
    )
    await load.request('connections.close')

    console.log(`\n  table sizes across a long rotation run on a simulated clock (a tick is ${CHURN.tickSeconds / 60} min: ${CHURN.logins} logins, every session in use rotates once,`)
    console.log(`  a session is in use for ${CHURN.activeTicks} ticks, then a tenth log out and the rest are left to expire; the purge runs every tick):`)
    const churn = await server.request<MemoryResult['churn']>('memory.churn', CHURN)
    const columns = ['tick', 'simulatedMinutes', 'logins', 'rotations', 'sessions', 'refreshTokens', 'securityEvents', 'purgedSessions', 'purgedRefreshTokens'] as const
    console.log(
      table(
        ['tick', 'sim. min', 'logins', 'rotations', 'sessions', 'refresh_tokens', 'security_events', 'purged sessions', 'purged tokens'],
        churn.rows.map((row) => columns.map((column) => integer(row[column] ?? 0))),
        0,
      ).replace(/^/gm, '  '),
    )
    console.log('  (security_events keeps one row per login and logout for SECURITY_EVENT_RETENTION_DAYS, 90 by default: it grows here, bounded by the retention)')
    await measure(`after the churn run (${churn.seconds.toFixed(0)} s)`)

    return { rss, sessions, rotations, idleConnections: { requested, open: opened.open, serverCount, failed: opened.failed, perConnectionKiB }, churn }
  } finally {
    await Promise.allSettled(children.map((child) => child.close()))
  }
}
