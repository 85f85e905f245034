import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startService } from './service.js'

interface CartItem {
  id: string
  sku: string
  quantity: number
  createdAt: string
  updatedAt: string
}

t.test('a user registers, logs in and keeps a cart over real HTTP', async (t) => {
  const service = await startService()
  t.teardown(() => service.kill())
  const url = (path: string) => `${service.baseUrl}${path}`
  const json = { 'content-type': 'application/json' }

  const email = `shopper-${randomBytes(4).toString('hex')}@example.test`
  const password = `correct horse ${randomBytes(8).toString('hex')}`
  const registered = await fetch(url('/v1/auth/register'), { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
  t.equal(registered.status, 201, 'registers')
  const login = await fetch(url('/v1/auth/login'), { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
  t.equal(login.status, 200, 'logs in')
  const { access_token: accessToken, scope } = (await login.json()) as { access_token: string; scope: string }
  t.match(scope, /\bcart\b/, 'the first-party token carries the cart scope')
  const auth = { authorization: `Bearer ${accessToken}` }

  const anonymous = await fetch(url('/v1/cart/items'))
  t.equal(anonymous.status, 401, 'no token: 401')
  t.match(anonymous.headers.get('www-authenticate'), /error="invalid_token"/)
  t.match(anonymous.headers.get('content-type'), /^application\/problem\+json/)

  const empty = await fetch(url('/v1/cart/items'), { headers: auth })
  t.equal(empty.status, 200)
  t.same(await empty.json(), { items: [], version: 0 })
  t.equal(empty.headers.get('etag'), '"0"')

  const added = await fetch(url('/v1/cart/items'), { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ sku: 'TEA-01', quantity: 2 }) })
  t.equal(added.status, 201, 'adds an item')
  const item = (await added.json()) as CartItem
  t.match(item, { sku: 'TEA-01', quantity: 2 })
  t.equal(added.headers.get('etag'), '"1"')

  const concurrent = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(url('/v1/cart/items'), { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ sku: 'TEA-01', quantity: 1 }) }),
    ),
  )
  t.same(
    concurrent.map((r) => r.status),
    Array(20).fill(201),
    'concurrent adds all succeed',
  )
  await Promise.all(concurrent.map((r) => r.arrayBuffer()))

  const listed = await fetch(url('/v1/cart/items'), { headers: auth })
  const cart = (await listed.json()) as { items: CartItem[]; version: number }
  t.same(
    cart.items.map((i) => [i.id, i.quantity]),
    [[item.id, 22]],
    'no add was lost',
  )
  t.equal(cart.version, 21)
  const etag = listed.headers.get('etag')!
  t.equal(etag, '"21"')

  const notModified = await fetch(url('/v1/cart/items'), { headers: { ...auth, 'if-none-match': etag } })
  t.equal(notModified.status, 304, 'If-None-Match: 304')

  const tooMany = await fetch(url('/v1/cart/items'), { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ sku: 'TEA-01', quantity: 999 }) })
  t.equal(tooMany.status, 422)
  t.match(await tooMany.json(), { code: 'quantity_limit_exceeded' })

  const invalid = await fetch(url('/v1/cart/items'), { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ sku: 'bad sku', quantity: '1' }) })
  t.equal(invalid.status, 400)
  t.match(await invalid.json(), { code: 'validation_failed' })

  const patched = await fetch(url(`/v1/cart/items/${item.id}`), {
    method: 'PATCH',
    headers: { ...auth, ...json, 'if-match': etag },
    body: JSON.stringify({ quantity: 3 }),
  })
  t.equal(patched.status, 200, 'PATCH with the current ETag')
  t.match(await patched.json(), { id: item.id, quantity: 3 })
  t.equal(patched.headers.get('etag'), '"22"')

  const stale = await fetch(url(`/v1/cart/items/${item.id}`), {
    method: 'PATCH',
    headers: { ...auth, ...json, 'if-match': etag },
    body: JSON.stringify({ quantity: 4 }),
  })
  t.equal(stale.status, 412, 'PATCH with a stale ETag')
  t.match(await stale.json(), { code: 'precondition_failed' })

  const removed = await fetch(url(`/v1/cart/items/${item.id}`), { method: 'DELETE', headers: auth })
  t.equal(removed.status, 204)
  const gone = await fetch(url(`/v1/cart/items/${item.id}`), { method: 'DELETE', headers: auth })
  t.equal(gone.status, 404)
  await gone.arrayBuffer()

  await (await fetch(url('/v1/cart/items'), { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ sku: 'MUG', quantity: 1 }) })).arrayBuffer()
  const cleared = await fetch(url('/v1/cart'), { method: 'DELETE', headers: auth })
  t.equal(cleared.status, 204)
  t.same(await (await fetch(url('/v1/cart/items'), { headers: auth })).json(), { items: [], version: 25 })

  const { code } = await service.stop('SIGTERM')
  t.equal(code, 0)
  t.same(
    service.logs().filter((line) => line.level >= 50),
    [],
    'logs no error',
  )
  const logged = JSON.stringify(service.logs())
  t.notOk(logged.includes(accessToken), 'the access token never reaches a log line')
  t.notOk(logged.includes(password), 'the password never reaches a log line')
})
