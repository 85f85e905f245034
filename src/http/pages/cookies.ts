import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { newCsrfCookieValue } from '../../domain/oidc/page-state.js'

/** The browser's sign-in at tollgate: HttpOnly, SameSite=Lax (it must come along when an app sends the browser here), /oauth only. */
export const SIGN_IN_COOKIE_NAME = 'tollgate_sign_in'
/** What the login and consent forms are bound to, so that another site cannot post them (login CSRF). */
export const CSRF_COOKIE_NAME = 'tollgate_csrf'
const PATH = '/oauth'

export function createPageCookies(config: Pick<Config, 'COOKIE_SECURE'>, clock: () => Date) {
  const attributes = { httpOnly: true, secure: config.COOKIE_SECURE, sameSite: 'lax', path: PATH } as const
  return {
    signIn(request: FastifyRequest): string | undefined {
      return request.cookies[SIGN_IN_COOKIE_NAME] || undefined
    },
    setSignIn(reply: FastifyReply, value: string, expiresAt: Date) {
      const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - clock().getTime()) / 1000))
      reply.setCookie(SIGN_IN_COOKIE_NAME, value, { ...attributes, maxAge })
    },
    clearSignIn(reply: FastifyReply) {
      reply.clearCookie(SIGN_IN_COOKIE_NAME, attributes)
    },
    csrf(request: FastifyRequest): string | undefined {
      return request.cookies[CSRF_COOKIE_NAME] || undefined
    },
    /** The browser's CSRF cookie, set now when it has none. */
    ensureCsrf(request: FastifyRequest, reply: FastifyReply): string {
      const existing = request.cookies[CSRF_COOKIE_NAME]
      if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing
      const value = newCsrfCookieValue()
      reply.setCookie(CSRF_COOKIE_NAME, value, attributes)
      return value
    },
  }
}

export type PageCookies = ReturnType<typeof createPageCookies>
