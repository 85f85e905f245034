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
      // RFC 9449 §7: a token bound to a key is used only with a proof from that key (a thief holding
      // the token alone is refused), and the DPoP scheme only with a bound token.
      const jkt = claims.cnf?.jkt
      if (presented.scheme === 'bearer' && jkt) throw bearerError('invalid_token', 'This access token is bound to a DPoP key: send it as DPoP with a proof', undefined, 'dpop')
      if (presented.scheme === 'dpop') {
        if (!jkt) throw bearerError('invalid_token', 'This access token is not bound to a DPoP key: send it as Bearer', undefined, 'dpop')
        const proof = await app.dpop.check(dpopPresentationOf(request), { accessToken: presented.token, required: true })
        if (proof?.jkt !== jkt) throw bearerError('invalid_token', 'The DPoP proof is signed with another key than the token is bound to', undefined, 'dpop')
      }
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
