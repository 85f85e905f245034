import { Type, type TObject, type TProperties } from 'typebox'
import { UNSUPPORTED_GRANT_TYPE_DESCRIPTION } from '../domain/oauth/grants.js'
import type { AuthorizationPageErrorCode } from '../domain/oidc/authorization-request.js'
import { OAUTH_ERRORS, PROBLEMS, type OAuthErrorCode, type ProblemCode } from '../errors.js'
import { ENTITY_TAG_LIST_PATTERN } from './conditional-requests.js'

export const PROBLEM_MEDIA_TYPE = 'application/problem+json'
export const OAUTH_ERROR_MEDIA_TYPE = 'application/json'

const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[]
const OAUTH_ERROR_CODES = Object.keys(OAUTH_ERRORS) as OAuthErrorCode[]

// Request strings: what each one may hold is declared here once and enforced by validation (400).

/** RFC 6749 Appendix A VSCHAR (%x20-7E): client_id, client_secret, code, code_verifier, grant_type, ... */
export const VSCHAR_PATTERN = '^[\\x20-\\x7E]*$'

/** Text a person typed (an email, a display name, a reason): anything but control characters (C0, DEL, C1). */
export const TEXT_PATTERN = '^[^\\x00-\\x1F\\x7F-\\x9F]*$'

/** base64url without padding (RFC 4648 §5), as the service's opaque values are written. */
export const BASE64URL_PATTERN = '^[A-Za-z0-9_-]*$'

/** The router's limit on a path parameter (app.ts): a longer one is 414 before any route is chosen. */
export const MAX_PARAM_LENGTH = 200

/**
 * Marks a request string that is deliberately left without a format or pattern, with the reason
 * (shown in openapi.yaml; the security lint's tollgate-request-string-* rules skip it): where a
 * validation error would be the wrong answer, e.g. a refresh token that must be 401
 * invalid_grant whatever it looks like.
 */
export function unrestricted(reason: string) {
  return { 'x-unrestricted': reason }
}

/**
 * The id of a resource in a path. No format on purpose: an id that names none of the caller's
 * resources, a malformed one included, gets the same 404.
 */
export function PathIdSchema(description: string, examples: string[], maxLength = 64) {
  return Type.String({ maxLength, description, examples, ...unrestricted('Any id that is not one of yours, a malformed one included, is 404.') })
}

/** If-None-Match (RFC 9110 §13.1.2): `*` or a list of entity tags; a malformed value is 400, as for If-Match. */
export function IfNoneMatchSchema(description: string) {
  return Type.String({ maxLength: ENTITY_TAG_LIST_MAX_LENGTH, pattern: ENTITY_TAG_LIST_PATTERN, description, examples: ['"7"'] })
}

/** If-Match (RFC 9110 §13.1.1), as the cart's writes take it. */
export function IfMatchSchema(description: string) {
  return Type.String({ maxLength: ENTITY_TAG_LIST_MAX_LENGTH, pattern: ENTITY_TAG_LIST_PATTERN, description, examples: ['"7"'] })
}

// Far more tags than a client holds: the service's tags are short.
const ENTITY_TAG_LIST_MAX_LENGTH = 1024

/**
 * The `DPoP` request header (RFC 9449 §4) of every route that takes a proof: the token endpoints
 * (login, refresh, /oauth/token) and every route that takes an access token.
 */
export const DpopHeadersSchema = Type.Object({
  dpop: Type.Optional(
    Type.String({
      description:
        'A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the ' +
        'client\'s private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` ' +
        '(each proof is accepted once), `ath` (the access token\'s SHA-256, base64url) when an access token is sent, and the server\'s ' +
        '`nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an ' +
        'access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once.',
      ...unrestricted('A malformed, oversized or repeated proof is invalid_dpop_proof (RFC 9449 §4.3), never validation_failed.'),
    }),
  ),
})

/** A route's request headers with the DPoP proof header added. */
export function withDpopHeader<T extends TProperties>(headers: TObject<T>) {
  return Type.Object({ ...headers.properties, ...DpopHeadersSchema.properties })
}

/**
 * Routes that take an access token: as `Bearer`, or, bound to a DPoP key (`token_type: DPoP`), as
 * `DPoP` with a proof. Their 401 codes follow.
 */
export const ACCESS_TOKEN_SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { dpopAuth: [] }]
export const ACCESS_TOKEN_ERRORS = ['invalid_token', 'invalid_dpop_proof', 'use_dpop_nonce'] as const satisfies readonly ProblemCode[]

/** RFC 9457 problem details, as every /v1 and operations error is sent. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URN naming the problem type: `urn:tollgate:problem:` followed by the code.', examples: ['urn:tollgate:problem:email_taken'] }),
    title: Type.String({ description: 'A short summary of the problem type; the same for every occurrence of a code.' }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status code, repeated.' }),
    detail: Type.String({ description: 'What went wrong with this request, for a human. Do not parse it: use `code`.' }),
    code: Type.String({
      enum: PROBLEM_CODES,
      description: 'Stable machine-readable code: branch on this. The same codes are listed by each operation.',
    }),
  },
  {
    $id: 'Problem',
    title: 'Problem',
    description: 'RFC 9457 problem details (`application/problem+json`) with a stable `code`.',
  },
)

/** RFC 6749 §5.2 error response, as the /oauth endpoints send it. */
export const OAuthErrorSchema = Type.Object(
  {
    error: Type.String({ enum: OAUTH_ERROR_CODES, description: 'An RFC 6749 §5.2 (or RFC 7009 / RFC 7662) error code.' }),
    error_description: Type.Optional(Type.String({ description: 'Human-readable detail. Absent on server errors.' })),
  },
  { $id: 'OAuthError', title: 'OAuthError', description: 'RFC 6749 §5.2 error response, sent by the /oauth endpoints.' },
)

/** The headers of every response that carries a token (RFC 6749 §5.1): never cached anywhere. */
export const NO_STORE_HEADERS = {
  'Cache-Control': Type.Literal('no-store', { description: 'Token responses are never cached.' }),
  Pragma: Type.Literal('no-cache'),
}

/** How a response header is documented (the headers of a response schema, or of an error response). */
export interface HeaderSchema {
  type: 'string' | 'integer'
  description: string
  minimum?: number
}
export type HeaderMap = Record<string, HeaderSchema>

/**
 * What every answer of a rate-limited route carries while limits are on (RATE_LIMIT_ENABLED): the
 * counter closest to its limit, in the fields of draft-ietf-httpapi-ratelimit-headers
 * (plugins/external/rate-limit.ts). Routes without a limit send none of them.
 */
export const RATE_LIMIT_HEADERS: HeaderMap = {
  'RateLimit-Limit': { type: 'integer', minimum: 1, description: 'Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on).' },
  'RateLimit-Remaining': { type: 'integer', minimum: 0, description: 'Requests left in the current window of that counter.' },
  'RateLimit-Reset': { type: 'integer', minimum: 0, description: 'Seconds until that window ends.' },
}

/**
 * RFC 9449 §8: the nonce a route that takes a DPoP proof hands out. With use_dpop_nonce always; while
 * nonces are required (DPOP_NONCE_REQUIRED), on every answer to a request that carried a proof
 * (plugins/app/dpop.ts), so a client moves to the next nonce before its own expires.
 */
export const DPOP_NONCE_HEADER: HeaderSchema = {
  type: 'string',
  description:
    'The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, ' +
    'on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds.',
}

/** Response headers that come with some error statuses. */
const ERROR_HEADERS: Record<number, HeaderMap> = {
  401: {
    'WWW-Authenticate': {
      type: 'string',
      description:
        'On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP ' +
        '(a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`.',
    },
    'DPoP-Nonce': DPOP_NONCE_HEADER,
  },
  403: {
    'WWW-Authenticate': {
      type: 'string',
      description: 'On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP).',
    },
  },
  429: { 'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again.' }, ...RATE_LIMIT_HEADERS },
  503: { 'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again (sent when the service sheds load or waits out a database outage).' } },
}

const OAUTH_ERROR_HEADERS: Record<number, HeaderMap> = {
  400: { 'DPoP-Nonce': DPOP_NONCE_HEADER },
  401: {
    'WWW-Authenticate': {
      type: 'string',
      description:
        'On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); ' +
        'on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented ' +
        'with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1).',
    },
    'DPoP-Nonce': DPOP_NONCE_HEADER,
  },
  403: ERROR_HEADERS[403]!,
  429: ERROR_HEADERS[429]!,
  503: ERROR_HEADERS[503]!,
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Content too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
}

/** Codes a status is sent with, where it is not the catalogue's own status for the code. */
const STATUS_OVERRIDES: Record<number, ProblemCode[]> = {
  414: ['validation_failed'],
}

export interface ErrorResponse {
  description: string
  headers?: HeaderMap
  content: Record<string, { schema: ReturnType<typeof Type.Ref>; examples: Record<string, { summary: string; value: object }> }>
}

/** One documented error status: its codes in the description, and an example body of each. */
export function problemResponse(status: number, codes: readonly ProblemCode[] = codesForStatus(status)): ErrorResponse {
  const list = codes.map((code) => `\`${code}\`: ${PROBLEMS[code].title.toLowerCase()}`).join('; ')
  return {
    description: `${STATUS_TEXT[status] ?? `Status ${status}`}. Problem \`code\` ${list}.`,
    ...(hasHeaders(status, codes) ? { headers: ERROR_HEADERS[status] } : {}),
    content: {
      [PROBLEM_MEDIA_TYPE]: {
        schema: Type.Ref('Problem'),
        examples: Object.fromEntries(
          codes.map((code) => [
            code,
            {
              summary: PROBLEMS[code].title,
              value: { type: `urn:tollgate:problem:${code}`, title: PROBLEMS[code].title, status, detail: PROBLEMS[code].title, code },
            },
          ]),
        ),
      },
    },
  }
}

// A 403 carries a Bearer challenge only for insufficient_scope: forbidden_origin has none.
function hasHeaders(status: number, codes: readonly ProblemCode[]): boolean {
  return ERROR_HEADERS[status] !== undefined && (status !== 403 || codes.includes('insufficient_scope'))
}

function codesForStatus(status: number): ProblemCode[] {
  const codes = STATUS_OVERRIDES[status] ?? PROBLEM_CODES.filter((code) => PROBLEMS[code].status === status)
  if (codes.length === 0) throw new Error(`no problem code is sent with status ${status}`)
  return codes
}

/**
 * The problem+json error responses of a route, for its `response` schema: by status (every code
 * of that status) or by code (grouped by their status). Statuses every route of a kind can send
 * (400 on malformed input, 413, 415, 429, 503, ...) are added centrally by the swagger plugin.
 */
export function problemResponses(...errors: Array<number | ProblemCode>): Record<number, ErrorResponse> {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const error of errors) {
    if (typeof error === 'number') {
      byStatus.set(error, [...new Set([...(byStatus.get(error) ?? []), ...codesForStatus(error)])])
    } else {
      const status = PROBLEMS[error].status
      byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), error])])
    }
  }
  return Object.fromEntries([...byStatus].map(([status, codes]) => [status, problemResponse(status, codes)]))
}

/** One documented OAuth error status (RFC 6749 body), with an example of each error code. */
export function oauthErrorResponse(status: number, errors: readonly OAuthErrorCode[], description?: string): ErrorResponse {
  const list = errors.map((error) => `\`${error}\``).join(', ')
  return {
    description: `${STATUS_TEXT[status] ?? `Status ${status}`}: RFC 6749 error ${list}.${description ? ` ${description}` : ''}`,
    ...(OAUTH_ERROR_HEADERS[status] ? { headers: OAUTH_ERROR_HEADERS[status] } : {}),
    content: {
      [OAUTH_ERROR_MEDIA_TYPE]: {
        schema: Type.Ref('OAuthError'),
        examples: Object.fromEntries(
          errors.map((error) => [
            error,
            {
              summary: error,
              value: status >= 500 ? { error } : { error, error_description: OAUTH_STATUS_EXAMPLES[status] ?? OAUTH_EXAMPLE_DESCRIPTIONS[error] },
            },
          ]),
        ),
      },
    },
  }
}

// Statuses whose one error code (invalid_request) is sent for a reason of their own.
const OAUTH_STATUS_EXAMPLES: Record<number, string> = {
  413: 'The request body is too large',
  429: 'Too many requests; retry in 30 s',
}

const OAUTH_EXAMPLE_DESCRIPTIONS: Record<OAuthErrorCode, string> = {
  invalid_request: 'The body must be application/x-www-form-urlencoded',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The refresh token is invalid, expired or revoked',
  unauthorized_client: 'The client may not use this grant type',
  unsupported_grant_type: UNSUPPORTED_GRANT_TYPE_DESCRIPTION,
  invalid_scope: 'The requested scope exceeds the client\'s scopes',
  unsupported_token_type: 'The token type cannot be revoked',
  invalid_dpop_proof: 'The DPoP proof is for another URL',
  use_dpop_nonce: 'The DPoP proof needs the server\'s nonce',
  invalid_token: 'The access token is missing, invalid or expired',
  insufficient_scope: 'The access token lacks the required scope',
  server_error: 'Internal server error',
  temporarily_unavailable: 'The service is overloaded; retry later',
}

/**
 * The RFC 6749 error responses of an /oauth route, by status: each status with the error codes
 * it is sent with (by default, every code whose status it is).
 */
export function oauthErrorResponses(...statuses: Array<number | [number, OAuthErrorCode[]]>): Record<number, ErrorResponse> {
  return Object.fromEntries(
    statuses.map((entry) => {
      const [status, errors] = typeof entry === 'number' ? [entry, OAUTH_ERROR_CODES.filter((code) => OAUTH_ERRORS[code] === entry)] : entry
      return [status, oauthErrorResponse(status, errors)]
    }),
  )
}

/** A response without a body (304, an empty 200): documented with no content, sent with `reply.send()`. */
export function noBody(description: string, headers?: HeaderMap) {
  return Type.Unsafe<undefined>({ type: 'null', description, ...(headers ? { headers } : {}) })
}

export const HTML_MEDIA_TYPE = 'text/html'

/** An HTML page of the authorization endpoint (login, consent), documented as such. */
export function htmlPage(description: string) {
  return { description, content: { [HTML_MEDIA_TYPE]: { schema: { type: 'string', description: 'An HTML page (no script; styles from /oauth/assets).' } } } }
}

/**
 * The error page an HTML route answers with: for a person in a browser, not a program, so no
 * machine-readable body; the problem code is on the page. Codes are the catalogue's, or the
 * authorization endpoint's own page codes (`invalid_client`, `invalid_redirect_uri`); `explained`
 * replaces the generated description.
 */
export function pageErrorResponse(
  status: number,
  codes: readonly (ProblemCode | AuthorizationPageErrorCode)[] = codesForStatus(status),
  explained?: string,
): ErrorResponse & { content: Record<string, unknown> } {
  const list = codes.map((code) => `\`${code}\``).join(', ')
  return {
    description: explained ?? `${STATUS_TEXT[status] ?? `Status ${status}`}: an HTML error page (${list}).`,
    ...(status === 429 || status === 503 ? { headers: ERROR_HEADERS[status] } : {}),
    content: { [HTML_MEDIA_TYPE]: { schema: { type: 'string', description: 'An HTML error page naming the error code.' } } },
  } as unknown as ErrorResponse & { content: Record<string, unknown> }
}

/** The error pages of an HTML route, by status (every code of that status by default). */
export function pageErrorResponses(...statuses: Array<number | [number, ProblemCode[]]>): Record<number, ErrorResponse> {
  return Object.fromEntries(
    statuses.map((entry) => {
      const [status, codes] = typeof entry === 'number' ? [entry, undefined] : entry
      return [status, pageErrorResponse(status, codes)]
    }),
  )
}

/** A 303 See Other back to the client (or the redirect of a page), documented with its Location. */
export function redirectResponse(description: string) {
  return noBody(description, { Location: { type: 'string', description: 'Where the browser goes next.' } })
}
