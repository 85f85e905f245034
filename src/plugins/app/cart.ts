import fp from 'fastify-plugin'
import type { Config } from '../../config.js'

// Placeholder: wires the cart services (repositories → services) and decorates the app with them.
export default fp<{ config: Config }>(async () => {}, { name: 'cart', dependencies: ['database', 'keys'] })
