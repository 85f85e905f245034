import type { Config } from '../../config.js'
import { expiresAt } from '../../domain/sessions/session-rules.js'
import { decideRotation, hashRefreshToken, isWellFormedRefreshToken } from '../../domain/tokens/refresh-token.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { Clock } from '../access-tokens.js'

export interface RefreshTokenIntrospection {
  iss: string
  sub: string
  client_id: string
  scope: string
  exp: number
  iat: number
  sid: string
}

/** RFC 7662 fields for a refresh token that would be accepted now; null otherwise. No side effects. */
export function createIntrospectRefreshToken(deps: { store: AccountStore; clock: Clock; config: Pick<Config, 'ISSUER' | 'REFRESH_GRACE_SECONDS'> }) {
  const { store, clock, config } = deps
  return async function introspectRefreshToken(refreshToken: string): Promise<RefreshTokenIntrospection | null> {
    if (!isWellFormedRefreshToken(refreshToken)) return null
    const row = await store.refreshTokens.findWithSession(hashRefreshToken(refreshToken))
    const decision = decideRotation({ token: row, session: row, now: clock(), graceSeconds: config.REFRESH_GRACE_SECONDS })
    if (!row || (decision.action !== 'rotate' && decision.action !== 'replay_within_grace')) return null
    return {
      iss: config.ISSUER,
      sub: row.userId,
      client_id: row.clientId,
      scope: row.scope,
      exp: Math.floor(expiresAt(row).getTime() / 1000),
      iat: Math.floor(row.tokenCreatedAt.getTime() / 1000),
      sid: row.sessionId,
    }
  }
}
