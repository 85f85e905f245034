import { randomUUID } from 'node:crypto'

export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** The claims of a tollgate access token (RFC 9068 profile). */
export interface AccessTokenClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  iat: number
  jti: string
  client_id: string
  scope: string
  /** The session (refresh-token family) of a user token; absent for client_credentials tokens. */
  sid?: string
  /** RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to. */
  cnf?: { jkt: string }
}

export interface AccessTokenRequest {
  subject: string
  clientId: string
  scopes: readonly string[]
  sessionId?: string
  audience?: string
  /** Bind the token to this DPoP key (its RFC 7638 thumbprint). */
  jkt?: string | undefined
}

export function buildAccessTokenClaims(
  request: AccessTokenRequest,
  context: { issuer: string; audience: string; ttlSeconds: number; now: Date; jti?: string },
): AccessTokenClaims {
  const iat = Math.floor(context.now.getTime() / 1000)
  const claims: AccessTokenClaims = {
    iss: context.issuer,
    sub: request.subject,
    aud: request.audience ?? context.audience,
    exp: iat + context.ttlSeconds,
    iat,
    jti: context.jti ?? randomUUID(),
    client_id: request.clientId,
    scope: formatScope(request.scopes),
  }
  if (request.sessionId) claims.sid = request.sessionId
  if (request.jkt) claims.cnf = { jkt: request.jkt }
  return claims
}

export function formatScope(scopes: readonly string[]): string {
  return [...new Set(scopes)].join(' ')
}

export function parseScope(scope: string | undefined): string[] {
  return scope ? scope.split(' ').filter(Boolean) : []
}
