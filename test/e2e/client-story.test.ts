import t from 'tap'
import type * as ClientModule from '../../src/client/index.js'
import { startService } from './service.js'

// The whole story through the typed client generated from openapi.yaml, as the package ships it:
// `tollgate/client` resolves to dist/client (npm run build), typed here by its source so that type
// checking does not need a build.
const shipped = 'tollgate/client'
const { FORM_ENCODED, createTollgateClient } = (await import(shipped)) as typeof ClientModule

// Long enough that a slow machine keeps the replay inside the window, and that the refresh bound
// it implies (REFRESH_TIMEOUT_MS, half of it: 3 s, the database query timeout) only cuts a refresh
// the database itself stalls: with 1 s, a refresh on a loaded machine could 503 at 0.5 s.
const GRACE_SECONDS = 6

t.test('the generated client drives the full story: register, login, cart, refresh, reuse detection, sessions, logout', async (t) => {
  const service = await startService({ REFRESH_GRACE_SECONDS: String(GRACE_SECONDS) })
  t.teardown(() => service.kill())

  let accessToken: string | undefined
  const tollgate = createTollgateClient(service.baseUrl, { accessToken: () => accessToken })
  const email = `client-story-${Date.now()}@example.test`
  const password = 'a long and unusual passphrase'

  const registered = await tollgate.POST('/v1/auth/register', { body: { email: email.toUpperCase(), password, name: 'Client Story' } })
  t.equal(registered.response.status, 201, 'registered')
  t.equal(registered.data?.email, email, 'the email comes back lower-cased')

  const taken = await tollgate.POST('/v1/auth/register', { body: { email, password } })
  t.equal(taken.response.status, 409)
  t.equal(taken.error?.code, 'email_taken', 'errors are typed problem details')
  t.match(taken.response.headers.get('content-type'), /^application\/problem\+json/)

  const loggedIn = await tollgate.POST('/v1/auth/login', { body: { email, password } })
  t.equal(loggedIn.response.status, 200, 'logged in')
  const first = loggedIn.data!
  t.equal(first.token_type, 'Bearer')
  accessToken = first.access_token

  const me = await tollgate.GET('/v1/me')
  t.equal(me.data?.email, email, 'the access token is sent by the client')

  const added = await tollgate.POST('/v1/cart/items', { body: { sku: 'TEA-EARL-GREY-250G', quantity: 2 } })
  t.equal(added.response.status, 201, 'added to the cart')
  const again = await tollgate.POST('/v1/cart/items', { body: { sku: 'TEA-EARL-GREY-250G', quantity: 3 } })
  t.equal(again.data?.quantity, 5, 'adding the same sku adds to its quantity')
  const etag = again.response.headers.get('etag')!

  const cart = await tollgate.GET('/v1/cart/items')
  t.equal(cart.response.status, 200)
  t.same(
    cart.data?.items.map(({ sku, quantity }) => ({ sku, quantity })),
    [{ sku: 'TEA-EARL-GREY-250G', quantity: 5 }],
  )
  t.equal(cart.response.headers.get('etag'), etag, 'the cart version is its ETag')

  const tooMany = await tollgate.POST('/v1/cart/items', { body: { sku: 'TEA-EARL-GREY-250G', quantity: 999 } })
  t.equal(tooMany.error?.code, 'quantity_limit_exceeded', 'a total above 999 is refused')

  const stale = await tollgate.PATCH('/v1/cart/items/{id}', {
    params: { path: { id: again.data!.id }, header: { 'if-match': '"0"' } },
    body: { quantity: 1 },
  })
  t.equal(stale.response.status, 412, 'a write with a stale If-Match is refused')

  const refreshed = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: first.refresh_token } })
  t.equal(refreshed.response.status, 200, 'refreshed')
  const second = refreshed.data!
  t.not(second.refresh_token, first.refresh_token, 'the refresh token rotates')
  accessToken = second.access_token

  const replay = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: first.refresh_token } })
  t.equal(replay.data?.refresh_token, second.refresh_token, 'a replay inside the grace window gets the same successor')

  // A second session, to see reuse detection revoke only the session of the reused token.
  const other = await tollgate.POST('/v1/auth/login', { body: { email, password } })
  const sessions = await tollgate.GET('/v1/auth/sessions')
  t.equal(sessions.data?.sessions.length, 2, 'two live sessions')
  t.equal(sessions.data?.sessions.filter((session) => session.current).length, 1, 'one of them is the current one')

  await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 1000))

  const reuse = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: first.refresh_token } })
  t.equal(reuse.response.status, 401, 'an old refresh token after the grace window is refused')
  t.equal(reuse.error?.code, 'invalid_grant')
  const afterReuse = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: second.refresh_token } })
  t.equal(afterReuse.error?.code, 'invalid_grant', 'the whole session is revoked, its newest token too')
  const revokedAccess = await tollgate.GET('/v1/auth/sessions')
  t.equal(revokedAccess.response.status, 401, "the revoked session's access token no longer manages the account")
  t.match(revokedAccess.response.headers.get('www-authenticate'), /error="invalid_token"/)

  accessToken = other.data!.access_token
  const remaining = await tollgate.GET('/v1/auth/sessions')
  t.equal(remaining.data?.sessions.length, 1, 'the other session lives on')
  const events = await tollgate.GET('/v1/auth/events')
  const types = events.data?.events.map((event) => event.type) ?? []
  t.ok(types.includes('refresh_token_reused'), 'the reuse is a security event')

  // The same refresh token through the OAuth token endpoint, form-encoded, as the public first-party client.
  const metadata = await tollgate.GET('/.well-known/oauth-authorization-server')
  t.ok(metadata.data?.grant_types_supported.includes('refresh_token'), 'the metadata lists the refresh_token grant')
  const oauth = await tollgate.POST('/oauth/token', {
    body: { grant_type: 'refresh_token', refresh_token: other.data!.refresh_token, client_id: 'tollgate-web' },
    headers: FORM_ENCODED,
  })
  t.equal(oauth.response.status, 200, 'the OAuth token endpoint rotates it too, with no bearer token sent along')
  const unsupported = await tollgate.POST('/oauth/token', { body: { grant_type: 'password' }, headers: FORM_ENCODED })
  t.equal(unsupported.error?.error, 'unsupported_grant_type', 'OAuth errors are typed RFC 6749 bodies')

  const loggedOut = await tollgate.POST('/v1/auth/logout', { body: { refresh_token: oauth.data!.refresh_token! } })
  t.equal(loggedOut.response.status, 204, 'logged out')
  const afterLogout = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: oauth.data!.refresh_token! } })
  t.equal(afterLogout.error?.code, 'invalid_grant', 'the session is over')
  accessToken = oauth.data!.access_token
  t.equal((await tollgate.GET('/v1/auth/sessions')).response.status, 401, 'and its access token with it')

  const { code } = await service.stop('SIGTERM')
  t.equal(code, 0)
})
