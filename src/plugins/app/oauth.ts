import fp from 'fastify-plugin'
import type { Config } from '../../config.js'

// Placeholder: wires the oauth services (repositories → services) and decorates the app with them.
export default fp<{ config: Config }>(async () => {}, { name: 'oauth', dependencies: ['database', 'keys'] })
