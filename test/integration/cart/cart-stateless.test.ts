import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { cartRequest } from './helpers.js'

// Two instances of the service on one database, as behind a load balancer: whichever instance
// serves a request, the cart is the same, because no cart state lives in a process.
let testApp: TestApp
let other: App

beforeAll(async () => {
  testApp = await buildTestApp()
  other = await buildApp(testApp.config, { logger: false })
})

afterAll(async () => {
  await other?.close()
  await testApp?.close()
})

it('any instance serves any request of the same cart', async () => {
  const one = testApp.app
  const user = await one.db.prisma.user.create({ data: { email: 'two-instances@example.test', passwordHash: 'x' } })
  const tokenFor = async (app: App) =>
    `Bearer ${(await app.accessTokens.issue({ subject: user.id, clientId: 'tollgate-web', scopes: ['cart'] })).token}`
  const viaOne = cartRequest(one, await tokenFor(one))
  const viaOther = cartRequest(other, await tokenFor(other))

  const item = (await viaOne('POST', '/v1/cart/items', { sku: 'roaming', quantity: 2 })).json()
  const added = await viaOther('POST', '/v1/cart/items', { sku: 'roaming', quantity: 3 })
  expect(added.json()).toMatchObject({ id: item.id, quantity: 5 })

  const seen = await viaOne('GET', '/v1/cart/items')
  expect(seen.json()).toMatchObject({ version: 2, items: [{ id: item.id, quantity: 5 }] })
  const etag = seen.headers.etag as string

  expect((await viaOther('PATCH', `/v1/cart/items/${item.id}`, { quantity: 1 }, { 'if-match': etag })).statusCode).toBe(200)
  expect((await viaOne('PATCH', `/v1/cart/items/${item.id}`, { quantity: 9 }, { 'if-match': etag })).statusCode).toBe(412)
  expect((await viaOther('GET', '/v1/cart/items', undefined, { 'if-none-match': etag })).statusCode).toBe(200)
  expect((await viaOne('DELETE', '/v1/cart')).statusCode).toBe(204)
  expect((await viaOther('GET', '/v1/cart/items')).json()).toEqual({ items: [], version: 4 })
})
