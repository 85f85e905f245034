import fp from 'fastify-plugin'
import { createCartRepository } from '../../repositories/carts.js'
import { createCartService, type CartService } from '../../services/cart-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    cart: CartService
  }
}

/** The cart service on its PostgreSQL repository: no cart state lives in the process. */
export default fp(
  async (app) => {
    app.decorate('cart', createCartService({ carts: createCartRepository(app.db.prisma, app.db.sql), clock: () => app.clock() }))
  },
  { name: 'cart', dependencies: ['database', 'keys'] },
)
