/**
 * How long a database outage lasts for clients (a script, not a test): the built service
 * (dist/server.js, so `npm run build` first) on a database of its own on DATABASE_URL's server
 * (default postgresql://postgres@127.0.0.1:5432/postgres), behind test/helpers/fault-proxy.ts,
 * under a load of clients that follow README's retry rules. The proxy black-holes the database
 * (connections open and silent) and then resets it (refused and reset), each for a while, and
 * the script prints, for each: how long after the database's return a login, a refresh, a cart
 * add and a read all succeed again, when readiness turned 503 and back, the longest request, and
 * the answers seen. README's figures come from here.
 *
 *   npm run build && npm run bench:db-recovery
 *   OUTAGE_SECONDS=10 OUTAGE_USERS=8 npm run bench:db-recovery
 */
import { startFaultProxy, type FaultMode } from '../test/helpers/fault-proxy.js'
import { createUser, outage, startLoad, type OutageFigures } from '../test/e2e/outage.js'
import { startService } from '../test/e2e/service.js'

const server = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
process.env.DATABASE_URL = server
const seconds = Number(process.env.OUTAGE_SECONDS ?? 5)
const users = Number(process.env.OUTAGE_USERS ?? 4)
const GRACE_SECONDS = 10

const target = new URL(server)
const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })
const service = await startService(
  { REFRESH_GRACE_SECONDS: String(GRACE_SECONDS), RATE_LIMIT_ENABLED: 'false' },
  { databaseUrl: (url) => proxy.url(url) },
)
const results: OutageFigures[] = []
try {
  const load = await startLoad(service.baseUrl, { users, graceMs: GRACE_SECONDS * 1000 })
  const probe = await createUser(load.call, 'probe')
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  for (const mode of ['blackhole', 'reset'] satisfies FaultMode[]) {
    results.push(await outage(proxy, load, mode, seconds, probe))
    await new Promise((resolve) => setTimeout(resolve, 2_000))
  }
  await load.stop()
  const unanswered = load.samples.filter((sample) => sample.status === 'network' || (sample.status >= 500 && sample.status !== 503))
  const loggedOut = load.users.filter((user) => user.loggedOut).length

  const ms = (value: number | undefined) => (value === undefined ? 'never' : `${(value / 1000).toFixed(2)} s`)
  console.log(`\n${users} users, defaults (DATABASE_CONNECT_TIMEOUT_MS 2000, DATABASE_QUERY_TIMEOUT_MS 3000, REFRESH_TIMEOUT_MS 5000)\n`)
  console.log('| outage | recovery after the database returns | readiness 503 after | readiness 200 after return | longest request | answers during outage and recovery |')
  console.log('|---|---|---|---|---|---|')
  for (const r of results) {
    const answers = Object.entries(r.statuses)
      .map(([status, count]) => `${count}× ${status}`)
      .join(', ')
    console.log(`| ${r.mode}, ${r.seconds} s | ${ms(r.recoveryMs)} | ${ms(r.readinessDownMs)} | ${ms(r.readinessUpMs)} | ${ms(r.longestMs)} | ${answers} |`)
  }
  console.log(`\nno answer or a 5xx other than 503: ${unanswered.length}; users logged out: ${loggedOut}`)
} finally {
  await service.stop('SIGTERM')
  await proxy.close()
}
