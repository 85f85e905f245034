import { isIPv4, isIPv6 } from 'node:net'

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

export type SessionStartRefusal = 'unknown_user' | 'user_disabled' | 'credentials_changed'

/**
 * Whether a sign-in may still become a session, decided on the user's row locked at that moment:
 * the user must exist, not be disabled, and still have the credentials the sign-in verified (a
 * password change in between bumps `credentialsVersion`, so a login that checked the old password
 * cannot start a session after the change). Null when it may.
 */
export function sessionStartRefusal(
  user: { disabledAt: Date | null; credentialsVersion: number } | null,
  verifiedCredentialsVersion: number,
): SessionStartRefusal | null {
  if (!user) return 'unknown_user'
  if (user.disabledAt !== null) return 'user_disabled'
  if (user.credentialsVersion !== verifiedCredentialsVersion) return 'credentials_changed'
  return null
}

export const SESSION_BINDING_MODES = ['off', 'flag', 'strict'] as const
export type SessionBinding = (typeof SESSION_BINDING_MODES)[number]

export interface ClientFingerprint {
  ip: string | null
  userAgent: string | null
}

/**
 * The network an address is bound to: its /24 for IPv4 (an IPv4-mapped IPv6 address counts as
 * IPv4), its /64 for IPv6. A client keeps its network across a DHCP renewal or an IPv6 privacy
 * address; a thief elsewhere does not share it.
 */
export function networkOf(ip: string | null): string | null {
  if (ip === null) return null
  const v4 = /^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/i.exec(ip)
  if (v4 && isIPv4(ip.replace(/^::ffff:/i, ''))) return `${v4[1]}.0/24`
  if (!isIPv6(ip)) return ip
  return `${ipv6Groups(ip).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, zeros filled in for `::`, without leading zeros. */
function ipv6Groups(ip: string): string[] {
  const address = ip.split('%')[0]!
  const groups = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group]
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number]
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
        })
  const [head = '', tail] = address.split('::')
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16))
}

/** The same client as far as a server can tell: the same user agent from the same network. */
export function isSameClient(lastSeen: ClientFingerprint, current: ClientFingerprint): boolean {
  return lastSeen.userAgent === current.userAgent && networkOf(lastSeen.ip) === networkOf(current.ip)
}

export type BindingOutcome = 'ok' | 'flag' | 'revoke'

/**
 * A refresh from another network *or* another user agent than the session last saw. Either one
 * alone is enough: a thief who copies the victim's User-Agent header still comes from elsewhere,
 * and one on the victim's network still runs another program.
 */
export function bindingOutcome(mode: SessionBinding, lastSeen: ClientFingerprint, current: ClientFingerprint): BindingOutcome {
  if (mode === 'off' || isSameClient(lastSeen, current)) return 'ok'
  return mode === 'strict' ? 'revoke' : 'flag'
}
