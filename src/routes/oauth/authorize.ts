import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import type { AuthorizationParameters } from '../../domain/oidc/authorization-request.js'
import { createPageCookies } from '../../http/pages/cookies.js'
import { createFormGuard } from '../../http/pages/form-guard.js'
import { createOutcomeRenderer } from '../../http/pages/render.js'
import { RATE_LIMITS } from '../../http/rate-limit-policy.js'
import { clientGoneSignal } from '../../http/client-gone.js'
import { requestContext } from '../../http/request-context.js'
import { htmlPage, pageErrorResponse, pageErrorResponses, redirectResponse } from '../../http/schemas.js'
import { AuthorizeParametersSchema, ConsentFormSchema, FORM, LoginFormSchema } from './schemas.js'

const PAGE_ROUTE = { errorFormat: 'page' } as const

const AUTHORIZE_DESCRIPTION =
  'RFC 6749 §4.1 with OAuth 2.1\'s rules and OpenID Connect Core §3.1.2: `response_type=code` only, PKCE `S256` ' +
  'required of every client, `redirect_uri` exactly one of the client\'s. An unknown client or an unregistered ' +
  '`redirect_uri` gets an error page (400), never a redirect; every other error redirects back with `error`, ' +
  '`error_description`, `state` and `iss` (RFC 9207). A browser that is not signed in (or must sign in again: ' +
  '`prompt=login`, `max_age`) gets the login page; a third-party client the user has not consented to gets the ' +
  'consent page; otherwise the answer is a 303 to the redirect URI with `code`, `state` and `iss`.'

/**
 * RFC 6749 §4.1.2.1: with no trustworthy redirect URI there is nowhere safe to send an error, so the
 * browser gets a page. The forms check the request they carry again, so they can answer it too.
 */
const ERROR_PAGE = pageErrorResponse(
  400,
  ['invalid_client', 'invalid_redirect_uri', 'validation_failed'],
  'Bad request: an HTML error page (`text/html`), never a redirect, naming its code: `invalid_client` when `client_id` ' +
    'is missing or names no registered (or a deleted) client, `invalid_redirect_uri` when `redirect_uri` is missing or ' +
    'not exactly one of the client\'s registered redirect URIs, `validation_failed` when a parameter breaks its limits. ' +
    'Every other error of the request is a 303 back to the client with `error`.',
)

const RESPONSES = {
  200: htmlPage('The login page, or the consent page.'),
  303: redirectResponse('Back to the client: `code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`.'),
  400: ERROR_PAGE,
}

const FORM_RESPONSES = {
  ...RESPONSES,
  ...pageErrorResponses([403, ['forbidden_origin', 'invalid_form']]),
}

/** The authorization endpoint and its login and consent pages (server-rendered HTML, no script). */
const authorizeRoutes = (config: Config): FastifyPluginAsyncTypebox =>
  async function authorizeRoutes(app) {
    const cookies = createPageCookies(config, () => app.clock())
    const sendOutcome = createOutcomeRenderer({ keys: app.oauth.pageKeys, cookies, clock: () => app.clock() })
    const openForm = createFormGuard({ keys: app.oauth.pageKeys, cookies, issuer: config.ISSUER, clock: () => app.clock() })
    const signInOf = (request: FastifyRequest) => app.oauth.pageKeys.sessionIdOf(cookies.signIn(request))
    const pageStateOf = (request: FastifyRequest, sealed: string) => {
      const state = openForm(request, sealed, 'authorize')
      return { ...state, params: state.params as AuthorizationParameters }
    }

    app.get(
      '/authorize',
      {
        config: PAGE_ROUTE,
        schema: {
          operationId: 'authorize',
          tags: ['oidc'],
          summary: 'Authorization endpoint',
          description: AUTHORIZE_DESCRIPTION,
          security: [],
          produces: ['text/html'],
          querystring: AuthorizeParametersSchema,
          response: RESPONSES,
        },
      },
      async (request, reply) => {
        const outcome = await app.oauth.authorization.authorize({ params: request.query, signInSessionId: signInOf(request), ...requestContext(request) })
        return sendOutcome(request, reply, outcome, request.query)
      },
    )

    app.post(
      '/authorize',
      {
        config: PAGE_ROUTE,
        schema: {
          operationId: 'authorizeWithForm',
          tags: ['oidc'],
          summary: 'Authorization endpoint (form post)',
          description: `The same as GET, with the parameters in a form-encoded body (OpenID Connect Core §3.1.2.1). ${AUTHORIZE_DESCRIPTION}`,
          security: [],
          consumes: [FORM],
          produces: ['text/html'],
          body: AuthorizeParametersSchema,
          response: RESPONSES,
        },
      },
      async (request, reply) => {
        const outcome = await app.oauth.authorization.authorize({ params: request.body, signInSessionId: signInOf(request), ...requestContext(request) })
        return sendOutcome(request, reply, outcome, request.body)
      },
    )

    app.post(
      '/login',
      {
        config: { ...PAGE_ROUTE, rateLimits: RATE_LIMITS.login },
        schema: {
          operationId: 'signIn',
          tags: ['oidc'],
          summary: 'The login page\'s form',
          description:
            'What the login page posts: email and password, with the page\'s hidden `interaction` field (the authorization ' +
            'request, bound to this browser\'s CSRF cookie; from another site or another browser: 403). The same checks, ' +
            'brute-force limits (shared counters) and security events as `POST /v1/auth/login`; a refused password shows the ' +
            'page again with the same message whatever the cause. Signing in starts a sign-in session (listed in ' +
            '`/v1/auth/sessions`) carried by the tollgate_sign_in cookie (HttpOnly, SameSite=Lax, Path=/oauth); then the ' +
            'consent page, or a 303 to the client with the code.',
          security: [],
          consumes: [FORM],
          produces: ['text/html'],
          body: LoginFormSchema,
          response: FORM_RESPONSES,
        },
      },
      async (request, reply) => {
        const state = pageStateOf(request, request.body.interaction)
        const outcome = await app.oauth.authorization.login({
          params: state.params,
          email: request.body.email,
          password: request.body.password,
          replaces: signInOf(request),
          ...requestContext(request),
          signal: clientGoneSignal(request, reply),
        })
        return sendOutcome(request, reply, outcome, state.params)
      },
    )

    app.post(
      '/consent',
      {
        config: PAGE_ROUTE,
        schema: {
          operationId: 'consent',
          tags: ['oidc'],
          summary: 'The consent page\'s form',
          description:
            'What the consent page posts: `decision=allow` (remembered for this client and these scopes; a 303 with the ' +
            'code) or `deny` (a 303 with `error=access_denied`), with the page\'s hidden `interaction` field, valid only ' +
            'in the browser and for the sign-in it was shown to.',
          security: [],
          consumes: [FORM],
          produces: ['text/html'],
          body: ConsentFormSchema,
          response: FORM_RESPONSES,
        },
      },
      async (request, reply) => {
        const state = pageStateOf(request, request.body.interaction)
        const outcome = await app.oauth.authorization.consent({
          params: state.params,
          signInSessionId: signInOf(request),
          shownTo: state.signInSessionId,
          allow: request.body.decision === 'allow',
          ...requestContext(request),
        })
        return sendOutcome(request, reply, outcome, state.params)
      },
    )
  }

export default authorizeRoutes
