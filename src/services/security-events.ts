import { Counter, type Registry } from 'prom-client'
import type { AccountStore, AccountTransaction } from '../repositories/account-store.js'
import type { StagedEvent } from '../repositories/fast-paths.js'
import type { SecurityEventInput } from '../repositories/security-events.js'

export const SECURITY_EVENT_TYPES = [
  'login_succeeded',
  'login_failed',
  'refresh_token_reused',
  // A DPoP-bound refresh token presented without a proof from its key (a likely theft); refused.
  'dpop_key_mismatch',
  'session_revoked',
  'session_flagged',
  'password_changed',
  'password_change_failed',
  // Operator actions (the admin API and CLI); their details name the actor.
  'users_searched',
  'user_viewed',
  'user_disabled',
  'user_enabled',
  'user_erased',
] as const

export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number]

export interface SecurityEvent {
  type: SecurityEventType
  userId: string | null
  sessionId?: string | null | undefined
  ip?: string | null | undefined
  userAgent?: string | null | undefined
  details?: Record<string, unknown> | undefined
}

/** Where a request came from, as sessions and events record it. */
export interface RequestContext {
  ip: string | null
  userAgent: string | null
}

export const EVENTS_LIST_LIMIT = 100

/**
 * The one writer of security events: it shapes every row and counts every event in
 * tollgate_security_events_total once what wrote it has committed. Events are written inside the
 * caller's transaction (`record`), or by a one-statement fast path that inserts the row it was
 * handed (`stage`), so an event exists exactly when what it reports happened.
 */
export function createSecurityEvents(deps: { store: AccountStore; registry: Registry; clock: () => Date }) {
  const counter = new Counter({
    name: 'tollgate_security_events_total',
    help: 'Security events recorded, by type',
    labelNames: ['type'] as const,
    registers: [deps.registry],
  })

  function stage(event: SecurityEvent & { at?: Date | undefined }): StagedEvent & { row: SecurityEventInput } {
    return {
      row: {
        type: event.type,
        at: event.at ?? deps.clock(),
        userId: event.userId,
        sessionId: event.sessionId ?? null,
        ip: event.ip ?? null,
        userAgent: event.userAgent ?? null,
        details: event.details,
      },
      committed: () => counter.inc({ type: event.type }),
    }
  }

  return {
    stage,

    async record(tx: AccountTransaction, event: SecurityEvent & { at?: Date | undefined }): Promise<void> {
      const staged = stage(event)
      await tx.securityEvents.insert(staged.row)
      tx.afterCommit(staged.committed)
    },

    async listForUser(userId: string) {
      const events = await deps.store.securityEvents.listForUser(userId, EVENTS_LIST_LIMIT)
      return events.map((event) => ({
        type: event.type,
        at: event.at.toISOString(),
        ip: event.ip,
        userAgent: event.userAgent,
        sessionId: event.sessionId,
      }))
    },
  }
}

export type SecurityEvents = ReturnType<typeof createSecurityEvents>
/** What the session and account services need of the event log: tests substitute a failing one. */
export type SecurityEventWriter = Pick<SecurityEvents, 'record' | 'stage'>
