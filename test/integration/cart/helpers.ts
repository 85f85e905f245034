import { userWithAccessToken } from '../../helpers/tokens.js'
import type { InjectOptions } from 'fastify'
import type { App } from '../../../src/app.js'

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** app.inject with a bearer authorization; `body` is sent as JSON unless it is a string. */
export function cartRequest(app: App, authorization: string | undefined) {
  return (method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const options: InjectOptions = {
      method,
      url,
      headers: { ...(authorization ? { authorization } : {}), ...headers },
    }
    if (body !== undefined) {
      if (typeof body === 'string') {
        options.payload = body
        options.headers = { 'content-type': 'application/json', ...options.headers }
      } else {
        options.payload = body as InjectOptions['payload']
      }
    }
    return app.inject(options)
  }
}

/** What the database holds for a user, read directly: the ground truth the API must agree with. */
export async function storedCart(app: App, userId: string) {
  const cart = await app.db.prisma.cart.findUnique({ where: { userId } })
  const items = await app.db.prisma.cartItem.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
  return { version: cart?.version ?? null, items: items.map(({ id, sku, quantity }) => ({ id, sku, quantity })) }
}

/** A user with a cart-scoped token, and a request helper that sends it. */
export async function shopper(app: App) {
  const { user, authorization } = await userWithAccessToken(app)
  return { userId: user.id, authorization, request: cartRequest(app, authorization) }
}
