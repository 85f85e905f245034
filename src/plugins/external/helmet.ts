import helmet from '@fastify/helmet'
import type { FastifyReply, onSendHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { REFRESH_COOKIE } from '../../http/rate-limit-policy.js'

// JSON needs no scripts, styles or frames: nothing may load, and nothing may frame a response.
const API_CSP = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
}

// The API reference (/docs) is the one HTML page: it runs its own bundle and inline set-up
// script and loads fonts, so it keeps only the directives that cannot break rendering.
const HTML_CSP = "base-uri 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"

const TOKEN_FIELD = /"(?:access_token|refresh_token)"\s*:/
const REFRESH_COOKIE_SET = new RegExp(`(?:^|,\\s*)${REFRESH_COOKIE}=[^;]`)

/** True when a response hands out a credential: a token response body or a refresh cookie. */
export function carriesToken(reply: FastifyReply, payload: unknown): boolean {
  if (typeof payload === 'string' && TOKEN_FIELD.test(payload)) return true
  if (Buffer.isBuffer(payload) && TOKEN_FIELD.test(payload.toString('utf8'))) return true
  const cookies = reply.getHeader('set-cookie')
  const list = Array.isArray(cookies) ? cookies : cookies === undefined ? [] : [String(cookies)]
  return list.some((cookie) => REFRESH_COOKIE_SET.test(cookie))
}

/**
 * Security headers for an API (@fastify/helmet), and `Cache-Control: no-store` on every response
 * that carries a token. The token routes set no-store themselves; this is the safety net for any
 * route that forgets.
 */
export default fp<{ config: Config }>(
  async (app) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: API_CSP,
      crossOriginEmbedderPolicy: false,
      // Browsers fetch the API cross-origin through CORS (see cors.ts); other embedding stays blocked.
      crossOriginResourcePolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    })

    app.addHook('onSend', async (_request, reply, payload) => {
      if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('content-security-policy', HTML_CSP)
      return payload
    })

    // A route-level hook runs after every app-level onSend, @fastify/cookie's included, so it
    // sees the Set-Cookie header that plugin writes there.
    const noStoreOnTokens: onSendHookHandler = async (_request, reply, payload) => {
      if (carriesToken(reply, payload)) reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      return payload
    }
    app.addHook('onRoute', (routeOptions) => {
      const existing = routeOptions.onSend
      routeOptions.onSend = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), noStoreOnTokens]
    })
  },
  { name: 'helmet' },
)
