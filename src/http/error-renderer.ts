import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAUTH_ERRORS, OAuthError, PROBLEMS, ProblemError, type OAuthErrorCode, type ProblemCode } from '../errors.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** Routes opt into RFC 6749 error bodies with `config: { errorFormat: 'oauth' }`. */
export type ErrorFormat = 'problem' | 'oauth'

declare module 'fastify' {
  interface FastifyContextConfig {
    errorFormat?: ErrorFormat
  }
}

interface Rendered {
  status: number
  headers: Record<string, string>
  problem: { code: ProblemCode; detail?: string | undefined }
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
    return {
      status: error.status,
      headers: error.headers,
      problem: { code: error.code, detail: error.detail },
      oauth: { error: oauthErrorForProblem(error), error_description: error.detail },
    }
  }
  if (error instanceof OAuthError) {
    const code: ProblemCode = error.error === 'invalid_grant' ? 'invalid_grant' : error.status === 401 ? 'invalid_token' : 'validation_failed'
    return {
      status: error.status,
      headers: error.headers,
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
  if (statusCode === 503) {
    return {
      status: 503,
      headers: {},
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

function oauthErrorForProblem(error: ProblemError): OAuthErrorCode {
  if (error.code === 'invalid_grant') return 'invalid_grant'
  if (error.status === 401) return 'invalid_client'
  if (error.status === 503) return 'temporarily_unavailable'
  return error.status >= 500 ? 'server_error' : 'invalid_request'
}

/**
 * RFC 6749 §5.2 status on OAuth routes: a malformed request (a bad or repeated field, a body
 * that is not form-encoded) is 400 invalid_request, and invalid_grant is 400 there, not 401.
 */
function oauthStatus(rendered: Rendered): number {
  if (rendered.oauth.error === 'invalid_grant') return OAUTH_ERRORS.invalid_grant
  const malformed: ProblemCode[] = ['validation_failed', 'unsupported_media_type']
  return rendered.oauth.error === 'invalid_request' && malformed.includes(rendered.problem.code) ? OAUTH_ERRORS.invalid_request : rendered.status
}

function codeForStatus(status: number): ProblemCode {
  const match = Object.entries(PROBLEMS).find(([, p]) => p.status === status)
  return (match?.[0] as ProblemCode | undefined) ?? 'validation_failed'
}

/** The one error handler: problem+json for /v1 and operations, RFC 6749 bodies for OAuth routes. */
export function renderError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const rendered = classify(error)
  if (rendered.status >= 500) {
    request.log.error({ err: error }, 'request failed')
  } else {
    request.log.info({ code: rendered.problem.code, status: rendered.status }, 'request refused')
  }
  if (request.routeOptions.config?.errorFormat === 'oauth') {
    reply.code(oauthStatus(rendered)).headers(rendered.headers)
    reply.header('cache-control', 'no-store')
    const body: Record<string, string> = { error: rendered.oauth.error }
    if (rendered.oauth.error_description && rendered.status < 500) body.error_description = rendered.oauth.error_description
    return reply.type('application/json; charset=utf-8').send(body)
  }
  reply.code(rendered.status).headers(rendered.headers)
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
