import t from 'tap'
import { missing, startCluster } from './cluster.js'
import { checkUsers, startLoad } from './load.js'
import { RESTART_ENV, stopAndRestart, upstreamErrors } from './restart.js'

// What an instance guarantees by itself when nginx is not told of a restart (SIGTERM to each of
// three instances in turn under load, clients that never retry): it answers every request it
// received and exits 0; nginx keeps opening connections to it until its listener closes, and the
// kernel resets those the instance had not accepted yet, under a request nginx already sent. A GET
// is then passed to another instance; a POST gets a 502, and nothing else may go wrong.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  t.test('3 instances restarted without nginx taking them out: what the instance guarantees alone', async (t) => {
    const cluster = await startCluster({ instances: 3, env: RESTART_ENV })
    t.teardown(() => cluster.close())
    const load = await startLoad({ base: cluster.url, users: 6, retry: false, reads: true })
    await sleep(1_500)
    for (const instance of cluster.instances) {
      await stopAndRestart(t, instance)
      // nginx skipped the instance for fail_timeout (2 s) after its connection was refused: it is
      // back in rotation before the next one stops.
      await sleep(3_000)
    }
    const report = await load.stop()
    const resets = upstreamErrors(cluster).filter((line) => line.includes('104: Connection reset by peer'))
    t.comment(`${report.succeeded} requests answered; ${report.errors.length} client-visible errors; nginx met ${resets.length} resets at listener closes`)
    t.same(
      report.errors.filter((error) => error.op === 'cart read'),
      [],
      'no read failed: nginx passes a GET whose connection was reset to another instance',
    )
    t.same(
      report.errors.filter((error) => error.status !== 502),
      [],
      'a write may get a 502 (its connection reset by the closing listener), never any other error',
    )
    t.same(
      upstreamErrors(cluster).filter((line) => !/\((111: Connection refused|104: Connection reset by peer)\)/.test(line)),
      [],
      'nginx met refused connections and resets, nothing else (no timeout, no connection closed under a request)',
    )
    t.same(await checkUsers(cluster.url, report.users), [], 'every acknowledged add is in the cart; every user carries on')
  })
}
