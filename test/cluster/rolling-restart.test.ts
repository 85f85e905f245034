import t, { type Test } from 'tap'
import { missing, startCluster, type Cluster } from './cluster.js'
import { checkUsers, startLoad } from './load.js'

// A rolling restart behind nginx (keep-alive upstreams) under a bounded load of logins, refreshes
// and cart adds, with clients that never retry: SIGTERM to each instance in turn, each restarted
// before the next. Zero client-visible errors, and every instance exits 0.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  async function rollingRestart(t: Test, cluster: Cluster) {
    const load = await startLoad({ base: cluster.url, users: 6, retry: false })
    await sleep(1_500)
    for (const instance of cluster.instances) {
      const exit = await instance.stop('SIGTERM')
      t.same(exit, { code: 0, signal: null }, `${instance.name} drained and exited 0`)
      await instance.start()
      // As an orchestrator does (Kubernetes' minReadySeconds): the restarted instance is back in
      // nginx's rotation (fail_timeout 2 s, deploy/nginx/tollgate.conf) before the next one stops.
      await sleep(3_000)
    }
    const report = await load.stop()
    t.comment(`${report.succeeded} requests answered during the restart`)
    if (report.errors.length > 0) t.comment(`nginx:\n${cluster.errorLog().join('\n')}`)
    t.same(report.errors, [], 'zero client-visible errors')
    t.same(await checkUsers(cluster.url, report.users), [], 'every acknowledged add is in the cart; every user carries on')
  }

  for (const instances of [3, 2]) {
    t.test(`${instances} instances restarted one after the other`, async (t) => {
      const cluster = await startCluster({ instances })
      t.teardown(() => cluster.close())
      await rollingRestart(t, cluster)
    })
  }
}
