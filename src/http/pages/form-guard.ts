import type { FastifyRequest } from 'fastify'
import type { PageState } from '../../domain/oidc/page-state.js'
import { ProblemError } from '../../errors.js'
import type { PageCookies } from './cookies.js'
import type { OidcPageKeys } from './page-keys.js'

/**
 * The CSRF check of tollgate's forms (login CSRF included): a post must come from tollgate's own
 * origin (Origin, Sec-Fetch-Site) and carry the page state sealed for this browser's CSRF cookie
 * and this form. 403 otherwise.
 */
export function createFormGuard(deps: { keys: OidcPageKeys; cookies: PageCookies; issuer: string; clock: () => Date }) {
  const issuerOrigin = new URL(deps.issuer).origin
  return function open(request: FastifyRequest, sealed: string, purpose: PageState['purpose']): PageState {
    const origin = request.headers.origin
    if ((origin !== undefined && origin !== issuerOrigin) || request.headers['sec-fetch-site'] === 'cross-site') {
      throw new ProblemError('forbidden_origin', 'This form can only be sent from tollgate\'s own page.')
    }
    const state = deps.keys.open(sealed, deps.cookies.csrf(request), deps.clock())
    if (!state || state.purpose !== purpose) {
      throw new ProblemError('invalid_form', 'This form expired or was opened in another browser. Go back to the application and start again.')
    }
    return state
  }
}
