import type { Static } from 'typebox'
import { normalizeEmail } from '../domain/accounts/email.js'
import { decodeUserCursor, encodeUserCursor, type Actor } from '../domain/admin/admin.js'
import { expiresAt } from '../domain/sessions/session-rules.js'
import { ProblemError } from '../errors.js'
import type { AccountStore, AccountTransaction } from '../repositories/account-store.js'
import type { SecurityEventRecord } from '../repositories/security-events.js'
import type { SessionRecord } from '../repositories/sessions.js'
import type { UserRecord } from '../repositories/users.js'
import type { AdminSecurityEventSchema, AdminSessionSchema, AdminUserSchema, UserDetailsSchema, UserPageSchema } from '../routes/admin/schemas.js'
import type { Clock } from './access-tokens.js'
import type { RevocationService } from './revocations.js'
import { EVENTS_LIST_LIMIT, type SecurityEventType, type SecurityEventWriter } from './security-events.js'
import type { SessionService } from './sessions/index.js'

export type AdminUser = Static<typeof AdminUserSchema>
export type AdminSession = Static<typeof AdminSessionSchema>
export type AdminSecurityEvent = Static<typeof AdminSecurityEventSchema>
export type UserPage = Static<typeof UserPageSchema>
export type UserDetails = Static<typeof UserDetailsSchema>

export interface FindUsersInput {
  email?: string | undefined
  id?: string | undefined
  cursor?: string | undefined
  limit: number
}

// Operator actions are not requests of the user's: the user's own event list must not show the
// operator's address, so it goes in the details with the actor, and the event's ip stays empty.
const NO_CONTEXT = { ip: null, userAgent: null } as const

function auditDetails(actor: Actor, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...extra, actor }
}

function adminUser(user: UserRecord): AdminUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    createdAt: user.createdAt.toISOString(),
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt?.toISOString() ?? null,
  }
}

function adminSession(session: SessionRecord): AdminSession {
  return {
    id: session.id,
    clientId: session.clientId,
    kind: session.kind === 'sign_in' ? 'sign_in' : 'tokens',
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: expiresAt(session).toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
    flagged: session.flaggedAt !== null,
    bound: session.dpopJkt !== null,
  }
}

function stringOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function adminEvent(event: SecurityEventRecord): AdminSecurityEvent {
  const details = (typeof event.details === 'object' && event.details !== null ? event.details : {}) as Record<string, unknown>
  const actor = details.actor as { kind?: unknown; id?: unknown } | undefined
  return {
    type: event.type as SecurityEventType,
    at: event.at.toISOString(),
    ip: event.ip,
    userAgent: event.userAgent,
    sessionId: event.sessionId,
    reason: stringOf(details.reason),
    actor: (actor?.kind === 'client' || actor?.kind === 'cli') && typeof actor.id === 'string' ? { kind: actor.kind, id: actor.id } : null,
  }
}

function notFound(): ProblemError {
  return new ProblemError('not_found', 'No such user')
}

/**
 * What operators do to accounts, through the admin API and the `tollgate users` and `tollgate
 * sessions` commands alike: find and read users, revoke sessions, disable and enable. Each action
 * is recorded as a security event naming its actor, in the transaction of what it changed.
 */
export function createAdminService(deps: {
  store: AccountStore
  sessions: Pick<SessionService, 'revokeSession' | 'revokeOthers' | 'revokeOthersIn'>
  events: SecurityEventWriter
  /** Told after sessions were revoked, so that this instance refuses their access tokens at once. */
  revocations: Pick<RevocationService, 'sessionsRevoked'>
  clock: Clock
}) {
  const { store, sessions, events, revocations, clock } = deps

  async function audit(type: SecurityEventType, userId: string | null, actor: Actor, extra?: Record<string, unknown>, tx?: AccountTransaction) {
    const write = (t: AccountTransaction) => events.record(t, { type, userId, ...NO_CONTEXT, details: auditDetails(actor, extra) })
    await (tx ? write(tx) : store.transaction(write))
  }

  /** Locks the user's row for the transaction (logins of the user wait), or answers 404. */
  async function lockedUser(tx: AccountTransaction, userId: string): Promise<UserRecord> {
    if (!(await tx.users.lock(userId))) throw notFound()
    return (await tx.users.findById(userId))!
  }

  return {
    /** Users by email (contains, case-insensitive) or id, in creation order, a page at a time. */
    async findUsers(input: FindUsersInput, actor: Actor): Promise<UserPage> {
      const after = input.cursor === undefined ? undefined : decodeUserCursor(input.cursor)
      if (input.cursor !== undefined && !after) throw new ProblemError('validation_failed', 'cursor is not one this service handed out')
      const emailContains = input.email === undefined ? undefined : normalizeEmail(input.email)
      // One more than asked: whether there is a next page without a second query.
      const rows = await store.users.findPage({ emailContains, id: input.id, after, limit: input.limit + 1 })
      const page = rows.slice(0, input.limit)
      const last = page.at(-1)
      await audit('users_searched', null, actor, { filter: input.id !== undefined ? 'id' : input.email !== undefined ? 'email' : 'none', found: page.length })
      return {
        users: page.map(adminUser),
        nextCursor: rows.length > input.limit && last ? encodeUserCursor({ createdAt: last.createdAt, id: last.id }) : null,
      }
    },

    /** A user with their live sessions and latest security events (this reading among them). */
    async showUser(userId: string, actor: Actor): Promise<UserDetails> {
      const user = await store.users.findById(userId)
      if (!user) throw notFound()
      await audit('user_viewed', user.id, actor)
      const [live, recent] = await Promise.all([
        store.sessions.listLive(user.id, clock()),
        store.securityEvents.listForUser(user.id, EVENTS_LIST_LIMIT),
      ])
      return { user: adminUser(user), sessions: live.map(adminSession), events: recent.map(adminEvent) }
    },

    /**
     * Revokes one session, as the user's own logout would (refused at tollgate's routes at once,
     * listed in the revocations feed). 404 for an unknown id; a session already ended stays so.
     */
    async revokeSession(sessionId: string, actor: Actor): Promise<void> {
      const session = await store.sessions.findById(sessionId)
      if (!session) throw new ProblemError('not_found', 'No such session')
      if (await sessions.revokeSession(session.id, 'revoked_by_admin', NO_CONTEXT, auditDetails(actor))) await revocations.sessionsRevoked()
    },

    /** Signs the user out everywhere: every live session revoked. Returns how many. */
    async revokeUserSessions(userId: string, actor: Actor): Promise<number> {
      if (!(await store.users.findById(userId))) throw notFound()
      const revoked = await sessions.revokeOthers(userId, undefined, 'revoked_by_admin', NO_CONTEXT, auditDetails(actor))
      if (revoked > 0) await revocations.sessionsRevoked()
      return revoked
    },

    /**
     * Disables the user and revokes every session of theirs, in one transaction under the user's
     * row lock, so no login can slip a new session in between. Disabling a disabled user changes
     * nothing.
     */
    async disableUser(userId: string, actor: Actor, reason?: string): Promise<AdminUser> {
      const { user, revoked } = await store.transaction(async (tx) => {
        const current = await lockedUser(tx, userId)
        if (current.disabledAt !== null) return { user: current, revoked: 0 }
        const now = clock()
        await tx.users.setDisabledAt(current.id, now, now)
        await audit('user_disabled', current.id, actor, reason === undefined ? {} : { reason }, tx)
        const count = await sessions.revokeOthersIn(tx, current.id, undefined, 'user_disabled', NO_CONTEXT, auditDetails(actor))
        return { user: { ...current, disabledAt: now }, revoked: count }
      })
      if (revoked > 0) await revocations.sessionsRevoked()
      return adminUser(user)
    },

    /**
     * Erases the user in one transaction: account, sessions, refresh tokens, cart, events, all of
     * it. What stays: the ids of their sessions (erased_sessions, for the revocations feed, until
     * their access tokens have expired) and one `user_erased` event naming the erased id and the
     * actor, unattached to any account so that it outlives it.
     */
    async eraseUser(userId: string, actor: Actor): Promise<void> {
      await store.transaction(async (tx) => {
        await lockedUser(tx, userId)
        const erased = await tx.users.erase(userId, clock())
        if (!erased) throw notFound()
        await audit('user_erased', null, actor, { erasedUserId: userId, sessions: erased.sessions }, tx)
      })
      await revocations.sessionsRevoked()
    },

    /** Lets a disabled user log in again (their revoked sessions stay revoked). */
    async enableUser(userId: string, actor: Actor): Promise<AdminUser> {
      return store.transaction(async (tx) => {
        const current = await lockedUser(tx, userId)
        if (current.disabledAt === null) return adminUser(current)
        await tx.users.setDisabledAt(current.id, null, clock())
        await audit('user_enabled', current.id, actor, {}, tx)
        return adminUser({ ...current, disabledAt: null })
      })
    },
  }
}

export type AdminService = ReturnType<typeof createAdminService>
