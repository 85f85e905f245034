/**
 * The one catalogue of errors tollgate exposes. Services throw these by code; the HTTP layer
 * renders them (src/http/error-renderer.ts) as RFC 9457 problem+json, or as RFC 6749 error
 * bodies on the OAuth endpoints. Tests assert codes, never messages.
 */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  weak_password: { status: 400, title: 'The password is too weak' },
  invalid_credentials: { status: 401, title: 'Invalid email or password' },
  invalid_grant: { status: 401, title: 'The refresh token is invalid, expired or revoked' },
  invalid_token: { status: 401, title: 'The access token is missing, invalid or expired' },
  insufficient_scope: { status: 403, title: 'The access token lacks the required scope' },
  forbidden_origin: { status: 403, title: 'Cross-origin request refused' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  email_taken: { status: 409, title: 'An account with this email already exists' },
  precondition_failed: { status: 412, title: 'The resource changed since the version you sent' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  quantity_limit_exceeded: { status: 422, title: 'The quantity would exceed the limit' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
} as const

export type ProblemCode = keyof typeof PROBLEMS

export class ProblemError extends Error {
  readonly status: number
  readonly title: string

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    /** Extra response headers, such as Retry-After or WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? PROBLEMS[code].title)
    this.name = 'ProblemError'
    this.status = PROBLEMS[code].status
    this.title = PROBLEMS[code].title
  }
}

/** RFC 6749 §5.2 (and RFC 7009/7662) error codes, with the status each is sent with. */
export const OAUTH_ERRORS = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
} as const

export type OAuthErrorCode = keyof typeof OAUTH_ERRORS

export class OAuthError extends Error {
  readonly status: number

  constructor(
    readonly error: OAuthErrorCode,
    readonly description?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description ?? error)
    this.name = 'OAuthError'
    this.status = OAUTH_ERRORS[error]
  }
}

/** Bearer-token failures (RFC 6750 §3): 401 invalid_token or 403 insufficient_scope. */
export function bearerError(code: 'invalid_token' | 'insufficient_scope', detail?: string, scope?: string): ProblemError {
  const parts = [`realm="tollgate"`, `error="${code}"`]
  if (detail) parts.push(`error_description="${detail.replace(/["\\]/g, '')}"`)
  if (scope) parts.push(`scope="${scope}"`)
  return new ProblemError(code, detail, { 'www-authenticate': `Bearer ${parts.join(', ')}` })
}
