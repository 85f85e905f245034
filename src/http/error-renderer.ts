import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import {
  AbandonedError,
  OAUTH_ERRORS,
  OAuthError,
  oauthErrorEntry,
  PROBLEMS,
  ProblemError,
  problemEntry,
  type OAuthErrorCode,
  type ProblemCode,
} from '../errors.js'
import { DATABASE_RETRY_AFTER_SECONDS, databaseFailureOf, isStalePlan } from '../db/unavailable.js'
import { BASIC_CHALLENGE, bearerChallenge, dpopChallenge } from './authorization.js'
import { sendPage } from './pages/render.js'
import { errorPage, rateLimitedPage } from './pages/templates.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/**
 * Routes opt into RFC 6749 error bodies with `config: { errorFormat: 'oauth' }`, and the HTML
 * pages of the authorization endpoint into an error page with `'page'`.
 */
export type ErrorFormat = 'problem' | 'oauth' | 'page'

declare module 'fastify' {
  interface FastifyContextConfig {
    errorFormat?: ErrorFormat
    /** An /oauth POST route that may come without a form body (userinfo, authenticated by its header). */
    formOptional?: boolean
    /**
     * An /oauth route that is a protected resource (userinfo), not a token endpoint: a DPoP proof
     * error there is a 401 with a `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1), not a 400.
     */
    protectedResource?: boolean
  }
}

interface Rendered {
  status: number
  /** Headers of either format (Retry-After); each format adds its own challenge. */
  headers: Record<string, string>
  problem: { code: ProblemCode; detail?: string | undefined; scope?: string | undefined; scheme?: 'bearer' | 'dpop' | undefined }
  oauth: { error: OAuthErrorCode; error_description?: string | undefined }
}

/** Maps Fastify's own client errors (bad JSON, body too large, ...) onto the catalogue. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'validation_failed',
}

function classify(error: FastifyError | Error): Rendered {
  if (error instanceof ProblemError) {
    const headers: Record<string, string> = {}
    if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds)
    if (error.dpopNonce !== undefined) headers['dpop-nonce'] = error.dpopNonce
    return {
      status: error.status,
      headers,
      problem: { code: error.code, detail: error.detail, scope: error.scope, scheme: error.scheme },
      oauth: { error: PROBLEMS[error.code].oauth, error_description: error.detail },
    }
  }
  if (error instanceof OAuthError) {
    const code: ProblemCode = error.error === 'invalid_grant' ? 'invalid_grant' : error.status === 401 ? 'invalid_token' : 'validation_failed'
    return {
      status: error.status,
      headers: {},
      problem: { code, detail: error.description },
      oauth: { error: error.error, error_description: error.description },
    }
  }
  const fastifyError = error as FastifyError
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined
  const statusCode = fastifyError.statusCode
  if (mapped || (statusCode && statusCode >= 400 && statusCode < 500)) {
    const code: ProblemCode = mapped ?? codeForStatus(statusCode!)
    const status = mapped ? PROBLEMS[code].status : statusCode!
    const headers: Record<string, string> = {}
    if (status === 429 && 'retryAfter' in fastifyError) headers['retry-after'] = String(fastifyError.retryAfter)
    return {
      status,
      headers,
      problem: { code, detail: error.message },
      oauth: { error: 'invalid_request', error_description: error.message },
    }
  }
  // A database that cannot be reached is an outage to wait out, not a bug: 503 with Retry-After.
  // So is a transaction that met a statement prepared before a migration (the connection has
  // prepared it again since: db/stale-statements.ts).
  if (statusCode === 503 || databaseFailureOf(error) || isStalePlan(error)) {
    return {
      status: 503,
      headers: statusCode === 503 ? {} : { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
      problem: { code: 'service_unavailable', detail: undefined },
      oauth: { error: 'temporarily_unavailable' },
    }
  }
  return {
    status: 500,
    headers: {},
    problem: { code: 'internal_error', detail: undefined },
    oauth: { error: 'server_error' },
  }
}

/**
 * The catalogue's challenge for a problem, as RFC 6750 spells it, or RFC 9449 for DPoP: a token
 * presented (or bound) with DPoP is refused with a DPoP challenge.
 */
const PRESENTED_AS_DPOP = /^DPoP\s/i

function problemChallenge(problem: Rendered['problem']): string | undefined {
  const challenge = problemEntry(problem.code).challenge
  const error = { code: problem.code, description: problem.detail, scope: problem.scope }
  if (challenge === 'bearer') return bearerChallenge()
  if (challenge === 'dpop_error' || (challenge === 'bearer_error' && problem.scheme === 'dpop')) return dpopChallenge(error)
  if (challenge === 'bearer_error') return bearerChallenge(error)
  return undefined
}

/**
 * invalid_client gets a Basic challenge however the client tried to authenticate: RFC 6749 §5.2
 * requires it after a failed Authorization header, and RFC 9110 §15.5.2 a challenge on every 401.
 * A bearer-token error (userinfo) gets its Bearer challenge (RFC 6750 §3).
 */
function oauthChallenge(rendered: Rendered, resource: boolean): string | undefined {
  if (resource && isDpopError(rendered)) return problemChallenge(rendered.problem)
  const challenge = oauthErrorEntry(rendered.oauth.error).challenge
  if (challenge === 'bearer') return problemChallenge(rendered.problem) ?? bearerChallenge({ code: rendered.oauth.error, description: rendered.oauth.error_description })
  return challenge === 'basic' ? BASIC_CHALLENGE : undefined
}

/**
 * RFC 6749 §5.2 status on OAuth routes: a malformed request (a bad or repeated field, a body
 * that is not form-encoded) is 400 invalid_request, and invalid_grant is 400 there, not 401.
 */
const isDpopError = (rendered: Rendered) => rendered.oauth.error === 'invalid_dpop_proof' || rendered.oauth.error === 'use_dpop_nonce'

function oauthStatus(rendered: Rendered, resource: boolean): number {
  if (rendered.oauth.error === 'invalid_grant') return OAUTH_ERRORS.invalid_grant
  if (isDpopError(rendered)) return resource ? rendered.status : OAUTH_ERRORS[rendered.oauth.error as 'invalid_dpop_proof' | 'use_dpop_nonce']
  const malformed: ProblemCode[] = ['validation_failed', 'unsupported_media_type']
  return rendered.oauth.error === 'invalid_request' && malformed.includes(rendered.problem.code) ? OAUTH_ERRORS.invalid_request : rendered.status
}

function codeForStatus(status: number): ProblemCode {
  const match = Object.entries(PROBLEMS).find(([, p]) => p.status === status)
  return (match?.[0] as ProblemCode | undefined) ?? 'validation_failed'
}

/** The one error handler: problem+json for /v1 and operations, RFC 6749 bodies for OAuth routes. */
export function renderError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AbandonedError) {
    // The client is gone (src/http/client-gone.ts): nothing can be delivered, nothing failed.
    const route = request.routeOptions.url ?? 'unmatched'
    request.log.info({ route }, 'client gone before the password hash: skipped')
    request.server.metrics.abandoned.inc({ method: request.method, route })
    return reply.code(499).send()
  }
  const rendered = classify(error)
  // RFC 9449 §7.1: a token presented as DPoP is answered in that scheme whatever refused it (an
  // expired token, an ended session, a missing scope), not only the DPoP checks.
  if (rendered.problem.scheme === undefined && PRESENTED_AS_DPOP.test(request.headers.authorization ?? '')) rendered.problem.scheme = 'dpop'
  if (rendered.status === 503) {
    // Shedding load, draining or waiting out a database outage: expected, and said elsewhere once.
    request.log.debug({ code: rendered.problem.code }, 'request refused: unavailable')
  } else if (rendered.status >= 500) {
    request.log.error({ err: error }, 'request failed')
  } else {
    request.log.info({ code: rendered.problem.code, status: rendered.status }, 'request refused')
  }
  if (request.routeOptions.config?.errorFormat === 'page') {
    reply.headers(rendered.headers)
    const { code, detail } = rendered.problem
    // A person reads this one: how long to wait, in words, not the API's detail (nor its developer hint).
    const retryAfter = Number(rendered.headers['retry-after'])
    if (code === 'rate_limited' && retryAfter > 0) return sendPage(reply, rendered.status, rateLimitedPage({ retryAfterSeconds: retryAfter }))
    const description = rendered.status >= 500 ? PROBLEMS[code].title : (detail ?? PROBLEMS[code].title)
    return sendPage(reply, rendered.status, errorPage({ status: rendered.status, title: PROBLEMS[code].title, description, code }))
  }
  if (request.routeOptions.config?.errorFormat === 'oauth') {
    const resource = request.routeOptions.config?.protectedResource === true
    reply.code(oauthStatus(rendered, resource)).headers(rendered.headers)
    const challenge = oauthChallenge(rendered, resource)
    if (challenge) reply.header('www-authenticate', challenge)
    reply.header('cache-control', 'no-store')
    const body: Record<string, string> = { error: rendered.oauth.error }
    if (rendered.oauth.error_description && rendered.status < 500) body.error_description = rendered.oauth.error_description
    return reply.type('application/json; charset=utf-8').send(body)
  }
  reply.code(rendered.status).headers(rendered.headers)
  const challenge = problemChallenge(rendered.problem)
  if (challenge) reply.header('www-authenticate', challenge)
  const { code, detail } = rendered.problem
  return reply.type(PROBLEM_CONTENT_TYPE).send({
    type: `urn:tollgate:problem:${code}`,
    title: PROBLEMS[code].title,
    status: rendered.status,
    detail: rendered.status >= 500 ? PROBLEMS[code].title : (detail ?? PROBLEMS[code].title),
    code,
  })
}

export function renderNotFound(request: FastifyRequest, reply: FastifyReply) {
  return renderError(new ProblemError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`), request, reply)
}
