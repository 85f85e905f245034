import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ProblemError } from '../../../errors.js'
import { ACCESS_TOKEN_ERRORS, DpopHeadersSchema, NO_STORE_HEADERS, problemResponses } from '../../../http/schemas.js'
import { dpopPresentationOf } from '../../../http/authorization.js'
import { RATE_LIMITS } from '../../../http/rate-limit-policy.js'
import { requestContext } from '../../../http/request-context.js'
import {
  CLEAR_REFRESH_COOKIE_HEADER,
  RefreshTokenBodySchema,
  SET_REFRESH_COOKIE_HEADER,
  TokenResponseSchema,
  tokenResponse,
} from './schemas.js'

/** A cookie-authenticated browser POST may carry no body at all. */
async function allowEmptyBody(request: FastifyRequest) {
  request.body ??= {}
}

/** Refresh and logout: the refresh token comes from the body or, for browsers, from the cookie. */
const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/refresh',
    {
      config: { rateLimits: RATE_LIMITS.refresh },
      preValidation: allowEmptyBody,
      schema: {
        operationId: 'refreshToken',
        tags: ['auth'],
        summary: 'Rotate the refresh token',
        description:
          'Exchanges the refresh token (body refresh_token, or the tollgate_refresh cookie) for a new access token and the ' +
          'session\'s next refresh token, and sets the cookie again. The presented token stops working; presented again ' +
          'within the grace window (several tabs, a retry) by the client that rotated it (same user agent, same /24 or /64 network) ' +
          'it gets the same successor; from any other client, after the window, or once that successor was rotated in turn, ' +
          'the whole session is revoked (401 invalid_grant). ' +
          'A cookie-authenticated request from another site is refused with 403 forbidden_origin, and a request from another site ' +
          'never sets the cookie. The refresh token of a session bound to a DPoP key rotates only with a `DPoP` proof from that key: ' +
          'without one, or with another key\'s, it is 401 `invalid_grant` (a `dpop_key_mismatch` event) and the session stays its owner\'s.',
        security: [{ refreshCookie: [] }, {}],
        headers: DpopHeadersSchema,
        body: RefreshTokenBodySchema,
        response: {
          200: {
            ...TokenResponseSchema,
            'x-response-description': 'A new access token and the session\'s next refresh token',
            headers: { 'Set-Cookie': SET_REFRESH_COOKIE_HEADER, ...NO_STORE_HEADERS },
          },
          ...problemResponses('validation_failed', 'invalid_grant', 'forbidden_origin', 'invalid_dpop_proof', 'use_dpop_nonce'),
        },
      },
    },
    async (request, reply) => {
      const refreshToken = app.refreshCookie.presented(request, request.body)
      if (!refreshToken) {
        throw new ProblemError('invalid_grant', 'No refresh token: send refresh_token or the refresh cookie')
      }
      const grant = await app.sessions.refreshWithProof({ refreshToken, dpop: dpopPresentationOf(request), ...requestContext(request) })
      app.refreshCookie.set(reply, grant.refreshToken, grant.sessionExpiresAt)
      return tokenResponse(reply, grant)
    },
  )

  app.post(
    '/logout',
    {
      preValidation: allowEmptyBody,
      schema: {
        operationId: 'logout',
        tags: ['auth'],
        summary: 'Log out',
        description:
          'Revokes the session of the refresh token (body refresh_token, or the cookie) or, with neither, of the bearer ' +
          'access token, and clears the cookie (unless the request comes from another site). Answers 204 also when the ' +
          'session had already ended; with no credential ' +
          'at all it is 401 `invalid_token`.',
        security: [{ refreshCookie: [] }, { bearerAuth: [] }, { dpopAuth: [] }, {}],
        headers: DpopHeadersSchema,
        body: RefreshTokenBodySchema,
        response: {
          204: Type.Null({ description: 'Logged out: the session is revoked and the cookie cleared', headers: { 'Set-Cookie': CLEAR_REFRESH_COOKIE_HEADER } }),
          ...problemResponses('validation_failed', ...ACCESS_TOKEN_ERRORS, 'forbidden_origin'),
        },
      },
    },
    async (request, reply) => {
      const refreshToken = app.refreshCookie.presented(request, request.body)
      const context = requestContext(request)
      if (refreshToken) {
        await app.sessions.revokeByRefreshToken(refreshToken, 'logout', context)
      } else {
        await app.authenticate.call(app, request, reply)
        const sessionId = request.identity?.sessionId
        if (sessionId) await app.sessions.revokeSession(sessionId, 'logout', context)
      }
      app.refreshCookie.clear(reply)
      return reply.code(204).send(null)
    },
  )
}

export default tokenRoutes
