/**
 * The one catalogue of errors tollgate exposes. Services and domain code throw these by code and
 * with parsed values only; the HTTP layer (src/http/error-renderer.ts) turns them into responses:
 * RFC 9457 problem+json on /v1 and operations, RFC 6749 error bodies on the OAuth endpoints, with
 * the status, the challenge and the OAuth error each entry names. Tests assert codes, never messages.
 */

/**
 * The `WWW-Authenticate` challenge a code is sent with (RFC 9110 §11.6.1): `bearer` is a plain
 * RFC 6750 challenge, `bearer_error` adds `error`, `error_description` and `scope` (RFC 6750 §3);
 * `dpop_error` is RFC 9449 §7.1's `DPoP` challenge with `error` and `algs`.
 */
export type Challenge = 'bearer' | 'bearer_error' | 'dpop_error'

export interface ProblemEntry {
  readonly status: number
  readonly title: string
  /** What the code is on the OAuth endpoints (RFC 6749 §5.2). */
  readonly oauth: OAuthErrorCode
  readonly challenge?: Challenge
}

export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid', oauth: 'invalid_request' },
  weak_password: { status: 400, title: 'The password is too weak', oauth: 'invalid_request' },
  invalid_credentials: { status: 401, title: 'Invalid email or password', oauth: 'invalid_client', challenge: 'bearer' },
  invalid_grant: { status: 401, title: 'The refresh token is invalid, expired or revoked', oauth: 'invalid_grant', challenge: 'bearer' },
  invalid_token: { status: 401, title: 'The access token is missing, invalid or expired', oauth: 'invalid_token', challenge: 'bearer_error' },
  // RFC 9449: 401 with a DPoP challenge at a protected resource, 400 at the token endpoint.
  invalid_dpop_proof: { status: 401, title: 'The DPoP proof is missing or invalid', oauth: 'invalid_dpop_proof', challenge: 'dpop_error' },
  use_dpop_nonce: { status: 401, title: 'The DPoP proof must carry the server\'s nonce', oauth: 'use_dpop_nonce', challenge: 'dpop_error' },
  insufficient_scope: { status: 403, title: 'The access token lacks the required scope', oauth: 'insufficient_scope', challenge: 'bearer_error' },
  forbidden_origin: { status: 403, title: 'Cross-origin request refused', oauth: 'invalid_request' },
  invalid_form: { status: 403, title: 'The form expired or was not opened in this browser', oauth: 'invalid_request' },
  not_found: { status: 404, title: 'Not found', oauth: 'invalid_request' },
  method_not_allowed: { status: 405, title: 'Method not allowed', oauth: 'invalid_request' },
  email_taken: { status: 409, title: 'An account with this email already exists', oauth: 'invalid_request' },
  precondition_failed: { status: 412, title: 'The resource changed since the version you sent', oauth: 'invalid_request' },
  payload_too_large: { status: 413, title: 'The request body is too large', oauth: 'invalid_request' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type', oauth: 'invalid_request' },
  quantity_limit_exceeded: { status: 422, title: 'The quantity would exceed the limit', oauth: 'invalid_request' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was already used with a different request', oauth: 'invalid_request' },
  rate_limited: { status: 429, title: 'Too many requests', oauth: 'invalid_request' },
  internal_error: { status: 500, title: 'Internal server error', oauth: 'server_error' },
  service_unavailable: { status: 503, title: 'Service unavailable', oauth: 'temporarily_unavailable' },
} as const satisfies Record<string, ProblemEntry>

export type ProblemCode = keyof typeof PROBLEMS

/** The catalogue entry of a code, with its optional members typed. */
export const problemEntry = (code: ProblemCode): ProblemEntry => PROBLEMS[code]

/** What a problem may carry besides its detail; the renderer turns it into headers. */
export interface ProblemOptions {
  /** Sent as Retry-After (429, 503). */
  retryAfterSeconds?: number | undefined
  /** insufficient_scope: the scope the request needs, sent in the Bearer challenge. */
  scope?: string | undefined
  /**
   * invalid_token and insufficient_scope: the scheme the token was (or had to be) presented with;
   * `dpop` answers with RFC 9449's DPoP challenge instead of the Bearer one.
   */
  scheme?: 'bearer' | 'dpop' | undefined
  /** RFC 9449 §8: a fresh server nonce, sent as DPoP-Nonce. */
  dpopNonce?: string | undefined
}

export class ProblemError extends Error {
  readonly code: ProblemCode
  readonly detail: string | undefined
  readonly status: number
  readonly title: string
  readonly retryAfterSeconds: number | undefined
  readonly scope: string | undefined
  readonly scheme: 'bearer' | 'dpop' | undefined
  readonly dpopNonce: string | undefined

  constructor(code: ProblemCode, detail?: string, options: ProblemOptions = {}) {
    super(detail ?? PROBLEMS[code].title)
    this.name = 'ProblemError'
    this.code = code
    this.detail = detail
    this.status = PROBLEMS[code].status
    this.title = PROBLEMS[code].title
    this.retryAfterSeconds = options.retryAfterSeconds
    this.scope = options.scope
    this.scheme = options.scheme
    this.dpopNonce = options.dpopNonce
  }
}

/**
 * The caller gave up before an expensive step (a password hash) began, so the step was skipped:
 * nobody is left to read the answer. Not a client error and not a failure: the HTTP layer sends
 * nothing, logs one line and counts it (http_requests_abandoned_total).
 */
export class AbandonedError extends Error {
  constructor() {
    super('The caller gave up before the work began')
    this.name = 'AbandonedError'
  }
}

export interface OAuthErrorEntry {
  readonly status: number
  /**
   * RFC 6749 §5.2: a client that tried the Authorization header and failed to authenticate gets a
   * `Basic` challenge; a bearer-protected endpoint (userinfo) a `Bearer` one (RFC 6750 §3).
   */
  readonly challenge?: 'basic' | 'bearer'
}

/** RFC 6749 §5.2 (and RFC 7009/7662) error codes, with the status each is sent with. */
export const OAUTH_ERROR_ENTRIES = {
  invalid_request: { status: 400 },
  invalid_client: { status: 401, challenge: 'basic' },
  invalid_grant: { status: 400 },
  unauthorized_client: { status: 400 },
  unsupported_grant_type: { status: 400 },
  invalid_scope: { status: 400 },
  unsupported_token_type: { status: 400 },
  // RFC 9449 §5 and §8.
  invalid_dpop_proof: { status: 400 },
  use_dpop_nonce: { status: 400 },
  invalid_token: { status: 401, challenge: 'bearer' },
  insufficient_scope: { status: 403, challenge: 'bearer' },
  server_error: { status: 500 },
  temporarily_unavailable: { status: 503 },
} as const satisfies Record<string, OAuthErrorEntry>

export type OAuthErrorCode = keyof typeof OAUTH_ERROR_ENTRIES

export const oauthErrorEntry = (code: OAuthErrorCode): OAuthErrorEntry => OAUTH_ERROR_ENTRIES[code]

/** The status of each OAuth error code. */
export const OAUTH_ERRORS = Object.fromEntries(
  Object.entries(OAUTH_ERROR_ENTRIES).map(([code, entry]) => [code, entry.status]),
) as { readonly [code in OAuthErrorCode]: (typeof OAUTH_ERROR_ENTRIES)[code]['status'] }

export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly description: string | undefined
  readonly status: number

  constructor(error: OAuthErrorCode, description?: string) {
    super(description ?? error)
    this.name = 'OAuthError'
    this.error = error
    this.description = description
    this.status = OAUTH_ERROR_ENTRIES[error].status
  }
}

/** The RFC 6749 error code of anything the catalogue knows, for the OAuth endpoints and their metrics. */
export function oauthErrorOf(error: unknown): OAuthErrorCode | undefined {
  if (error instanceof OAuthError) return error.error
  if (error instanceof ProblemError) return PROBLEMS[error.code].oauth
  return undefined
}

/** Bearer-token failures (RFC 6750 §3): 401 invalid_token or 403 insufficient_scope. */
export function bearerError(code: 'invalid_token' | 'insufficient_scope', detail?: string, scope?: string, scheme?: 'bearer' | 'dpop'): ProblemError {
  return new ProblemError(code, detail, { scope, scheme })
}
