import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { parseScope, type AccessTokenClaims } from '../../domain/tokens/access-token.js'
import { bearerError } from '../../errors.js'
import { accessTokenOf, dpopPresentationOf } from '../../http/authorization.js'

export interface Identity {
  claims: AccessTokenClaims
  /** The user id (or client id for client_credentials tokens). */
  subject: string
  scopes: string[]
  sessionId: string | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: verifies the bearer access token and sets request.identity, or answers 401. */
    authenticate: preHandlerAsyncHookHandler
    /** preHandler factory: 403 insufficient_scope unless the token carries every scope given. */
    requireScope(...scopes: string[]): preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    identity: Identity | null
  }
}

/** Bearer authentication for protected routes; routes opt in with `preHandler: app.authenticate`. */
export default fp(
  async (app) => {
    app.decorateRequest('identity', null)

    app.decorate('authenticate', async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
      const presented = accessTokenOf(request)
      if (!presented) throw bearerError('invalid_token', 'A bearer access token is required')
      const claims = await app.accessTokenVerifier.verify(presented.token)
      await app.dpop.confirm(presented, claims.cnf?.jkt, dpopPresentationOf(request))
      request.identity = {
        claims,
        subject: claims.sub,
        scopes: parseScope(claims.scope),
        sessionId: claims.sid,
      }
    })

    app.decorate('requireScope', (...required: string[]) => {
      return async function requireScope(request: FastifyRequest) {
        const granted = request.identity?.scopes ?? []
        if (!required.every((scope) => granted.includes(scope))) {
          throw bearerError('insufficient_scope', `This request needs the scope ${required.join(' ')}`, required.join(' '))
        }
      }
    })
  },
  { name: 'authentication', dependencies: ['keys', 'dpop'] },
)
