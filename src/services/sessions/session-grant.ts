import { parseScope } from '../../domain/tokens/access-token.js'
import { ProblemError } from '../../errors.js'
import type { AccessTokenIssuer } from '../access-tokens.js'

/** What a login or a refresh hands out. */
export interface TokenGrant {
  accessToken: string
  expiresIn: number
  refreshToken: string
  scope: string
  sessionId: string
  /** The session's absolute expiry: no refresh token of it is worth keeping past this. */
  sessionExpiresAt: Date
  /** RFC 9449: `DPoP` when the access token is bound to the key of the request's proof. */
  tokenType: 'Bearer' | 'DPoP'
}

/** The session fields an access token of it needs. */
export interface GrantedSession {
  sessionId: string
  userId: string
  clientId: string
  scope: string
  /** The `aud` of the session's access tokens when not the default (a client's audience). */
  audience: string | null
  absoluteExpiresAt: Date
}

/** Any refresh token that is not a live one, whatever the reason: the reason is never told. */
export function invalidGrant(): ProblemError {
  return new ProblemError('invalid_grant', 'The refresh token is invalid, expired or revoked')
}

/** Pairs a session's refresh token with a new access token of that session. */
export function createGrantIssuer(accessTokens: Pick<AccessTokenIssuer, 'issue'>) {
  return async function grant(session: GrantedSession, refreshToken: string, jkt?: string): Promise<TokenGrant> {
    const issued = await accessTokens.issue({
      jkt,
      subject: session.userId,
      clientId: session.clientId,
      scopes: parseScope(session.scope),
      sessionId: session.sessionId,
      ...(session.audience ? { audience: session.audience } : {}),
    })
    return {
      accessToken: issued.token,
      expiresIn: issued.expiresIn,
      refreshToken,
      scope: issued.claims.scope,
      sessionId: session.sessionId,
      sessionExpiresAt: session.absoluteExpiresAt,
      tokenType: jkt ? 'DPoP' : 'Bearer',
    }
  }
}

export type GrantIssuer = ReturnType<typeof createGrantIssuer>
