import type { Config } from '../../config.js'
import { bindingOutcome, extendedIdleExpiry, isSessionLive } from '../../domain/sessions/session-rules.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { SessionRecord } from '../../repositories/sessions.js'
import type { Clock } from '../access-tokens.js'
import type { SecurityEventWriter } from '../security-events.js'
import { contextOf, recordRevoked, type ClientContext } from './revoke-sessions.js'

/**
 * A browser coming back with its sign-in cookie: the sign-in session if it is live, used like a
 * refresh uses a session (the idle expiry moves forward, binding is checked: `flag` marks it,
 * `strict` revokes it and the browser signs in again). Null when there is no such live sign-in.
 */
export function createUseSignIn(deps: {
  store: AccountStore
  events: SecurityEventWriter
  clock: Clock
  config: Pick<Config, 'SESSION_IDLE_TTL_SECONDS' | 'SESSION_BINDING'>
}) {
  const { store, events, clock, config } = deps
  return async function useSignIn(input: { sessionId: string } & ClientContext): Promise<SessionRecord | null> {
    const now = clock()
    const context = contextOf(input)
    const found = await store.sessions.findById(input.sessionId)
    if (!found || found.kind !== 'sign_in' || !isSessionLive(found, now)) return null
    return store.transaction(async (tx) => {
      const binding = bindingOutcome(config.SESSION_BINDING, found, context)
      const subject = { userId: found.userId, sessionId: found.id }
      if (binding !== 'ok') await events.record(tx, { type: 'session_flagged', ...subject, ...context, details: { mode: config.SESSION_BINDING } })
      if (binding === 'revoke') {
        await recordRevoked(events, tx, await tx.sessions.revokeSignIn(found.id, 'binding_mismatch', now), 'binding_mismatch', context)
        return null
      }
      const idleExpiresAt = extendedIdleExpiry(now, config.SESSION_IDLE_TTL_SECONDS, found.absoluteExpiresAt)
      await tx.sessions.touch(found.id, { now, idleExpiresAt, ...context, flag: binding === 'flag' })
      return { ...found, lastUsedAt: now, idleExpiresAt, ...context }
    })
  }
}
