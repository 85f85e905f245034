import t from 'tap'
import { call, registerAndLogin, refresh, type Tokens } from './client.js'
import { missing, startCluster } from './cluster.js'

// Two key rotations back to back while three instances issue tokens: whichever instance minted a
// token, every other instance accepts it, before, during and after each instance reloads its key set.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const REFRESH_INTERVAL_SECONDS = 3
  const cluster = await startCluster({ instances: 3, env: { KEY_REFRESH_INTERVAL_SECONDS: String(REFRESH_INTERVAL_SECONDS) } })
  t.teardown(() => cluster.close())

  // The second rotation waits until every instance has loaded the key it promotes; an instance
  // whose reload failed reloads on the unknown kid.
  t.test('two rotations back to back: zero 401s anywhere', async (t) => {
    const sessions: Tokens[] = []
    for (const instance of cluster.instances) sessions.push((await registerAndLogin(instance.url)).tokens)

    const refused: string[] = []
    let checks = 0
    async function round() {
      for (const [i, minter] of cluster.instances.entries()) {
        let rotated = await refresh(minter.url, sessions[i]!.refresh_token)
        // A lost reply on a loaded machine (status 0) is retried, as a client would inside the
        // grace window: it gets the same successor. Only a refusal counts.
        if (rotated.status === 0) rotated = await refresh(minter.url, sessions[i]!.refresh_token)
        if (rotated.status !== 200) {
          refused.push(`refresh on ${minter.name}: ${rotated.status}`)
          continue
        }
        sessions[i] = rotated.body
        for (const verifier of cluster.instances) {
          checks++
          const me = await call(verifier.url, 'GET', '/v1/me', { token: sessions[i]!.access_token })
          if (me.status !== 200) refused.push(`token of ${minter.name} on ${verifier.name}: ${me.status}`)
        }
      }
    }

    await round()
    for (const n of [1, 2]) {
      const rotated = cluster.cli('keys', 'rotate')
      t.equal(rotated.status, 0, `rotation ${n}: ${rotated.stderr}`)
    }
    // Every instance reloads its key set within the interval; keep minting and verifying across
    // two full intervals so that each one's reload falls inside the run.
    const until = Date.now() + 2 * REFRESH_INTERVAL_SECONDS * 1000 + 1_000
    while (Date.now() < until) await round()
    t.comment(`${checks} cross-instance verifications`)
    t.same(refused, [], 'no token refused by any instance')
  })
}
