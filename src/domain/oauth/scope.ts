import { OAuthError } from '../../errors.js'

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value)
}

/**
 * The scopes a client_credentials request gets: the requested ones when every one of them is
 * allowed, all of the client's scopes when none is requested (RFC 6749 §3.3 lets the server
 * pick a documented default).
 */
export function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined || requested.trim() === '') return [...allowed]
  const scopes = [...new Set(requested.split(' ').filter(Boolean))]
  if (!scopes.every(isScopeToken)) throw new OAuthError('invalid_scope', 'The scope parameter is malformed')
  const refused = scopes.filter((scope) => !allowed.includes(scope))
  if (refused.length > 0) throw new OAuthError('invalid_scope', `This client may not request: ${refused.join(' ')}`)
  return scopes
}
