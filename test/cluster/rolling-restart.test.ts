import t from 'tap'
import { missing, startCluster } from './cluster.js'
import { checkUsers, startLoad } from './load.js'
import { RESTART_ENV, stopAndRestart, upstreamErrors } from './restart.js'

// A rolling restart behind nginx (keep-alive upstreams) as README's "The balancer" describes it,
// under a bounded load of logins, refreshes and cart adds, with clients that never retry an answer:
// each instance is taken out of nginx (`down`, reload), sent SIGTERM, restarted and put back before
// the next. nginx OSS only learns that an instance is gone when a connection to it is refused, so
// without the first step it opens connections to a draining instance up to the moment its listener
// closes, the kernel resets those the instance had not accepted yet, and nginx answers such a POST
// 502 (restart-without-balancer.test.ts shows what is left then).
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  for (const instances of [3, 2]) {
    t.test(`${instances} instances restarted one after the other, each taken out of nginx first`, async (t) => {
      const cluster = await startCluster({ instances, env: RESTART_ENV })
      t.teardown(() => cluster.close())
      const load = await startLoad({ base: cluster.url, users: 6, retry: false, resendUnanswered: true })
      await sleep(1_500)
      const logged = cluster.errorLog().length
      for (const instance of cluster.instances) {
        await cluster.withdraw(instance)
        await stopAndRestart(t, instance)
        await cluster.restore(instance)
        // As an orchestrator does (Kubernetes' minReadySeconds): the restarted instance takes a
        // share of the load before the next one stops.
        await sleep(2_000)
      }
      const report = await load.stop()
      t.comment(`${report.succeeded} requests answered during the restart; ${report.resent} sent again after a reload closed their connection unanswered`)
      if (report.errors.length > 0) t.comment(`nginx:\n${cluster.errorLog().join('\n')}`)
      t.same(report.errors, [], 'zero client-visible errors')
      t.same(upstreamErrors(cluster, logged), [], 'nginx never met a stopping or stopped instance')
      t.same(await checkUsers(cluster.url, report.users), [], 'every acknowledged add is in the cart; every user carries on')
    })
  }
}
