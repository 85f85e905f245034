import t from 'tap'
import { call, newAccount, refresh, registerAndLogin } from './client.js'
import { missing, redisKeys, startCluster, until } from './cluster.js'

// Sessions across three instances: nothing about a session lives in one process.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  const ACCOUNT_LIMIT = 6
  // Short, so that a stale replay needs no long wait, but long enough that the refresh bound it
  // implies (REFRESH_TIMEOUT_MS, half of it: 3 s) does not cut refreshes of a loaded machine.
  const GRACE_SECONDS = 6
  const cluster = await startCluster({
    instances: 3,
    env: {
      RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: String(ACCOUNT_LIMIT),
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000',
      REFRESH_GRACE_SECONDS: String(GRACE_SECONDS),
    },
  })
  t.teardown(() => cluster.close())
  const [a, b, c] = cluster.instances.map((instance) => instance.url) as [string, string, string]

  t.test('a session refreshed through a different instance each time', async (t) => {
    const { tokens } = await registerAndLogin(a)
    let current = tokens
    for (let i = 0; i < 9; i++) {
      const via = cluster.instances[i % 3]!
      const rotated = await refresh(via.url, current.refresh_token)
      t.equal(rotated.status, 200, `refresh ${i + 1} through ${via.name}`)
      t.not(rotated.body.refresh_token, current.refresh_token, 'rotated')
      current = rotated.body
      // The new access token is accepted by every instance, the one that minted it included.
      for (const instance of cluster.instances) t.equal((await call(instance.url, 'GET', '/v1/me', { token: current.access_token })).status, 200)
    }
    // And through the balancer.
    t.equal((await refresh(cluster.url, current.refresh_token)).status, 200, 'through nginx')
  })

  t.test('reuse detected across instances: a stale token replayed elsewhere revokes the session everywhere', async (t) => {
    const { tokens } = await registerAndLogin(a, 'owner-agent/1')
    const rotated = await refresh(b, tokens.refresh_token, 'owner-agent/1')
    t.equal(rotated.status, 200, 'rotated on B')
    // A copy of the rotated token replayed on C after the grace window: reuse.
    await new Promise((resolve) => setTimeout(resolve, (GRACE_SECONDS + 1) * 1000))
    const replay = await refresh(c, tokens.refresh_token, 'thief-agent/1')
    t.equal(replay.status, 401)
    t.equal(replay.body.code, 'invalid_grant')
    // The family is revoked: the owner's successor is refused on A.
    const owner = await refresh(a, rotated.body.refresh_token, 'owner-agent/1')
    t.equal(owner.status, 401, 'the successor is revoked on A')
    // Its access tokens are refused on every instance within the revocation bound.
    await Promise.all(
      cluster.instances.map((instance) =>
        until(`${instance.name} to refuse the revoked session's access token`, async () => (await call(instance.url, 'GET', '/v1/me', { token: rotated.body.access_token })).status === 401, 10_000, 50),
      ),
    )
    t.pass('the revoked session\'s access token is refused everywhere')
  })

  t.test('logout on one instance is refused on all within REVOCATIONS_MAX_AGE_SECONDS', async (t) => {
    const { tokens } = await registerAndLogin(b)
    for (const url of [a, b, c]) t.equal((await call(url, 'GET', '/v1/me', { token: tokens.access_token })).status, 200)
    const loggedOut = await call(a, 'POST', '/v1/auth/logout', { body: { refresh_token: tokens.refresh_token } })
    t.equal(loggedOut.status, 204)
    const started = Date.now()
    const refusedAfter: Record<string, number> = {}
    await Promise.all(
      cluster.instances.map((instance) =>
        until(
          `${instance.name} to refuse the logged-out token`,
          async () => {
            const me = await call(instance.url, 'GET', '/v1/me', { token: tokens.access_token })
            if (me.status !== 401) return false
            refusedAfter[instance.name] = Date.now() - started
            return true
          },
          // The stated bound (REVOCATIONS_MAX_AGE_SECONDS, 5 s by default) plus room for a loaded machine.
          5_000 + 5_000,
          50,
        ),
      ),
    )
    t.equal(Object.keys(refusedAfter).length, 3, 'refused on every instance')
    t.comment(`refused after (ms): ${JSON.stringify(refusedAfter)}`)
    t.equal((await refresh(c, tokens.refresh_token)).status, 401, 'and its refresh token everywhere')
  })

  t.test('the per-account login limit is enforced once across instances, from many addresses', async (t) => {
    const account = newAccount()
    t.equal((await call(a, 'POST', '/v1/auth/register', { body: account })).status, 201)
    const wrong = { email: account.email, password: 'not-the-password' }
    const statuses: number[] = []
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      const via = cluster.instances[i % 3]!
      // Each attempt from another address, as nginx would set it at the edge.
      const attempt = await call(via.url, 'POST', '/v1/auth/login', { body: wrong, headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } })
      statuses.push(attempt.status)
    }
    t.same(statuses, Array(ACCOUNT_LIMIT).fill(401), `${ACCOUNT_LIMIT} attempts spread over three instances`)
    for (const instance of cluster.instances) {
      const over = await call(instance.url, 'POST', '/v1/auth/login', { body: account, headers: { 'x-forwarded-for': '203.0.113.7' } })
      t.equal(over.status, 429, `the next attempt is refused on ${instance.name}, even with the right password`)
      t.equal(over.body.code, 'rate_limited')
      t.ok(Number(over.headers.get('retry-after')) > 0, 'with Retry-After')
    }
    const keys = await redisKeys(cluster.redisPrefix)
    t.ok(keys.some((key) => key.startsWith(`${cluster.redisPrefix}rate-limit:login-account:`)), 'the counter is in Redis under the deployment prefix')
    t.notOk(keys.some((key) => key.includes('undefined')), 'with no placeholder in its name')
  })

  t.test('nginx keeps /metrics off the edge and sets X-Forwarded-For itself', async (t) => {
    t.equal((await call(cluster.url, 'GET', '/metrics')).status, 404, '/metrics is not served through the edge')
    // A client cannot pick the address the limits see: nginx replaces X-Forwarded-For.
    const account = newAccount()
    t.equal((await call(cluster.url, 'POST', '/v1/auth/register', { body: account })).status, 201)
    const login = await call(cluster.url, 'POST', '/v1/auth/login', { body: account, headers: { 'x-forwarded-for': '192.0.2.99' } })
    t.equal(login.status, 200)
    const sessions = await call(cluster.url, 'GET', '/v1/auth/sessions', { token: login.body.access_token })
    t.equal(sessions.status, 200)
    t.equal(sessions.body.sessions[0].ip, '127.0.0.1', 'the session records the address nginx saw, not the one the client claimed')
  })
}
