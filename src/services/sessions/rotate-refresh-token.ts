import type { Config } from '../../config.js'
import { bindingOutcome, extendedIdleExpiry } from '../../domain/sessions/session-rules.js'
import { decideReplay, decideRotation, hashRefreshToken, isWellFormedRefreshToken, successorOf } from '../../domain/tokens/refresh-token.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { TokenWithSession } from '../../repositories/refresh-tokens.js'
import type { Clock } from '../access-tokens.js'
import type { SecurityEventWriter } from '../security-events.js'
import { contextOf, recordRevoked, type ClientContext } from './revoke-sessions.js'
import { invalidGrant, type GrantIssuer, type TokenGrant } from './session-grant.js'

export type RotationConfig = Pick<Config, 'REFRESH_GRACE_SECONDS' | 'SESSION_IDLE_TTL_SECONDS' | 'REUSE_REVOKES' | 'SESSION_BINDING'>

type RefreshOutcome = { ok: true; row: TokenWithSession } | { ok: false }

/**
 * Exchanging a refresh token for a new access token and the family's next refresh token, with
 * reuse detection, the grace window and session binding. Throws invalid_grant on any failure,
 * including a detected reuse (whose revocation has committed by then). With `clientId`, the
 * session must belong to that client.
 */
export function createRotateRefreshToken(deps: {
  store: AccountStore
  events: SecurityEventWriter
  grant: GrantIssuer
  /** app.secret('refresh-token-rotation'): keys the derivation of successors. */
  rotationSecret: Buffer
  clock: Clock
  config: RotationConfig
}) {
  const { store, events, grant, clock, config } = deps

  /**
   * `dpopJkt`: the thumbprint of the key of the request's valid DPoP proof. A session bound to a
   * key rotates only with a proof from it; the new access token is bound to the proof's key.
   */
  return async function refresh(input: { refreshToken: string; clientId?: string | undefined; dpopJkt?: string | undefined } & ClientContext): Promise<TokenGrant> {
    if (!isWellFormedRefreshToken(input.refreshToken)) throw invalidGrant()
    const now = clock()
    const context = contextOf(input)
    const presentedHash = hashRefreshToken(input.refreshToken)
    const successor = successorOf(input.refreshToken, deps.rotationSecret)
    const successorHash = hashRefreshToken(successor)

    // The common case (a first rotation of a live token, from where the session was last seen)
    // needs no decision beyond what one statement can check; everything else is decided below.
    const rotated = await store.fastPaths.rotate({
      tokenHash: presentedHash,
      successorHash,
      clientId: input.clientId ?? null,
      now,
      idleExpiresAt: new Date(now.getTime() + config.SESSION_IDLE_TTL_SECONDS * 1000),
      ...context,
      dpopJkt: input.dpopJkt ?? null,
    })
    if (rotated) return grant(rotated, successor, input.dpopJkt)

    const outcome = await store.transaction(async (tx): Promise<RefreshOutcome> => {
      const row = await tx.refreshTokens.lockWithSession(presentedHash)
      const decision = decideRotation({ token: row, session: row, clientId: input.clientId, now, graceSeconds: config.REFRESH_GRACE_SECONDS })
      if (!row || decision.action === 'invalid') return { ok: false }
      const subject = { userId: row.userId, sessionId: row.sessionId }

      // RFC 9449 §5: a bound refresh token without a proof from its key is most likely stolen. It is
      // refused and recorded, and nothing else happens: the session stays its owner's.
      if (row.dpopJkt !== null && row.dpopJkt !== input.dpopJkt) {
        await events.record(tx, { type: 'dpop_key_mismatch', ...subject, ...context, details: { proof: input.dpopJkt ? 'another_key' : 'none' } })
        return { ok: false }
      }

      // A reuse ends the family (or, by config, every session of the user), in this transaction.
      const revokeForReuse = async (details: Record<string, unknown>): Promise<RefreshOutcome> => {
        const revoked =
          config.REUSE_REVOKES === 'user'
            ? await tx.sessions.revokeAllOfUser(row.userId, 'refresh_token_reused', now)
            : await tx.sessions.revoke([row.sessionId], 'refresh_token_reused', now)
        await recordRevoked(events, tx, revoked, 'refresh_token_reused', context)
        await events.record(tx, {
          type: 'refresh_token_reused',
          ...subject,
          ...context,
          details: { ...details, rotatedAt: row.rotatedAt?.toISOString(), graceSeconds: config.REFRESH_GRACE_SECONDS, revoked: config.REUSE_REVOKES },
        })
        return { ok: false }
      }

      if (decision.action === 'reuse_detected') return revokeForReuse({ kind: 'stale' })

      if (decision.action === 'replay_within_grace') {
        const next = await tx.refreshTokens.findByHash(successorHash)
        const replay = decideReplay({ lastSeen: row, current: context, successor: next?.sessionId === row.sessionId ? next : null })
        if (replay.action === 'invalid') return { ok: false }
        if (replay.action === 'reuse') return revokeForReuse({ kind: 'replay_within_grace', reason: replay.reason })
        await events.record(tx, {
          type: 'refresh_token_reused',
          ...subject,
          ...context,
          details: { kind: 'replay_within_grace', rotatedAt: row.rotatedAt?.toISOString(), graceSeconds: config.REFRESH_GRACE_SECONDS },
        })
      }

      // A replay served above comes from the client the session last saw: its binding is `ok`.
      const binding = bindingOutcome(config.SESSION_BINDING, row, context)
      if (binding !== 'ok') {
        await events.record(tx, { type: 'session_flagged', ...subject, ...context, details: { mode: config.SESSION_BINDING } })
      }
      if (binding === 'revoke') {
        await recordRevoked(events, tx, await tx.sessions.revoke([row.sessionId], 'binding_mismatch', now), 'binding_mismatch', context)
        return { ok: false }
      }

      if (decision.action === 'rotate') {
        if (!(await tx.refreshTokens.markRotated(row.tokenId, now))) return { ok: false }
        await tx.refreshTokens.insert({ sessionId: row.sessionId, tokenHash: successorHash, now })
      }
      await tx.sessions.touch(row.sessionId, {
        now,
        idleExpiresAt: extendedIdleExpiry(now, config.SESSION_IDLE_TTL_SECONDS, row.absoluteExpiresAt),
        ...context,
        flag: binding === 'flag',
      })
      return { ok: true, row }
    })

    if (!outcome.ok) throw invalidGrant()
    return grant(outcome.row, successor, input.dpopJkt)
  }
}
