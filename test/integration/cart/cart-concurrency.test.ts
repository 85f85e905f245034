import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { shopper, storedCart } from './helpers.js'

// Real concurrent requests: on PostgreSQL they race on the pool's connections; on the embedded
// PGlite they are serialized, and the outcome must be the same.
let testApp: TestApp
let app: App

beforeAll(async () => {
  testApp = await buildTestApp()
  app = testApp.app
})

afterAll(async () => {
  await testApp?.close()
})


function statuses(responses: { statusCode: number }[]) {
  const counts: Record<number, number> = {}
  for (const { statusCode } of responses) counts[statusCode] = (counts[statusCode] ?? 0) + 1
  return counts
}

describe('concurrent cart writes', () => {
  it('50 concurrent adds of one sku end at exactly 50, with the version advanced by 50', async () => {
    const { userId, request } = await shopper(app)
    const responses = await Promise.all(Array.from({ length: 50 }, () => request('POST', '/v1/cart/items', { sku: 'hot', quantity: 1 })))
    expect(statuses(responses)).toEqual({ 201: 50 })
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1)
    expect(responses.map((r) => r.json().quantity).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(new Set(responses.map((r) => r.headers.etag)).size).toBe(50)

    const stored = await storedCart(app, userId)
    expect(stored.version).toBe(50)
    expect(stored.items).toMatchObject([{ sku: 'hot', quantity: 50 }])
    expect((await request('GET', '/v1/cart/items')).json()).toMatchObject({ version: 50, items: [{ sku: 'hot', quantity: 50 }] })
  })

  it('concurrent adds of distinct skus are all present', async () => {
    const { userId, request } = await shopper(app)
    const skus = Array.from({ length: 40 }, (_, i) => `sku-${i}`)
    const responses = await Promise.all(skus.map((sku, i) => request('POST', '/v1/cart/items', { sku, quantity: i + 1 })))
    expect(statuses(responses)).toEqual({ 201: 40 })
    const stored = await storedCart(app, userId)
    expect(stored.version).toBe(40)
    expect(stored.items.map(({ sku, quantity }) => [sku, quantity]).sort()).toEqual(skus.map((sku, i) => [sku, i + 1]).sort())
  })

  it('concurrent PATCHes with the same If-Match: exactly one wins, the others get 412', async () => {
    const { userId, request } = await shopper(app)
    const item = (await request('POST', '/v1/cart/items', { sku: 'contended', quantity: 1 })).json()
    const etag = (await request('GET', '/v1/cart/items')).headers.etag as string
    expect(etag).toBe('"1"')

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request('PATCH', `/v1/cart/items/${item.id}`, { quantity: i + 2 }, { 'if-match': etag })),
    )
    expect(statuses(responses)).toEqual({ 200: 1, 412: 19 })
    for (const refused of responses.filter((r) => r.statusCode === 412)) expect(refused.json().code).toBe('precondition_failed')
    const winner = responses.find((r) => r.statusCode === 200)!
    expect(winner.headers.etag).toBe('"2"')

    const stored = await storedCart(app, userId)
    expect(stored).toEqual({ version: 2, items: [{ id: item.id, sku: 'contended', quantity: winner.json().quantity }] })
  })

  it('concurrent adds near the cap never take a total above 999', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', '/v1/cart/items', { sku: 'near-cap', quantity: 990 })
    const responses = await Promise.all(Array.from({ length: 25 }, () => request('POST', '/v1/cart/items', { sku: 'near-cap', quantity: 1 })))
    expect(statuses(responses)).toEqual({ 201: 9, 422: 16 })
    for (const refused of responses.filter((r) => r.statusCode === 422)) expect(refused.json().code).toBe('quantity_limit_exceeded')
    expect(Math.max(...responses.filter((r) => r.statusCode === 201).map((r) => r.json().quantity))).toBe(999)
    expect(await storedCart(app, userId)).toMatchObject({ version: 10, items: [{ quantity: 999 }] })
  })

  it('concurrent adds of large quantities to an empty cart stop at the last total that fits', async () => {
    const { userId, request } = await shopper(app)
    const responses = await Promise.all(Array.from({ length: 30 }, () => request('POST', '/v1/cart/items', { sku: 'bulk', quantity: 50 })))
    expect(statuses(responses)).toEqual({ 201: 19, 422: 11 })
    expect(await storedCart(app, userId)).toMatchObject({ version: 19, items: [{ quantity: 950 }] })
  })

  it('under a mix of concurrent writes, the version counts exactly the successful ones', async () => {
    const { userId, request } = await shopper(app)
    const items = await Promise.all(['m-0', 'm-1', 'm-2'].map(async (sku) => (await request('POST', '/v1/cart/items', { sku, quantity: 1 })).json()))
    const writes = [
      ...Array.from({ length: 10 }, (_, i) => request('POST', '/v1/cart/items', { sku: `m-${i % 4}`, quantity: 1 })),
      ...Array.from({ length: 10 }, (_, i) => request('PATCH', `/v1/cart/items/${items[i % 3]!.id}`, { quantity: 5 }, { 'if-match': '"3"' })),
      ...items.map((item) => request('DELETE', `/v1/cart/items/${item.id}`)),
      request('DELETE', '/v1/cart'),
      request('POST', '/v1/cart/items', { sku: 'm-9', quantity: 999 }),
      request('POST', '/v1/cart/items', { sku: 'm-9', quantity: 999 }),
    ]
    const responses = await Promise.all(writes)
    const succeeded = responses.filter((r) => r.statusCode < 300).length
    expect(responses.every((r) => [200, 201, 204, 404, 412, 422].includes(r.statusCode))).toBe(true)
    expect((await storedCart(app, userId)).version).toBe(3 + succeeded)
    const cart = (await request('GET', '/v1/cart/items')).json()
    expect(cart.version).toBe(3 + succeeded)
    expect(cart.items.every((item: { quantity: number }) => item.quantity >= 1 && item.quantity <= 999)).toBe(true)
  })
})
