import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import type { PresentedAccessToken } from '../../domain/dpop/proof.js'
import { browserBinding } from '../../domain/oidc/page-state.js'
import { accessTokenOf, dpopPresentationOf } from '../../http/authorization.js'
import { createPageCookies } from '../../http/pages/cookies.js'
import { createFormGuard } from '../../http/pages/form-guard.js'
import { pageCsp, sendPage } from '../../http/pages/render.js'
import { logoutConfirmPage, messagePage, errorPage } from '../../http/pages/templates.js'
import {
  ACCESS_TOKEN_SECURITY,
  DpopHeadersSchema,
  htmlPage,
  NO_STORE_HEADERS,
  oauthErrorResponses,
  pageErrorResponses,
  redirectResponse,
} from '../../http/schemas.js'
import { LOGOUT_PARAMETER_NAMES, type LogoutOutcome, type LogoutParameters } from '../../services/oidc/logout.js'
import { FORM, LogoutParametersSchema, UserInfoSchema } from './schemas.js'

function formAccessToken(body: unknown): PresentedAccessToken | undefined {
  const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).access_token : undefined
  return typeof token === 'string' && token !== '' ? { scheme: 'bearer', token } : undefined
}

const USERINFO_DESCRIPTION =
  'OpenID Connect Core §5.3: the signed-in user\'s claims that the access token\'s scopes allow: `sub` always, `name` ' +
  'with `profile`, `email` and `email_verified` with `email`. A bearer access token with `openid` (any audience: the ' +
  'client\'s own included), in the Authorization header (or, on POST, the `access_token` form field); a bad, expired ' +
  'or revoked one, or one whose session ended, is 401 `invalid_token`; one without `openid` 403 `insufficient_scope`. ' +
  'A token bound to a DPoP key is accepted only as `Authorization: DPoP` with a proof from that key (as a bearer token, 401 ' +
  '`invalid_token` with a DPoP challenge; a bad proof 401 `invalid_dpop_proof`).'

const LOGOUT_DESCRIPTION =
  'OpenID Connect RP-Initiated Logout 1.0: ends the browser\'s sign-in at tollgate (the tollgate_sign_in cookie) and ' +
  'revokes every session started from it. With a valid `id_token_hint` (expired or not) it happens at once; without ' +
  'one, a confirmation page asks the user. `post_logout_redirect_uri` must be exactly one of the client\'s registered ' +
  'ones (then a 303 there, with `state`); without it, a "signed out" page. A hint tollgate did not sign, or an ' +
  'unregistered URI, gets an error page, never a redirect.'

/** Userinfo and RP-initiated logout: the end of a relying party's session. */
const sessionEndRoutes = (config: Config): FastifyPluginAsyncTypebox =>
  async function sessionEndRoutes(app) {
    const clock = () => app.clock()
    const cookies = createPageCookies(config, clock)
    const openForm = createFormGuard({ keys: app.oauth.pageKeys, cookies, issuer: config.ISSUER, clock })

    const userinfoRoute = {
      config: { errorFormat: 'oauth' as const, formOptional: true, protectedResource: true },
      schema: {
        tags: ['oidc'],
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        response: {
          200: { ...UserInfoSchema, 'x-response-description': 'The user\'s claims', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses([401, ['invalid_token', 'invalid_dpop_proof', 'use_dpop_nonce']], [403, ['insufficient_scope']]),
        },
      },
    }
    app.get('/userinfo', { ...userinfoRoute, schema: { ...userinfoRoute.schema, operationId: 'getUserInfo', summary: 'UserInfo endpoint', description: USERINFO_DESCRIPTION } }, async (request) =>
      app.oauth.userinfo.userinfo(accessTokenOf(request), dpopPresentationOf(request)),
    )
    app.post(
      '/userinfo',
      {
        ...userinfoRoute,
        schema: {
          ...userinfoRoute.schema,
          operationId: 'postUserInfo',
          summary: 'UserInfo endpoint (POST)',
          description: `The same as GET. ${USERINFO_DESCRIPTION}`,
        },
      },
      // RFC 6750 §2.2 allows the token in a form body too; the Authorization header is the usual way.
      async (request) => app.oauth.userinfo.userinfo(accessTokenOf(request) ?? formAccessToken(request.body), dpopPresentationOf(request)),
    )

    function send(request: FastifyRequest, reply: FastifyReply, outcome: LogoutOutcome, params: LogoutParameters) {
      const ownSignIn = app.oauth.pageKeys.sessionIdOf(cookies.signIn(request))
      if ((outcome.kind === 'redirect' || outcome.kind === 'signed_out') && (ownSignIn === undefined || ownSignIn === outcome.ended)) {
        if (cookies.signIn(request) !== undefined) cookies.clearSignIn(reply)
      }
      switch (outcome.kind) {
        case 'error_page':
          return sendPage(reply, 400, errorPage({ status: 400, title: 'Cannot sign out', description: outcome.description, code: 'invalid_request' }))
        case 'redirect':
          return reply.code(303).header('location', outcome.location).send()
        case 'signed_out':
          return sendPage(reply, 200, messagePage({ title: 'You are signed out', description: outcome.clientName ? `You signed out of ${outcome.clientName} and tollgate. You can close this window.` : 'You signed out of tollgate. You can close this window.' }))
        case 'confirm': {
          const browser = cookies.ensureCsrf(request, reply)
          const strings = Object.fromEntries(LOGOUT_PARAMETER_NAMES.flatMap((name) => (typeof params[name] === 'string' ? [[name, params[name]]] : [])))
          const state = app.oauth.pageKeys.seal({ purpose: 'logout', params: strings, browser: browserBinding(browser) }, clock())
          return sendPage(reply, 200, logoutConfirmPage({ clientName: outcome.clientName, state }), pageCsp(params.post_logout_redirect_uri ? [new URL(params.post_logout_redirect_uri).origin] : []))
        }
      }
    }

    const logoutRoute = {
      config: { errorFormat: 'page' as const },
      schema: {
        tags: ['oidc'],
        security: [],
        produces: ['text/html'],
        response: {
          200: htmlPage('The confirmation page (no id_token_hint), or the "signed out" page (no post_logout_redirect_uri).'),
          303: redirectResponse('To the post_logout_redirect_uri, with `state`.'),
          ...pageErrorResponses([400, ['validation_failed']]),
        },
      },
    }
    app.get(
      '/logout',
      { ...logoutRoute, schema: { ...logoutRoute.schema, operationId: 'endSession', summary: 'End-session endpoint (RP-initiated logout)', description: LOGOUT_DESCRIPTION, querystring: LogoutParametersSchema } },
      async (request, reply) => {
        const outcome = await app.oauth.logout.logout({ params: request.query, signInSessionId: app.oauth.pageKeys.sessionIdOf(cookies.signIn(request)), confirmed: false, ip: request.ip, userAgent: request.headers['user-agent'] ?? null })
        return send(request, reply, outcome, request.query)
      },
    )
    app.post(
      '/logout',
      {
        ...logoutRoute,
        schema: {
          ...logoutRoute.schema,
          operationId: 'endSessionWithForm',
          summary: 'End-session endpoint (form post)',
          description: `The same as GET, form-encoded; also what the confirmation page posts (its hidden \`interaction\` field, valid only in this browser). ${LOGOUT_DESCRIPTION}`,
          consumes: [FORM],
          body: LogoutParametersSchema,
          response: { ...logoutRoute.schema.response, ...pageErrorResponses([400, ['validation_failed']], [403, ['forbidden_origin', 'invalid_form']]) },
        },
      },
      async (request, reply) => {
        const { interaction, ...direct } = request.body
        const params: LogoutParameters = interaction ? (openForm(request, interaction, 'logout').params as LogoutParameters) : direct
        const outcome = await app.oauth.logout.logout({
          params,
          signInSessionId: app.oauth.pageKeys.sessionIdOf(cookies.signIn(request)),
          confirmed: interaction !== undefined,
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
        })
        return send(request, reply, outcome, params)
      },
    )
  }

export default sessionEndRoutes
