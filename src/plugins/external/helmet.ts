import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply, onRequestHookHandler, onSendHookHandler } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'
import fp from 'fastify-plugin'
import { REFRESH_COOKIE_NAME } from '../../http/refresh-cookie.js'

// JSON needs no scripts, styles or frames: nothing may load, and nothing may frame a response.
const API_CSP = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
}

// The API reference (/docs) is the one HTML page: it runs its own bundle and inline set-up
// script and loads fonts, so it keeps only the directives that cannot break rendering.
const HTML_CSP = "base-uri 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"

const TOKEN_FIELD = /"(?:access_token|refresh_token)"\s*:/
const REFRESH_COOKIE_SET = new RegExp(`(?:^|,\\s*)${REFRESH_COOKIE_NAME}=[^;]`)

// The last string body found free of token fields. Static documents (the JWKS, the discovery
// documents) send one string object again and again: the same string is not searched twice.
let lastTokenFree: string | undefined

/** True when a response hands out a credential: a token response body or a refresh cookie. */
export function carriesToken(reply: FastifyReply, payload: unknown): boolean {
  if (typeof payload === 'string' && payload !== lastTokenFree) {
    if (TOKEN_FIELD.test(payload)) return true
    lastTokenFree = payload
  }
  if (Buffer.isBuffer(payload) && TOKEN_FIELD.test(payload.toString('utf8'))) return true
  const cookies = reply.getHeader('set-cookie')
  const list = Array.isArray(cookies) ? cookies : cookies === undefined ? [] : [String(cookies)]
  return list.some((cookie) => REFRESH_COOKIE_SET.test(cookie))
}

const HELMET_OPTIONS = {
  contentSecurityPolicy: API_CSP,
  crossOriginEmbedderPolicy: false,
  // Browsers fetch the API cross-origin through CORS (see cors.ts); other embedding stays blocked.
  crossOriginResourcePolicy: { policy: 'same-origin' },
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
} satisfies HelmetOptions

// Headers that only mean something to a browser rendering a document (OWASP REST Security Cheat
// Sheet, "Security Headers"): the HTML page gets them, JSON responses are spared their bytes.
const DOCUMENT_ONLY = {
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} satisfies HelmetOptions

/**
 * The headers helmet sets with these options. None of them depends on the request, so they are
 * worked out once here: @fastify/helmet rebuilds the whole helmet middleware on every request.
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error
  })
  return headers
}

/**
 * Security headers (helmet's, for an API; the full set on the HTML page), and `Cache-Control: no-store` on every response that
 * carries a token. The token routes set no-store themselves; this is the safety net for any
 * route that forgets.
 */
export default fp(
  async (app) => {
    const apiHeaders = securityHeaders({ ...HELMET_OPTIONS, ...DOCUMENT_ONLY })
    const documentHeaders = { ...securityHeaders(HELMET_OPTIONS), 'content-security-policy': HTML_CSP }
    const setSecurityHeaders: onRequestHookHandler = (_request, reply, done) => {
      reply.headers(apiHeaders)
      done()
    }
    app.addHook('onRequest', setSecurityHeaders)

    // tollgate's own pages (errorFormat 'page') send their strict CSP and their referrer policy
    // themselves (http/pages/render.ts).
    const { 'content-security-policy': _csp, 'referrer-policy': _referrer, ...pageHeaders } = documentHeaders as Record<string, string>
    app.addHook('onSend', (request, reply, payload, done) => {
      const type = reply.getHeader('content-type')
      if (typeof type === 'string' && type.startsWith('text/html')) {
        reply.headers(request.routeOptions.config?.errorFormat === 'page' ? pageHeaders : documentHeaders)
      }
      done(null, payload)
    })

    // A route-level hook runs after every app-level onSend, @fastify/cookie's included, so it
    // sees the Set-Cookie header that plugin writes there.
    const noStoreOnTokens: onSendHookHandler = (_request, reply, payload, done) => {
      if (carriesToken(reply, payload)) reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      done(null, payload)
    }
    app.addHook('onRoute', (routeOptions) => {
      const existing = routeOptions.onSend
      routeOptions.onSend = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), noStoreOnTokens]
    })
  },
  { name: 'helmet' },
)
