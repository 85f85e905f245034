import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { shopper, storedCart } from './helpers.js'

let testApp: TestApp
let app: App

beforeAll(async () => {
  testApp = await buildTestApp({ PURGE_INTERVAL_SECONDS: '0' })
  app = testApp.app
})

afterAll(async () => {
  await testApp?.close()
})

const ADD = '/v1/cart/items'
const HOUR = 3600 * 1000

/** Moves a user's idempotency records into the past, as if they had been written `ms` ago. */
async function age(userId: string, ms: number) {
  await app.db.prisma.idempotencyRecord.updateMany({ where: { userId }, data: { createdAt: new Date(Date.now() - ms) } })
}

describe('POST /v1/cart/items with an Idempotency-Key', () => {
  it('a retry with the same key and body gets the first answer and adds nothing', async () => {
    const { userId, request } = await shopper(app)
    const key = `"${randomUUID()}"`
    const first = await request('POST', ADD, { sku: 'tea', quantity: 2 }, { 'idempotency-key': key })
    expect(first.statusCode).toBe(201)
    // Same fields in another order and spacing: the same request.
    const retry = await request('POST', ADD, '{ "quantity": 2,  "sku": "tea" }', { 'idempotency-key': key })
    expect(retry.statusCode).toBe(201)
    expect(retry.json()).toEqual(first.json())
    expect(retry.headers.etag).toBe(first.headers.etag)
    expect(await storedCart(app, userId)).toMatchObject({ version: 1, items: [{ sku: 'tea', quantity: 2 }] })

    // A later add of the same sku with a fresh key does add; the old key still answers as before.
    expect((await request('POST', ADD, { sku: 'tea', quantity: 2 }, { 'idempotency-key': randomUUID() })).json()).toMatchObject({ quantity: 4 })
    const late = await request('POST', ADD, { sku: 'tea', quantity: 2 }, { 'idempotency-key': key })
    expect(late.json()).toEqual(first.json())
    expect(await storedCart(app, userId)).toMatchObject({ version: 2, items: [{ sku: 'tea', quantity: 4 }] })
  })

  it('the quoted (structured-field) and bare forms name one key', async () => {
    const { userId, request } = await shopper(app)
    const key = randomUUID()
    const first = await request('POST', ADD, { sku: 'mug', quantity: 1 }, { 'idempotency-key': `"${key}"` })
    const bare = await request('POST', ADD, { sku: 'mug', quantity: 1 }, { 'idempotency-key': key })
    expect(bare.json()).toEqual(first.json())
    expect((await storedCart(app, userId)).items).toMatchObject([{ sku: 'mug', quantity: 1 }])
  })

  it('the same key with another body is 422 idempotency_key_reused and changes nothing', async () => {
    const { userId, request } = await shopper(app)
    const key = randomUUID()
    expect((await request('POST', ADD, { sku: 'pen', quantity: 1 }, { 'idempotency-key': key })).statusCode).toBe(201)
    for (const body of [{ sku: 'pen', quantity: 2 }, { sku: 'ink', quantity: 1 }]) {
      const reused = await request('POST', ADD, body, { 'idempotency-key': key })
      expect(reused.statusCode).toBe(422)
      expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(reused.json()).toMatchObject({ status: 422, code: 'idempotency_key_reused' })
    }
    expect(await storedCart(app, userId)).toMatchObject({ version: 1, items: [{ sku: 'pen', quantity: 1 }] })
  })

  it('keys belong to one user: another user with the same key adds to their own cart', async () => {
    const alice = await shopper(app)
    const bob = await shopper(app)
    const key = randomUUID()
    const forAlice = await alice.request('POST', ADD, { sku: 'cup', quantity: 1 }, { 'idempotency-key': key })
    const forBob = await bob.request('POST', ADD, { sku: 'cup', quantity: 1 }, { 'idempotency-key': key })
    expect(forBob.statusCode).toBe(201)
    expect(forBob.json().id).not.toBe(forAlice.json().id)
    expect((await storedCart(app, bob.userId)).items).toMatchObject([{ sku: 'cup', quantity: 1 }])
    expect((await storedCart(app, alice.userId)).items).toMatchObject([{ sku: 'cup', quantity: 1 }])
  })

  it('20 concurrent duplicates add once and all get the same answer', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', ADD, { sku: 'warm-up', quantity: 1 })
    const key = randomUUID()
    const responses = await Promise.all(Array.from({ length: 20 }, () => request('POST', ADD, { sku: 'rush', quantity: 3 }, { 'idempotency-key': key })))
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201))
    expect(new Set(responses.map((r) => r.body)).size).toBe(1)
    expect(new Set(responses.map((r) => r.headers.etag)).size).toBe(1)
    const stored = await storedCart(app, userId)
    expect(stored.version).toBe(2)
    expect(stored.items.find((item) => item.sku === 'rush')).toMatchObject({ quantity: 3 })
  })

  it('a refused add keeps nothing for its key: the retry is a new attempt', async () => {
    const { userId, request } = await shopper(app)
    const full = (await request('POST', ADD, { sku: 'bulk', quantity: 998 })).json()
    const key = randomUUID()
    const refused = await request('POST', ADD, { sku: 'bulk', quantity: 5 }, { 'idempotency-key': key })
    expect(refused.statusCode).toBe(422)
    expect(refused.json()).toMatchObject({ code: 'quantity_limit_exceeded' })
    expect(await app.db.prisma.idempotencyRecord.count({ where: { userId } })).toBe(0)
    expect((await request('DELETE', `/v1/cart/items/${full.id}`)).statusCode).toBe(204)
    const retried = await request('POST', ADD, { sku: 'bulk', quantity: 5 }, { 'idempotency-key': key })
    expect(retried.statusCode).toBe(201)
    expect(retried.json()).toMatchObject({ sku: 'bulk', quantity: 5 })
  })

  it('the first answer is returned even when an If-Match sent with it is now stale', async () => {
    const { userId, request } = await shopper(app)
    await request('POST', ADD, { sku: 'base', quantity: 1 })
    const key = randomUUID()
    const first = await request('POST', ADD, { sku: 'cond', quantity: 1 }, { 'if-match': '"1"', 'idempotency-key': key })
    expect(first.statusCode).toBe(201)
    const retry = await request('POST', ADD, { sku: 'cond', quantity: 1 }, { 'if-match': '"1"', 'idempotency-key': key })
    expect(retry.statusCode).toBe(201)
    expect(retry.json()).toEqual(first.json())
    expect((await storedCart(app, userId)).version).toBe(2)
  })

  it('after 24 hours the key is forgotten: the same request adds again', async () => {
    const { userId, request } = await shopper(app)
    const key = randomUUID()
    await request('POST', ADD, { sku: 'old', quantity: 1 }, { 'idempotency-key': key })
    await age(userId, 23 * HOUR)
    expect((await request('POST', ADD, { sku: 'old', quantity: 1 }, { 'idempotency-key': key })).json()).toMatchObject({ quantity: 1 })
    await age(userId, 25 * HOUR)
    expect((await request('POST', ADD, { sku: 'old', quantity: 1 }, { 'idempotency-key': key })).json()).toMatchObject({ quantity: 2 })
    expect(await storedCart(app, userId)).toMatchObject({ version: 2, items: [{ sku: 'old', quantity: 2 }] })
  })

  it('the purge deletes records older than 24 hours and keeps the others', async () => {
    const old = await shopper(app)
    const recent = await shopper(app)
    await old.request('POST', ADD, { sku: 'a', quantity: 1 }, { 'idempotency-key': randomUUID() })
    await recent.request('POST', ADD, { sku: 'a', quantity: 1 }, { 'idempotency-key': randomUUID() })
    await age(old.userId, 25 * HOUR)
    const result = await app.purge.run()
    expect(result.idempotencyRecords).toBeGreaterThanOrEqual(1)
    expect(await app.db.prisma.idempotencyRecord.count({ where: { userId: old.userId } })).toBe(0)
    expect(await app.db.prisma.idempotencyRecord.count({ where: { userId: recent.userId } })).toBe(1)
  })

  it.each([
    ['empty', ''],
    ['empty quoted', '""'],
    ['too long', 'k'.repeat(256)],
    ['a space inside', 'two words'],
    ['a quote inside', '"a"b"'],
    ['a non-ASCII character', 'clé'],
  ])('a malformed key (%s) is 400 and adds nothing', async (_name, key) => {
    const { userId, request } = await shopper(app)
    const response = await request('POST', ADD, { sku: 'x', quantity: 1 }, { 'idempotency-key': key })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'validation_failed' })
    expect(await storedCart(app, userId)).toMatchObject({ version: null, items: [] })
  })
})
