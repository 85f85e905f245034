import { randomUUID } from 'node:crypto'
import type { AccessTokenClaims as SharedClaims } from '@tollgate/verifier'

// The token's typ and claims are the verifier's (packages/verifier/src/claims.ts): one definition for both sides.
export { ACCESS_TOKEN_TYPE } from '@tollgate/verifier'

/** The claims of a tollgate access token: the verifier's, as tollgate issues them (one audience, cnf only with jkt). */
export type AccessTokenClaims = Omit<SharedClaims, 'aud' | 'cnf'> & { aud: string; cnf?: { jkt: string } }

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
