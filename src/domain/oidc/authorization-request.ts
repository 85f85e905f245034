import { matchRedirectUri } from '../oauth/redirect-uri.js'
import { isScopeToken } from '../oauth/scope.js'
import { isS256Challenge } from './pkce.js'

/** The parameters of GET/POST /oauth/authorize, as received (every one optional and untrusted). */
export interface AuthorizationParameters {
  response_type?: string | undefined
  client_id?: string | undefined
  redirect_uri?: string | undefined
  scope?: string | undefined
  state?: string | undefined
  nonce?: string | undefined
  code_challenge?: string | undefined
  code_challenge_method?: string | undefined
  prompt?: string | undefined
  max_age?: string | undefined
  response_mode?: string | undefined
  request?: string | undefined
  request_uri?: string | undefined
  login_hint?: string | undefined
}

export const AUTHORIZATION_PARAMETER_NAMES = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'response_mode',
  'request',
  'request_uri',
  'login_hint',
] as const satisfies readonly (keyof AuthorizationParameters)[]

/** What the authorization endpoint needs to know of a client. */
export interface AuthorizingClient {
  clientId: string
  name: string
  grantTypes: readonly string[]
  scopes: readonly string[]
  redirectUris: readonly string[]
  firstParty: boolean
}

/** A request that passed every check: what the pages and the code carry forward. */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  scopes: string[]
  state: string | undefined
  nonce: string | undefined
  codeChallenge: string
  prompt: ReadonlySet<Prompt>
  maxAgeSeconds: number | undefined
  loginHint: string | undefined
}

export const PROMPTS = ['none', 'login', 'consent', 'select_account'] as const
export type Prompt = (typeof PROMPTS)[number]

/** OAuth 2.0 (RFC 6749 §4.1.2.1) and OIDC Core §3.1.2.6 error codes the endpoint redirects with. */
export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'

/** Errors that must not redirect: the redirect URI cannot be trusted (RFC 6749 §4.1.2.1). */
export type AuthorizationPageErrorCode = 'invalid_client' | 'invalid_redirect_uri'

export type CheckedAuthorization =
  | { ok: true; request: AuthorizationRequest }
  | { ok: false; page: AuthorizationPageErrorCode; description: string }
  | { ok: false; page?: undefined; redirectUri: string; state: string | undefined; error: AuthorizationErrorCode; description: string }

const MAX_STATE = 2048
const MAX_NONCE = 512

/**
 * Checks an authorization request against its client (OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1), in
 * the order that decides where an error goes: an unknown client or a redirect URI that is not
 * exactly one of the client's gets an error page; from then on every error redirects back.
 */
export function checkAuthorizationRequest(params: AuthorizationParameters, client: AuthorizingClient | null): CheckedAuthorization {
  if (!params.client_id || !client) return { ok: false, page: 'invalid_client', description: 'The application asking you to sign in is not registered here.' }
  const redirectUri = matchRedirectUri(params.redirect_uri, client.redirectUris)
  if (!redirectUri) {
    return { ok: false, page: 'invalid_redirect_uri', description: 'The application sent a redirect_uri that is not one of its registered ones.' }
  }
  const state = params.state
  const fail = (error: AuthorizationErrorCode, description: string): CheckedAuthorization => ({
    ok: false,
    redirectUri,
    state: state !== undefined && state.length <= MAX_STATE ? state : undefined,
    error,
    description,
  })
  if (state !== undefined && state.length > MAX_STATE) return fail('invalid_request', `state is longer than ${MAX_STATE} characters`)
  if (params.request !== undefined) return fail('request_not_supported', 'Request objects are not supported')
  if (params.request_uri !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported')
  if (params.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code')
  if (params.response_mode !== undefined && params.response_mode !== 'query') return fail('invalid_request', 'response_mode must be query')
  if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'This client may not use the authorization code flow')
  if (params.code_challenge === undefined) return fail('invalid_request', 'PKCE is required: send code_challenge and code_challenge_method=S256')
  if (params.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256')
  if (!isS256Challenge(params.code_challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters')
  if (params.nonce !== undefined && params.nonce.length > MAX_NONCE) return fail('invalid_request', `nonce is longer than ${MAX_NONCE} characters`)

  const scopes = [...new Set((params.scope ?? '').split(' ').filter(Boolean))]
  if (scopes.length === 0) return fail('invalid_scope', 'scope is required')
  if (!scopes.every(isScopeToken)) return fail('invalid_scope', 'The scope parameter is malformed')
  const refused = scopes.filter((scope) => !client.scopes.includes(scope))
  if (refused.length > 0) return fail('invalid_scope', `This client may not request: ${refused.join(' ')}`)

  const prompts = (params.prompt ?? '').split(' ').filter(Boolean)
  if (!prompts.every((prompt): prompt is Prompt => (PROMPTS as readonly string[]).includes(prompt))) return fail('invalid_request', 'prompt must be none, login, consent or select_account')
  if (prompts.includes('none') && prompts.length > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values')

  let maxAgeSeconds: number | undefined
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) return fail('invalid_request', 'max_age must be a number of seconds')
    maxAgeSeconds = Number(params.max_age)
  }
  return {
    ok: true,
    request: {
      clientId: client.clientId,
      redirectUri,
      scopes,
      state,
      nonce: params.nonce,
      codeChallenge: params.code_challenge,
      prompt: new Set(prompts as Prompt[]),
      maxAgeSeconds,
      loginHint: params.login_hint?.slice(0, 320),
    },
  }
}

/**
 * Whether the user must (re-)enter their password: no sign-in, `prompt=login` (or
 * `select_account`, tollgate has one account per browser), or a sign-in older than `max_age`.
 */
export function needsLogin(request: AuthorizationRequest, signedInAt: Date | undefined, now: Date): boolean {
  if (!signedInAt) return true
  if (request.prompt.has('login') || request.prompt.has('select_account')) return true
  return request.maxAgeSeconds !== undefined && now.getTime() - signedInAt.getTime() > request.maxAgeSeconds * 1000
}

/** Whether the consent screen must be shown: third-party clients, for scopes not yet granted, or on `prompt=consent`. */
export function needsConsent(request: AuthorizationRequest, client: AuthorizingClient, granted: readonly string[]): boolean {
  if (client.firstParty) return false
  if (request.prompt.has('consent')) return true
  return !request.scopes.every((scope) => granted.includes(scope))
}

/** RFC 6749 §4.1.2 and RFC 9207: the redirect back to the client, with `iss` on every one. */
export function authorizationResponseUrl(redirectUri: string, issuer: string, fields: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) url.searchParams.set(name, value)
  url.searchParams.set('iss', issuer)
  return url.toString()
}
