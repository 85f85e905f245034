import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import credentialRoutes from './credentials.js'
import sessionRoutes from './sessions.js'
import tokenRoutes from './tokens.js'

/** /v1/auth: first-party accounts, tokens and sessions. */
const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(credentialRoutes)
  await app.register(tokenRoutes)
  await app.register(sessionRoutes)
}

export default authRoutes
