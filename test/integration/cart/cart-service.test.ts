import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { createCartRepository } from '../../../src/repositories/carts.js'
import { createCartService } from '../../../src/services/cart-service.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { userWithAccessToken } from '../../helpers/tokens.js'

// The service on the real repository with a controlled clock: timestamps and ordering.
let testApp: TestApp
let app: App

beforeAll(async () => {
  testApp = await buildTestApp()
  app = testApp.app
})

afterAll(async () => {
  await testApp?.close()
})

function serviceAt(initial: string) {
  let now = new Date(initial)
  const service = createCartService({ carts: createCartRepository(app.db.prisma, app.db.sql), clock: () => now })
  return {
    service,
    setNow(iso: string) {
      now = new Date(iso)
    },
  }
}

describe('cart service', () => {
  it('stamps createdAt and updatedAt with the clock, and keeps createdAt on later changes', async () => {
    const { user } = await userWithAccessToken(app)
    const { service, setNow } = serviceAt('2030-01-01T10:00:00.000Z')
    const { item, version } = await service.add(user.id, { sku: 'a', quantity: 1 })
    expect(version).toBe(1)
    expect(item.createdAt.toISOString()).toBe('2030-01-01T10:00:00.000Z')
    expect(item.updatedAt.toISOString()).toBe('2030-01-01T10:00:00.000Z')

    setNow('2030-01-01T10:05:00.123Z')
    const added = await service.add(user.id, { sku: 'a', quantity: 2 })
    expect(added.item.createdAt.toISOString()).toBe('2030-01-01T10:00:00.000Z')
    expect(added.item.updatedAt.toISOString()).toBe('2030-01-01T10:05:00.123Z')

    setNow('2030-01-01T11:00:00.000Z')
    const patched = await service.setQuantity(user.id, item.id, 9)
    expect(patched.item.updatedAt.toISOString()).toBe('2030-01-01T11:00:00.000Z')
    expect(patched.version).toBe(3)
  })

  it('lists items by createdAt, then by id, whatever order the skus were written in', async () => {
    const { user } = await userWithAccessToken(app)
    const { service, setNow } = serviceAt('2030-01-02T00:00:00.000Z')
    setNow('2030-01-02T00:00:03.000Z')
    const late = (await service.add(user.id, { sku: 'late', quantity: 1 })).item
    setNow('2030-01-02T00:00:01.000Z')
    const early = (await service.add(user.id, { sku: 'early', quantity: 1 })).item
    setNow('2030-01-02T00:00:02.000Z')
    const tieA = (await service.add(user.id, { sku: 'tie-a', quantity: 1 })).item
    const tieB = (await service.add(user.id, { sku: 'tie-b', quantity: 1 })).item
    // Adding to an existing sku updates it but does not move it.
    setNow('2030-01-02T00:00:09.000Z')
    await service.add(user.id, { sku: 'early', quantity: 1 })

    const ties = [tieA, tieB].sort((x, y) => (x.id < y.id ? -1 : 1)).map((i) => i.sku)
    const cart = await service.get(user.id)
    expect(cart.items.map((i) => i.sku)).toEqual(['early', ...ties, 'late'])
    expect(cart.items.map((i) => i.id)).toContain(late.id)
    expect(cart.items.find((i) => i.id === early.id)?.quantity).toBe(2)
    expect(cart.version).toBe(5)
  })
})
