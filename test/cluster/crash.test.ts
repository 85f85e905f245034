import t from 'tap'
import { missing, startCluster } from './cluster.js'
import { checkUsers, startLoad } from './load.js'

// kill -9 of one instance of three, under load through nginx: nothing acknowledged is lost, and
// clients that retry (refresh with the same token inside the grace window, cart add with the same
// Idempotency-Key) carry on without a duplicate or a logout.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const cluster = await startCluster({ instances: 3 })
  t.teardown(() => cluster.close())
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  t.test('kill -9 under load: every acknowledged write present, every user carries on', async (t) => {
    const load = await startLoad({ base: cluster.url, users: 8, retry: true })
    await sleep(3_000)
    const victim = cluster.instances[1]!
    const killed = await victim.stop('SIGKILL')
    t.equal(killed.signal, 'SIGKILL', `${victim.name} killed`)
    await sleep(3_000)
    const report = await load.stop()
    t.comment(`${report.succeeded} requests answered, retried after a failure: ${JSON.stringify(report.retried)}`)
    t.same(report.errors, [], 'no request failed for good')
    t.ok(report.users.every((user) => user.acknowledged.length > 0), 'every user got adds through')

    t.same(await checkUsers(cluster.url, report.users), [], 'every acknowledged add is in the cart exactly once; every user can refresh')

    // The killed instance comes back and serves the same sessions.
    await victim.start()
    const problems = await checkUsers(victim.url, report.users)
    t.same(problems, [], `${victim.name}, restarted, serves every user`)
  })
}
