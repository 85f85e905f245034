import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { createCartRepository } from '../../repositories/carts.js'
import { createCartService, type CartService } from '../../services/cart-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    cart: CartService
  }
}

/** The cart service on its PostgreSQL repository: no cart state lives in the process. */
export default fp<{ config: Config }>(
  async (app) => {
    app.decorate('cart', createCartService({ carts: createCartRepository(app.db.prisma, app.db.sql), clock: () => new Date() }))
  },
  { name: 'cart', dependencies: ['database', 'keys'] },
)
