/** Pure session rules: lifetimes, liveness, eviction and binding. Time is always an argument. */

export interface SessionLifetimes {
  idleSeconds: number
  absoluteSeconds: number
}

export interface SessionExpiry {
  idleExpiresAt: Date
  absoluteExpiresAt: Date
}

export function initialExpiry(now: Date, lifetimes: SessionLifetimes): SessionExpiry {
  const absoluteExpiresAt = new Date(now.getTime() + lifetimes.absoluteSeconds * 1000)
  return { idleExpiresAt: extendedIdleExpiry(now, lifetimes.idleSeconds, absoluteExpiresAt), absoluteExpiresAt }
}

/** Every use pushes the idle expiry forward, never past the absolute one. */
export function extendedIdleExpiry(now: Date, idleSeconds: number, absoluteExpiresAt: Date): Date {
  return new Date(Math.min(now.getTime() + idleSeconds * 1000, absoluteExpiresAt.getTime()))
}

/** When the session ends if nothing happens: the earlier of its two expiries. */
export function expiresAt(session: SessionExpiry): Date {
  return new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime()))
}

export function isSessionLive(session: SessionExpiry & { revokedAt: Date | null }, now: Date): boolean {
  return session.revokedAt === null && now.getTime() < expiresAt(session).getTime()
}

/**
 * The sessions a new login must evict so that, with it, at most `max` stay live: the oldest first.
 * `live` may come in any order.
 */
export function sessionsToEvict<T extends { createdAt: Date }>(live: readonly T[], max: number): T[] {
  const excess = live.length + 1 - max
  if (excess <= 0) return []
  return [...live].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).slice(0, excess)
}

export const SESSION_BINDING_MODES = ['off', 'flag', 'strict'] as const
export type SessionBinding = (typeof SESSION_BINDING_MODES)[number]

export interface ClientFingerprint {
  ip: string | null
  userAgent: string | null
}

/**
 * A refresh looks foreign when both its IP and its user agent differ from what the session last
 * saw. Either one alone changes too often in honest use (mobile networks, browser updates).
 */
export function isForeignClient(lastSeen: ClientFingerprint, current: ClientFingerprint): boolean {
  if (lastSeen.ip === null && lastSeen.userAgent === null) return false
  return (lastSeen.ip ?? '') !== (current.ip ?? '') && (lastSeen.userAgent ?? '') !== (current.userAgent ?? '')
}

export type BindingOutcome = 'ok' | 'flag' | 'revoke'

export function bindingOutcome(mode: SessionBinding, lastSeen: ClientFingerprint, current: ClientFingerprint): BindingOutcome {
  if (mode === 'off' || !isForeignClient(lastSeen, current)) return 'ok'
  return mode === 'strict' ? 'revoke' : 'flag'
}
