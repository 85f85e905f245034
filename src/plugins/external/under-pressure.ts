import fp from 'fastify-plugin'
import type { Config } from '../../config.js'

// Placeholder: registers the library with tollgate's settings.
export default fp<{ config: Config }>(async () => {}, { name: 'under-pressure' })
