import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { ProblemError } from '../errors.js'

/** The refresh-token cookie the first-party endpoints set. */
export const REFRESH_COOKIE_NAME = 'tollgate_refresh'
const REFRESH_COOKIE_PATH = '/v1/auth'

/**
 * The refresh token as an HttpOnly cookie scoped to /v1/auth, for browser clients that should
 * never hold it in script. A request from another site must neither use it (CSRF: 403) nor set,
 * overwrite or clear it (login CSRF, or planting the attacker's session): a response to such a
 * request carries no Set-Cookie for it. Another site is an Origin that is neither the issuer's nor
 * in ALLOWED_ORIGINS, or a browser's `Sec-Fetch-Site: cross-site`; a request with neither header
 * is not a browser's cross-site request.
 */
export function createRefreshCookie(config: Pick<Config, 'COOKIE_SECURE' | 'ALLOWED_ORIGINS' | 'ISSUER'>, clock: () => Date) {
  const allowedOrigins = new Set([...config.ALLOWED_ORIGINS.map((origin) => origin.replace(/\/+$/, '')), new URL(config.ISSUER).origin])
  const attributes = { httpOnly: true, secure: config.COOKIE_SECURE, sameSite: 'strict', path: REFRESH_COOKIE_PATH } as const
  const isCrossSite = (request: FastifyRequest) => {
    const origin = request.headers.origin
    return (origin !== undefined && !allowedOrigins.has(origin)) || request.headers['sec-fetch-site'] === 'cross-site'
  }
  return {
    set(reply: FastifyReply, refreshToken: string, sessionExpiresAt: Date) {
      if (isCrossSite(reply.request)) return
      const maxAge = Math.max(0, Math.floor((sessionExpiresAt.getTime() - clock().getTime()) / 1000))
      reply.setCookie(REFRESH_COOKIE_NAME, refreshToken, { ...attributes, maxAge })
    },
    clear(reply: FastifyReply) {
      if (isCrossSite(reply.request)) return
      reply.clearCookie(REFRESH_COOKIE_NAME, attributes)
    },
    read(request: FastifyRequest): string | undefined {
      return request.cookies[REFRESH_COOKIE_NAME] || undefined
    },
    /** 403 forbidden_origin for a cookie-authenticated request from another site. */
    assertSameOrigin(request: FastifyRequest) {
      if (isCrossSite(request)) throw new ProblemError('forbidden_origin', 'A request authenticated by the refresh cookie must come from an allowed origin')
    },
    /** The refresh token of a request: the body's, else the cookie's, which must come from an allowed origin. */
    presented(request: FastifyRequest, body: { refresh_token?: string | undefined } | undefined): string | undefined {
      const fromBody = body?.refresh_token
      if (fromBody) return fromBody
      const fromCookie = this.read(request)
      if (fromCookie) this.assertSameOrigin(request)
      return fromCookie
    },
  }
}

export type RefreshCookie = ReturnType<typeof createRefreshCookie>
