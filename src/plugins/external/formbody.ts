import formbody from '@fastify/formbody'
import fp from 'fastify-plugin'

/**
 * application/x-www-form-urlencoded bodies, as the OAuth 2.0 endpoints receive them. Registered
 * in the /oauth scope only: everywhere else a form body is refused (see plugins/app/json-bodies.ts).
 */
export default fp(async (app) => {
  await app.register(formbody)
}, { name: 'formbody' })
