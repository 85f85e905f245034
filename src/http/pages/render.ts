import type { FastifyReply, FastifyRequest } from 'fastify'
import { AUTHORIZATION_PARAMETER_NAMES, type AuthorizationParameters } from '../../domain/oidc/authorization-request.js'
import type { AuthorizationOutcome } from '../../services/oidc/authorization.js'
import type { PageCookies } from './cookies.js'
import type { OidcPageKeys } from './page-keys.js'
import { browserBinding as browserOf } from '../../domain/oidc/page-state.js'
import { consentPage, errorPage, loginPage } from './templates.js'
import { markSignInRefused } from '../rate-limit-policy.js'

export const HTML_TYPE = 'text/html; charset=utf-8'

/**
 * The pages' Content-Security-Policy: no script at all, styles from tollgate only, no framing. A
 * form may post to tollgate and, since its answer redirects there, to the app's redirect URI
 * (browsers apply form-action to the redirect too).
 */
export function pageCsp(formTargets: readonly string[] = []): string {
  const targets = [...new Set(formTargets)].map((target) => ` ${target}`).join('')
  return `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${targets}; frame-ancestors 'none'; base-uri 'none'`
}

/** What form-action must allow for a redirect URI: its origin, or its private-use scheme. */
export function formTargetOf(redirectUri: string): string {
  const url = new URL(redirectUri)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol
}

/**
 * `same-origin`, not `no-referrer`: under no-referrer a browser sends `Origin: null` with the
 * pages' own form posts, and the CSRF check needs the real origin. Nothing leaks to another site.
 */
export const PAGE_REFERRER_POLICY = 'same-origin'

export function sendPage(reply: FastifyReply, status: number, body: string, csp = pageCsp()) {
  return reply
    .code(status)
    .header('content-security-policy', csp)
    .header('referrer-policy', PAGE_REFERRER_POLICY)
    .header('cache-control', 'no-store')
    .type(HTML_TYPE)
    .send(body)
}

/** The authorization parameters that were sent, by name. */
function stringsOf(params: AuthorizationParameters): Record<string, string> {
  return Object.fromEntries(AUTHORIZATION_PARAMETER_NAMES.flatMap((name) => (typeof params[name] === 'string' ? [[name, params[name]]] : [])))
}

const PAGE_ERRORS = {
  invalid_client: 'Unknown application',
  invalid_redirect_uri: 'Unregistered redirect URI',
  invalid_form: 'This form has expired',
} as const

/** Turns what the authorization service decided into a page, a redirect, and the cookies that go with them. */
export function createOutcomeRenderer(deps: { keys: OidcPageKeys; cookies: PageCookies; clock: () => Date }) {
  const { keys, cookies, clock } = deps
  return function sendOutcome(request: FastifyRequest, reply: FastifyReply, outcome: AuthorizationOutcome, params: AuthorizationParameters) {
    if ((outcome.kind === 'redirect' || outcome.kind === 'consent') && outcome.signedIn) {
      cookies.setSignIn(reply, keys.signInCookie(outcome.signedIn.id), outcome.signedIn.absoluteExpiresAt)
    }
    switch (outcome.kind) {
      case 'error_page':
        return sendPage(reply, 400, errorPage({ status: 400, title: PAGE_ERRORS[outcome.error], description: outcome.description, code: outcome.error }))
      case 'redirect':
        return reply.code(303).header('location', outcome.location).send()
      case 'login': {
        // A refused password is shown again with a 200: it still counts against the login limits.
        if (outcome.failure) markSignInRefused(request)
        const browser = cookies.ensureCsrf(request, reply)
        const state = keys.seal({ purpose: 'authorize', params: stringsOf(params), browser: browserOf(browser) }, clock())
        const email = outcome.email ?? outcome.request.loginHint
        return sendPage(
          reply,
          200,
          loginPage({ clientName: outcome.client.name, state, email, error: outcome.failure?.message }),
          pageCsp([formTargetOf(outcome.request.redirectUri)]),
        )
      }
      case 'consent': {
        const browser = cookies.ensureCsrf(request, reply)
        const state = keys.seal({ purpose: 'authorize', params: stringsOf(params), browser: browserOf(browser), signInSessionId: outcome.session.id }, clock())
        const switchAccount = new URLSearchParams({ ...stringsOf(params), prompt: 'login' })
        return sendPage(
          reply,
          200,
          consentPage({
            clientName: outcome.client.name,
            state,
            scopes: outcome.request.scopes,
            userEmail: outcome.user.email,
            switchAccountUrl: `authorize?${switchAccount.toString()}`,
          }),
          pageCsp([formTargetOf(outcome.request.redirectUri)]),
        )
      }
    }
  }
}
