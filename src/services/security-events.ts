import { Counter, type Registry } from 'prom-client'
import type { AccountStore, AccountTransaction } from '../repositories/account-store.js'

export const SECURITY_EVENT_TYPES = [
  'login_succeeded',
  'login_failed',
  'refresh_token_reused',
  'session_revoked',
  'session_flagged',
  'password_changed',
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
 * Writes security events inside the caller's transaction, so an event exists exactly when what
 * it reports happened, and counts them in tollgate_security_events_total once that commits.
 */
export function createSecurityEvents(deps: { store: AccountStore; registry: Registry; clock: () => Date }) {
  const counter = new Counter({
    name: 'tollgate_security_events_total',
    help: 'Security events recorded, by type',
    labelNames: ['type'] as const,
    registers: [deps.registry],
  })
  return {
    async record(tx: AccountTransaction, event: SecurityEvent): Promise<void> {
      await tx.securityEvents.insert({
        type: event.type,
        at: deps.clock(),
        userId: event.userId,
        sessionId: event.sessionId ?? null,
        ip: event.ip ?? null,
        userAgent: event.userAgent ?? null,
        details: event.details,
      })
      tx.afterCommit(() => counter.inc({ type: event.type }))
    },

    /** Counts an event that a one-statement write recorded itself, once that statement has committed. */
    count(type: SecurityEventType): void {
      counter.inc({ type })
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
export type SecurityEventWriter = Pick<SecurityEvents, 'record' | 'count'>
