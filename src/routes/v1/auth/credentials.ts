import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ACCESS_TOKEN_ERRORS, ACCESS_TOKEN_SECURITY, DpopHeadersSchema, NO_STORE_HEADERS, problemResponses } from '../../../http/schemas.js'
import { dpopPresentationOf } from '../../../http/authorization.js'
import { RATE_LIMITS } from '../../../http/rate-limit-policy.js'
import { clientGoneSignal } from '../../../http/client-gone.js'
import { requestContext } from '../../../http/request-context.js'
import {
  ChangePasswordBodySchema,
  LoginBodySchema,
  RegisterBodySchema,
  SET_REFRESH_COOKIE_HEADER,
  TokenResponseSchema,
  UserSchema,
  tokenResponse,
} from './schemas.js'

/** Registration, password login and password change. */
const credentialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/register',
    {
      config: { rateLimits: RATE_LIMITS.register },
      schema: {
        operationId: 'register',
        tags: ['auth'],
        summary: 'Create an account',
        description:
          'Creates an account. The email is trimmed and lower-cased (emails are one account whatever their case); ' +
          'the password must be 8 to 256 characters and not a commonly used one (else 400 `weak_password`). ' +
          'Registering does not log in: call `POST /v1/auth/login` next.',
        security: [],
        body: RegisterBodySchema,
        response: {
          201: { ...UserSchema, 'x-response-description': 'The account was created' },
          ...problemResponses('validation_failed', 'weak_password', 'email_taken'),
        },
      },
    },
    async (request, reply) => {
      const user = await app.accounts.register({ ...request.body, signal: clientGoneSignal(request, reply) })
      return reply.code(201).send(user)
    },
  )

  app.post(
    '/login',
    {
      config: { rateLimits: RATE_LIMITS.login },
      schema: {
        operationId: 'login',
        tags: ['auth'],
        summary: 'Log in with email and password',
        description:
          'Starts a session: answers a token response and sets the tollgate_refresh cookie (HttpOnly, SameSite=Strict, Path=/v1/auth), ' +
          'except for a request from another site (an Origin neither the issuer\'s nor allowed, or Sec-Fetch-Site: cross-site). ' +
          'An unknown email and a wrong password get the same 401 `invalid_credentials`, after the same work. ' +
          'Failed logins (successful ones are not counted) are throttled per account and per address (429 with Retry-After). ' +
          'A new session beyond the per-user limit evicts the oldest. With a `DPoP` proof the session is bound to its key: ' +
          '`token_type: DPoP`, and its refresh token rotates only with a proof from that key (401 `invalid_dpop_proof` for a bad ' +
          'proof, `use_dpop_nonce` with a `DPoP-Nonce` when the server wants its nonce in the proof).',
        security: [],
        headers: DpopHeadersSchema,
        body: LoginBodySchema,
        response: {
          200: {
            ...TokenResponseSchema,
            'x-response-description': 'Logged in: a new session',
            headers: { 'Set-Cookie': SET_REFRESH_COOKIE_HEADER, ...NO_STORE_HEADERS },
          },
          ...problemResponses('validation_failed', 'invalid_credentials', 'invalid_dpop_proof', 'use_dpop_nonce'),
        },
      },
    },
    async (request, reply) => {
      const grant = await app.accounts.login({ ...request.body, dpop: dpopPresentationOf(request), ...requestContext(request), signal: clientGoneSignal(request, reply) })
      app.refreshCookie.set(reply, grant.refreshToken, grant.sessionExpiresAt)
      return tokenResponse(reply, grant)
    },
  )

  app.post(
    '/password',
    {
      config: { rateLimits: RATE_LIMITS.passwordChange },
      preHandler: [app.authenticate, app.requireLiveSession],
      schema: {
        operationId: 'changePassword',
        tags: ['auth'],
        summary: 'Change the password',
        description:
          'Needs the current password (a wrong one is 401 `invalid_credentials`, recorded as a `password_change_failed` event, and ' +
          'spends the account\'s failed-login budget: 429 once it is spent). Revokes every other session of the user; ' +
          'the current one stays. A login that verified the old password while the change was in flight gets no session ' +
          '(401 `invalid_credentials`), and of two changes racing with the same current password only the first succeeds. ' +
          'The new password follows the rules of registration.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        body: ChangePasswordBodySchema,
        response: {
          204: Type.Null({ description: 'Changed; every other session is revoked' }),
          ...problemResponses('validation_failed', 'weak_password', ...ACCESS_TOKEN_ERRORS, 'invalid_credentials'),
        },
      },
    },
    async (request, reply) => {
      const identity = request.identity!
      await app.accounts.changePassword({
        userId: identity.subject,
        sessionId: identity.sessionId,
        ...request.body,
        ...requestContext(request),
        signal: clientGoneSignal(request, reply),
      })
      return reply.code(204).send(null)
    },
  )
}

export default credentialRoutes
