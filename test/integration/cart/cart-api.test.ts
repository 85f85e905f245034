import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { userWithAccessToken } from '../../helpers/tokens.js'
import { cartRequest, shopper, storedCart } from './helpers.js'

let testApp: TestApp
let app: App

beforeAll(async () => {
  testApp = await buildTestApp()
  app = testApp.app
})

afterAll(async () => {
  await testApp?.close()
})


const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) {
  expect(response.statusCode).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(response.json()).toMatchObject({ status, code, type: `urn:tollgate:problem:${code}` })
}

describe('GET /v1/cart/items', () => {
  it('returns an empty cart at version 0 for a user who never wrote to it, and creates nothing', async () => {
    const { userId, request } = await shopper(app)
    const response = await request('GET', '/v1/cart/items')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ items: [], version: 0 })
    expect(response.headers.etag).toBe('"0"')
    expect(response.headers['cache-control']).toBe('private, no-cache')
    expect(await storedCart(app, userId)).toEqual({ version: null, items: [] })
  })

  it('answers 304 with the ETag to a matching If-None-Match, and 200 once the cart changed', async () => {
    const { request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'A-1', quantity: 1 })
    const first = await request('GET', '/v1/cart/items')
    const etag = first.headers.etag as string
    expect(etag).toBe('"1"')

    for (const ifNoneMatch of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const notModified = await request('GET', '/v1/cart/items', undefined, { 'if-none-match': ifNoneMatch })
      expect(notModified.statusCode, ifNoneMatch).toBe(304)
      expect(notModified.body).toBe('')
      expect(notModified.headers.etag).toBe(etag)
    }

    await request('POST', '/v1/cart/items', { sku: 'A-1', quantity: 1 })
    const changed = await request('GET', '/v1/cart/items', undefined, { 'if-none-match': etag })
    expect(changed.statusCode).toBe(200)
    expect(changed.headers.etag).toBe('"2"')
    expect(changed.json().items[0].quantity).toBe(2)
  })

  it('shows each user only their own items', async () => {
    const alice = await shopper(app)
    const bob = await shopper(app)
    await alice.request('POST', '/v1/cart/items', { sku: 'shared-sku', quantity: 2 })
    await alice.request('POST', '/v1/cart/items', { sku: 'alice-only', quantity: 1 })
    await bob.request('POST', '/v1/cart/items', { sku: 'shared-sku', quantity: 5 })

    const aliceCart = (await alice.request('GET', '/v1/cart/items')).json()
    const bobCart = (await bob.request('GET', '/v1/cart/items')).json()
    expect(aliceCart.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity]).sort()).toEqual([
      ['alice-only', 1],
      ['shared-sku', 2],
    ])
    expect(bobCart.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity])).toEqual([['shared-sku', 5]])
    expect(aliceCart.version).toBe(2)
    expect(bobCart.version).toBe(1)
  })
})

describe('POST /v1/cart/items', () => {
  it('adds an item: 201 with the item and the new ETag', async () => {
    const { userId, request } = await shopper(app)
    const response = await request('POST', '/v1/cart/items', { sku: 'Book_9.78-3', quantity: 3 })
    expect(response.statusCode).toBe(201)
    const item = response.json()
    expect(Object.keys(item).sort()).toEqual(['createdAt', 'id', 'quantity', 'sku', 'updatedAt'])
    expect(item).toMatchObject({ sku: 'Book_9.78-3', quantity: 3 })
    expect(item.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(item.createdAt).toMatch(ISO_DATE)
    expect(item.updatedAt).toBe(item.createdAt)
    expect(response.headers.etag).toBe('"1"')

    const cart = (await request('GET', '/v1/cart/items')).json()
    expect(cart).toEqual({ items: [item], version: 1 })
    expect(await storedCart(app, userId)).toEqual({ version: 1, items: [{ id: item.id, sku: 'Book_9.78-3', quantity: 3 }] })
  })

  it('adds to the quantity of a sku already in the cart, keeping its id', async () => {
    const { request } = await shopper(app)
    const first = (await request('POST', '/v1/cart/items', { sku: 'twice', quantity: 2 })).json()
    const second = await request('POST', '/v1/cart/items', { sku: 'twice', quantity: 5 })
    expect(second.statusCode).toBe(201)
    expect(second.json()).toMatchObject({ id: first.id, sku: 'twice', quantity: 7, createdAt: first.createdAt })
    expect(second.headers.etag).toBe('"2"')
  })

  it('treats skus as case-sensitive', async () => {
    const { request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'abc', quantity: 1 })
    await request('POST', '/v1/cart/items', { sku: 'ABC', quantity: 1 })
    expect((await request('GET', '/v1/cart/items')).json().items).toHaveLength(2)
  })

  it('accepts a total of exactly 999, and refuses one above with 422, changing nothing (not even the version)', async () => {
    const { userId, request } = await shopper(app)
    const item = (await request('POST', '/v1/cart/items', { sku: 'cap', quantity: 990 })).json()
    expect((await request('POST', '/v1/cart/items', { sku: 'cap', quantity: 9 })).json().quantity).toBe(999)
    const before = await storedCart(app, userId)

    const over = await request('POST', '/v1/cart/items', { sku: 'cap', quantity: 1 })
    expectProblem(over, 422, 'quantity_limit_exceeded')
    expect(over.headers.etag).toBeUndefined()
    expect(await storedCart(app, userId)).toEqual(before)
    expect(before).toEqual({ version: 2, items: [{ id: item.id, sku: 'cap', quantity: 999 }] })
  })

  it.each([
    ['no body', undefined],
    ['an empty object', {}],
    ['no sku', { quantity: 1 }],
    ['no quantity', { sku: 'a' }],
    ['an empty sku', { sku: '', quantity: 1 }],
    ['a sku of 65 characters', { sku: 'a'.repeat(65), quantity: 1 }],
    ['a sku with a space', { sku: 'a b', quantity: 1 }],
    ['a sku with a slash', { sku: 'a/b', quantity: 1 }],
    ['a sku with a non-ASCII letter', { sku: 'café', quantity: 1 }],
    ['a sku with a quote', { sku: "a'--", quantity: 1 }],
    ['a sku with a newline', { sku: 'a\n', quantity: 1 }],
    ['a numeric sku', { sku: 42, quantity: 1 }],
    ['a null sku', { sku: null, quantity: 1 }],
    ['quantity 0', { sku: 'a', quantity: 0 }],
    ['a negative quantity', { sku: 'a', quantity: -1 }],
    ['quantity 1000', { sku: 'a', quantity: 1000 }],
    ['a fractional quantity', { sku: 'a', quantity: 5.5 }],
    ['a quantity as a string', { sku: 'a', quantity: '5' }],
    ['a boolean quantity', { sku: 'a', quantity: true }],
    ['a null quantity', { sku: 'a', quantity: null }],
    ['a huge quantity', { sku: 'a', quantity: 1e300 }],
    ['an array body', '[{"sku":"a","quantity":1}]'],
    ['a string body', '"a"'],
    ['malformed JSON', '{"sku": "a", "quantity": 1'],
  ])('refuses %s with 400 validation_failed and writes nothing', async (_case, body) => {
    const { userId, request } = await shopper(app)
    const response = await request('POST', '/v1/cart/items', body)
    expectProblem(response, 400, 'validation_failed')
    expect(await storedCart(app, userId)).toEqual({ version: null, items: [] })
  })

  it('refuses a body of another type with 415, and one too large with 413, writing nothing', async () => {
    const { userId, authorization } = await shopper(app)
    const send = (type: string, payload: string) => app.inject({ method: 'POST', url: '/v1/cart/items', headers: { authorization, 'content-type': type }, payload })
    expectProblem(await send('application/xml', '<item sku="a" quantity="1"/>'), 415, 'unsupported_media_type')
    // What an HTML form on another site can send without a preflight: never accepted as a body here.
    expectProblem(await send('text/plain', '{"sku":"a","quantity":1}'), 415, 'unsupported_media_type')
    expectProblem(await send('application/x-www-form-urlencoded', 'sku=a&quantity=1'), 415, 'unsupported_media_type')
    const huge = await app.inject({ method: 'POST', url: '/v1/cart/items', headers: { authorization }, payload: { sku: 'a', quantity: 1, pad: 'x'.repeat(64 * 1024) } })
    expectProblem(huge, 413, 'payload_too_large')
    expect(await storedCart(app, userId)).toEqual({ version: null, items: [] })
  })

  it('accepts a sku of exactly 64 characters of the whole alphabet', async () => {
    const { request } = await shopper(app)
    const sku = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'.slice(0, 64)
    const response = await request('POST', '/v1/cart/items', { sku, quantity: 1 })
    expect(response.statusCode).toBe(201)
    expect(response.json().sku).toBe(sku)
  })

  it('ignores unknown fields', async () => {
    const { request } = await shopper(app)
    const response = await request('POST', '/v1/cart/items', { sku: 'x', quantity: 1, price: 0, userId: randomUUID() })
    expect(response.statusCode).toBe(201)
    expect(Object.keys(response.json())).not.toContain('price')
  })

  it('honours If-Match too: a stale version is 412 and adds nothing', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'x', quantity: 1 })
    expectProblem(await request('POST', '/v1/cart/items', { sku: 'y', quantity: 1 }, { 'if-match': '"0"' }), 412, 'precondition_failed')
    expect((await storedCart(app, userId)).items).toHaveLength(1)
    const ok = await request('POST', '/v1/cart/items', { sku: 'y', quantity: 1 }, { 'if-match': '"1"' })
    expect(ok.statusCode).toBe(201)
    expect(ok.headers.etag).toBe('"2"')
  })
})

describe('PATCH /v1/cart/items/{id}', () => {
  async function cartWithItem() {
    const user = await shopper(app)
    const item = (await user.request('POST', '/v1/cart/items', { sku: 'patched', quantity: 2 })).json()
    return { ...user, item }
  }

  it('sets the quantity without If-Match: 200 with the item and the new ETag', async () => {
    const { request, item } = await cartWithItem()
    const response = await request('PATCH', `/v1/cart/items/${item.id}`, { quantity: 7 })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ id: item.id, sku: 'patched', quantity: 7, createdAt: item.createdAt })
    expect(response.json().updatedAt).toMatch(ISO_DATE)
    expect(response.headers.etag).toBe('"2"')
    expect((await request('GET', '/v1/cart/items')).json()).toMatchObject({ items: [{ id: item.id, quantity: 7 }], version: 2 })
  })

  it('accepts 999 (it sets, it does not add)', async () => {
    const { request, item } = await cartWithItem()
    expect((await request('PATCH', `/v1/cart/items/${item.id}`, { quantity: 999 })).json().quantity).toBe(999)
  })

  it.each([
    ['the current ETag', '"1"'],
    ['a list holding the current ETag', '"0", "1"'],
    ['*', '*'],
  ])('applies with If-Match %s', async (_case, ifMatch) => {
    const { request, item } = await cartWithItem()
    const response = await request('PATCH', `/v1/cart/items/${item.id}`, { quantity: 4 }, { 'if-match': ifMatch })
    expect(response.statusCode).toBe(200)
    expect(response.headers.etag).toBe('"2"')
  })

  it.each([
    ['a stale ETag', '"0"'],
    ['a future ETag', '"9"'],
    ['the current ETag, weak', 'W/"1"'],
    ['an unrelated tag', '"abc"'],
  ])('refuses If-Match with %s: 412 precondition_failed, nothing changes', async (_case, ifMatch) => {
    const { userId, request, item } = await cartWithItem()
    const before = await storedCart(app, userId)
    const response = await request('PATCH', `/v1/cart/items/${item.id}`, { quantity: 4 }, { 'if-match': ifMatch })
    expectProblem(response, 412, 'precondition_failed')
    expect(await storedCart(app, userId)).toEqual(before)
  })

  it.each([
    ['an unquoted version', '1'],
    ['an unterminated tag', '"1'],
    ['garbage', 'version=1'],
  ])('refuses a malformed If-Match (%s) with 400 validation_failed, nothing changes', async (_case, ifMatch) => {
    const { userId, request, item } = await cartWithItem()
    const before = await storedCart(app, userId)
    expectProblem(await request('PATCH', `/v1/cart/items/${item.id}`, { quantity: 4 }, { 'if-match': ifMatch }), 400, 'validation_failed')
    expect(await storedCart(app, userId)).toEqual(before)
  })

  it.each([
    ['no body', undefined],
    ['no quantity', {}],
    ['quantity 0', { quantity: 0 }],
    ['quantity 1000', { quantity: 1000 }],
    ['a fractional quantity', { quantity: 1.5 }],
    ['a quantity as a string', { quantity: '3' }],
    ['a boolean quantity', { quantity: false }],
    ['a null quantity', { quantity: null }],
  ])('refuses %s with 400 validation_failed, nothing changes', async (_case, body) => {
    const { userId, request, item } = await cartWithItem()
    const before = await storedCart(app, userId)
    expectProblem(await request('PATCH', `/v1/cart/items/${item.id}`, body), 400, 'validation_failed')
    expect(await storedCart(app, userId)).toEqual(before)
  })

  it.each([
    ['an unknown id', () => randomUUID()],
    ['a malformed id', () => 'not-a-uuid'],
    ['an id with SQL in it', () => "1' OR '1'='1"],
  ])('answers 404 not_found for %s, changing nothing', async (_case, id) => {
    const { userId, request } = await cartWithItem()
    const before = await storedCart(app, userId)
    expectProblem(await request('PATCH', `/v1/cart/items/${encodeURIComponent(id())}`, { quantity: 3 }), 404, 'not_found')
    expect(await storedCart(app, userId)).toEqual(before)
  })

  it('answers 404 (not 412) for an unknown id even with a stale If-Match', async () => {
    const { request } = await cartWithItem()
    expectProblem(await request('PATCH', `/v1/cart/items/${randomUUID()}`, { quantity: 3 }, { 'if-match': '"0"' }), 404, 'not_found')
  })

  it("answers 404 for a user with no cart at all", async () => {
    const { request } = await shopper(app)
    expectProblem(await request('PATCH', `/v1/cart/items/${randomUUID()}`, { quantity: 3 }), 404, 'not_found')
  })

  it("answers 404 (never 403) for another user's item and leaves it alone", async () => {
    const owner = await cartWithItem()
    const intruder = await shopper(app)
    await intruder.request('POST', '/v1/cart/items', { sku: 'mine', quantity: 1 })
    const ownerBefore = await storedCart(app, owner.userId)
    const intruderBefore = await storedCart(app, intruder.userId)

    expectProblem(await intruder.request('PATCH', `/v1/cart/items/${owner.item.id}`, { quantity: 9 }), 404, 'not_found')
    expectProblem(await intruder.request('PATCH', `/v1/cart/items/${owner.item.id}`, { quantity: 9 }, { 'if-match': '"1"' }), 404, 'not_found')
    expect(await storedCart(app, owner.userId)).toEqual(ownerBefore)
    expect(await storedCart(app, intruder.userId)).toEqual(intruderBefore)
  })
})

describe('DELETE /v1/cart/items/{id}', () => {
  it('removes the item: 204 with the new ETag; a second delete is 404', async () => {
    const { userId, request } = await shopper(app)
    const keep = (await request('POST', '/v1/cart/items', { sku: 'keep', quantity: 1 })).json()
    const drop = (await request('POST', '/v1/cart/items', { sku: 'drop', quantity: 1 })).json()
    const response = await request('DELETE', `/v1/cart/items/${drop.id}`)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expect(response.headers.etag).toBe('"3"')
    expect(await storedCart(app, userId)).toEqual({ version: 3, items: [{ id: keep.id, sku: 'keep', quantity: 1 }] })

    expectProblem(await request('DELETE', `/v1/cart/items/${drop.id}`), 404, 'not_found')
    expect((await storedCart(app, userId)).version).toBe(3)
  })

  it('answers 404 for malformed and unknown ids', async () => {
    const { request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'x', quantity: 1 })
    expectProblem(await request('DELETE', '/v1/cart/items/123'), 404, 'not_found')
    expectProblem(await request('DELETE', `/v1/cart/items/${randomUUID()}`), 404, 'not_found')
  })

  it("answers 404 (never 403) for another user's item and leaves it alone", async () => {
    const owner = await shopper(app)
    const item = (await owner.request('POST', '/v1/cart/items', { sku: 'x', quantity: 1 })).json()
    const intruder = await shopper(app)
    expectProblem(await intruder.request('DELETE', `/v1/cart/items/${item.id}`), 404, 'not_found')
    expect(await storedCart(app, owner.userId)).toEqual({ version: 1, items: [{ id: item.id, sku: 'x', quantity: 1 }] })
    expect(await storedCart(app, intruder.userId)).toEqual({ version: null, items: [] })
  })

  it('honours If-Match: a stale version is 412 and keeps the item', async () => {
    const { userId, request } = await shopper(app)
    const item = (await request('POST', '/v1/cart/items', { sku: 'x', quantity: 1 })).json()
    expectProblem(await request('DELETE', `/v1/cart/items/${item.id}`, undefined, { 'if-match': '"0"' }), 412, 'precondition_failed')
    expect((await storedCart(app, userId)).items).toHaveLength(1)
    expect((await request('DELETE', `/v1/cart/items/${item.id}`, undefined, { 'if-match': '"1"' })).statusCode).toBe(204)
  })
})

describe('DELETE /v1/cart', () => {
  it('empties the cart and bumps the version', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'a', quantity: 1 })
    await request('POST', '/v1/cart/items', { sku: 'b', quantity: 2 })
    const response = await request('DELETE', '/v1/cart')
    expect(response.statusCode).toBe(204)
    expect(response.headers.etag).toBe('"3"')
    expect(await storedCart(app, userId)).toEqual({ version: 3, items: [] })
    expect((await request('GET', '/v1/cart/items')).json()).toEqual({ items: [], version: 3 })
  })

  it('is fine on an empty cart, and on a user who never had one', async () => {
    const { userId, request } = await shopper(app)
    expect((await request('DELETE', '/v1/cart')).statusCode).toBe(204)
    expect((await request('DELETE', '/v1/cart/')).statusCode).toBe(204)
    expect(await storedCart(app, userId)).toEqual({ version: 2, items: [] })
  })

  it("leaves other users' carts alone", async () => {
    const alice = await shopper(app)
    const bob = await shopper(app)
    await bob.request('POST', '/v1/cart/items', { sku: 'b', quantity: 1 })
    await alice.request('DELETE', '/v1/cart')
    expect((await storedCart(app, bob.userId)).items).toHaveLength(1)
  })

  it('honours If-Match: a stale version is 412 and keeps every item', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'a', quantity: 1 })
    expectProblem(await request('DELETE', '/v1/cart', undefined, { 'if-match': '"0"' }), 412, 'precondition_failed')
    expect(await storedCart(app, userId)).toMatchObject({ version: 1, items: [{ sku: 'a' }] })
  })
})

describe('authentication and scope', () => {
  const routes = [
    ['GET', '/v1/cart/items', undefined],
    ['POST', '/v1/cart/items', { sku: 'a', quantity: 1 }],
    ['PATCH', `/v1/cart/items/${randomUUID()}`, { quantity: 1 }],
    ['DELETE', `/v1/cart/items/${randomUUID()}`, undefined],
    ['DELETE', '/v1/cart', undefined],
  ] as const

  it.each(routes)('%s %s without a token is 401 invalid_token with WWW-Authenticate', async (method, url, body) => {
    const response = await cartRequest(app, undefined)(method, url, body)
    expectProblem(response, 401, 'invalid_token')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
  })

  it.each(routes)('%s %s with a bad token is 401 invalid_token with WWW-Authenticate', async (method, url, body) => {
    const { authorization } = await userWithAccessToken(app)
    for (const bad of ['Bearer not.a.jwt', `${authorization.slice(0, -4)}AAAA`, 'Basic dXNlcjpwYXNz']) {
      const response = await cartRequest(app, bad)(method, url, body)
      expectProblem(response, 401, 'invalid_token')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
    }
  })

  it.each(routes)('%s %s with a token lacking the cart scope is 403 insufficient_scope, writing nothing', async (method, url, body) => {
    const { user, authorization } = await userWithAccessToken(app, { scopes: [] })
    const response = await cartRequest(app, authorization)(method, url, body)
    expectProblem(response, 403, 'insufficient_scope')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="insufficient_scope".*scope="cart"/)
    expect(await storedCart(app, user.id)).toEqual({ version: null, items: [] })
  })

  it('refuses a cart-scoped token whose subject is not a user (a client) with 403', async () => {
    const { token } = await app.accessTokens.issue({ subject: 'some-service', clientId: 'some-service', scopes: ['cart'] })
    const response = await cartRequest(app, `Bearer ${token}`)('POST', '/v1/cart/items', { sku: 'a', quantity: 1 })
    expectProblem(response, 403, 'insufficient_scope')
  })

  it('refuses writes for a token whose user was deleted with 401, writing nothing', async () => {
    const subject = randomUUID()
    const { token } = await app.accessTokens.issue({ subject, clientId: 'tollgate-web', scopes: ['cart'] })
    const request = cartRequest(app, `Bearer ${token}`)
    expectProblem(await request('POST', '/v1/cart/items', { sku: 'a', quantity: 1 }), 401, 'invalid_token')
    expectProblem(await request('DELETE', '/v1/cart'), 401, 'invalid_token')
    expect(await storedCart(app, subject)).toEqual({ version: null, items: [] })
  })
})
