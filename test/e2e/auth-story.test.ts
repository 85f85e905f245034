import t from 'tap'
import { startService } from './service.js'

interface TokenResponse {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  scope: string
}

// Long enough that a slow machine keeps the replay inside the window, and that the refresh bound
// it implies (REFRESH_TIMEOUT_MS, half of it: 3 s, the database query timeout) only cuts a refresh
// the database itself stalls: with 1 or 2 s, a refresh on a loaded machine could 503 at 0.5 or 1 s.
const GRACE_SECONDS = 6

t.test('register, log in, refresh, reuse an old token after the window, and log in again, over real HTTP', async (t) => {
  const service = await startService({ REFRESH_GRACE_SECONDS: String(GRACE_SECONDS) })
  t.teardown(() => service.kill())
  const url = (path: string) => `${service.baseUrl}${path}`
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  const email = `story-${Date.now()}@example.test`
  const password = 'a long and unusual passphrase'

  const registered = await post('/v1/auth/register', { email, password, name: 'Story' })
  t.equal(registered.status, 201, 'registered')

  const loggedIn = await post('/v1/auth/login', { email: email.toUpperCase(), password })
  t.equal(loggedIn.status, 200, 'logged in')
  t.equal(loggedIn.headers.get('cache-control'), 'no-store')
  t.match(loggedIn.headers.get('set-cookie') ?? '', /tollgate_refresh=.*HttpOnly.*SameSite=Strict/i, 'sets the refresh cookie')
  const first = (await loggedIn.json()) as TokenResponse
  const bearer = { authorization: `Bearer ${first.access_token}` }

  const me = await fetch(url('/v1/me'), { headers: bearer })
  t.equal(me.status, 200)
  t.equal(((await me.json()) as { email: string }).email, email)

  const refreshed = await post('/v1/auth/refresh', { refresh_token: first.refresh_token })
  t.equal(refreshed.status, 200, 'refreshed')
  const second = (await refreshed.json()) as TokenResponse
  t.not(second.refresh_token, first.refresh_token, 'rotated')

  const replay = await post('/v1/auth/refresh', { refresh_token: first.refresh_token })
  t.equal(replay.status, 200, 'a replay inside the window succeeds')
  t.equal(((await replay.json()) as TokenResponse).refresh_token, second.refresh_token, 'with the same successor')

  await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 500))

  const reuse = await post('/v1/auth/refresh', { refresh_token: first.refresh_token })
  t.equal(reuse.status, 401, 'a reuse after the window is refused')
  t.equal(((await reuse.json()) as { code: string }).code, 'invalid_grant')

  const afterReuse = await post('/v1/auth/refresh', { refresh_token: second.refresh_token })
  t.equal(afterReuse.status, 401, 'the whole session is revoked: its live token too')
  const sessionsWithOldToken = await fetch(url('/v1/auth/sessions'), { headers: bearer })
  t.equal(sessionsWithOldToken.status, 401, 'the revoked session\'s access token no longer manages the account')

  const again = await post('/v1/auth/login', { email, password })
  t.equal(again.status, 200, 'logging in again works')
  const third = (await again.json()) as TokenResponse
  const sessions = await fetch(url('/v1/auth/sessions'), { headers: { authorization: `Bearer ${third.access_token}` } })
  t.equal(sessions.status, 200)
  const listed = ((await sessions.json()) as { sessions: { current: boolean }[] }).sessions
  t.equal(listed.length, 1, 'only the new session is live')
  t.equal(listed[0]!.current, true)

  const events = await fetch(url('/v1/auth/events'), { headers: { authorization: `Bearer ${third.access_token}` } })
  const types = ((await events.json()) as { events: { type: string }[] }).events.map((e) => e.type)
  t.ok(types.includes('refresh_token_reused'), 'the reuse is in the security events')
  t.ok(types.includes('session_revoked'))

  const metrics = await (await fetch(url('/metrics'))).text()
  t.match(metrics, /tollgate_security_events_total\{type="refresh_token_reused"\} [1-9]/)

  const logs = JSON.stringify(service.logs())
  for (const secret of [password, first.refresh_token, second.refresh_token, third.refresh_token]) {
    t.notOk(logs.includes(secret), 'no password or refresh token in the logs')
  }

  const { code } = await service.stop('SIGTERM')
  t.equal(code, 0)
})
