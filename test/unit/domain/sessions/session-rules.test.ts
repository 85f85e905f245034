import { describe, expect, it } from 'vitest'
import {
  bindingOutcome,
  expiresAt,
  extendedIdleExpiry,
  initialExpiry,
  isSessionLive,
  networkOf,
  sessionStartRefusal,
  sessionsToEvict,
  type BindingOutcome,
  type ClientFingerprint,
  type SessionBinding,
} from '../../../../src/domain/sessions/session-rules.js'

const NOW = new Date('2026-01-10T12:00:00.000Z')
const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000)
const DAY = 24 * 3600

describe('session lifetimes', () => {
  it('start with the idle expiry ahead of now and the absolute one further', () => {
    expect(initialExpiry(NOW, { idleSeconds: 7 * DAY, absoluteSeconds: 30 * DAY })).toEqual({
      idleExpiresAt: at(7 * DAY),
      absoluteExpiresAt: at(30 * DAY),
    })
  })

  it.each([
    ['pushed forward by the idle lifetime', at(0), at(7 * DAY)],
    ['capped at the absolute expiry', at(25 * DAY), at(30 * DAY)],
  ])('idle expiry is %s', (_name, now, expected) => {
    expect(extendedIdleExpiry(now, 7 * DAY, at(30 * DAY))).toEqual(expected)
  })

  it.each([
    ['live', { idleExpiresAt: at(1), absoluteExpiresAt: at(2), revokedAt: null }, true],
    ['idle-expired', { idleExpiresAt: NOW, absoluteExpiresAt: at(2), revokedAt: null }, false],
    ['absolutely expired', { idleExpiresAt: at(5), absoluteExpiresAt: at(-1), revokedAt: null }, false],
    ['revoked', { idleExpiresAt: at(1), absoluteExpiresAt: at(2), revokedAt: at(-5) }, false],
  ])('a %s session', (_name, session, live) => {
    expect(isSessionLive(session, NOW)).toBe(live)
  })

  it('expires at the earlier of its two expiries', () => {
    expect(expiresAt({ idleExpiresAt: at(5), absoluteExpiresAt: at(9) })).toEqual(at(5))
    expect(expiresAt({ idleExpiresAt: at(9), absoluteExpiresAt: at(5) })).toEqual(at(5))
  })
})

describe('sessionsToEvict', () => {
  const sessions = [3, 1, 4, 2].map((n) => ({ id: `s${n}`, createdAt: at(n) }))

  it.each([
    [10, []],
    [5, []],
    [4, ['s1']],
    [3, ['s1', 's2']],
    [1, ['s1', 's2', 's3', 's4']],
  ])('with a limit of %i, evicts %j (oldest first)', (max, expected) => {
    expect(sessionsToEvict(sessions, max).map((s) => s.id)).toEqual(expected)
  })
})

describe('networkOf', () => {
  it.each([
    ['192.0.2.1', '192.0.2.0/24'],
    ['192.0.2.254', '192.0.2.0/24'],
    ['::ffff:192.0.2.9', '192.0.2.0/24'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::192.0.2.1', '0:0:0:0::/64'],
    ['not an address', 'not an address'],
  ])('%s is in %s', (ip, network) => {
    expect(networkOf(ip)).toBe(network)
  })

  it('is null for no address', () => {
    expect(networkOf(null)).toBeNull()
  })
})

describe('session binding', () => {
  const seen: ClientFingerprint = { ip: '192.0.2.1', userAgent: 'Firefox/140' }
  const cases: [string, ClientFingerprint, ClientFingerprint, Record<SessionBinding, BindingOutcome>][] = [
    ['same client', seen, seen, { off: 'ok', flag: 'ok', strict: 'ok' }],
    ['another host of the same /24', seen, { ...seen, ip: '192.0.2.250' }, { off: 'ok', flag: 'ok', strict: 'ok' }],
    ['another network only', seen, { ...seen, ip: '198.51.100.7' }, { off: 'ok', flag: 'flag', strict: 'revoke' }],
    ['the user agent copied, from another network', seen, { ...seen, ip: '192.0.3.1' }, { off: 'ok', flag: 'flag', strict: 'revoke' }],
    ['another user agent only', seen, { ...seen, userAgent: 'Firefox/141' }, { off: 'ok', flag: 'flag', strict: 'revoke' }],
    ['another network and user agent', seen, { ip: '198.51.100.7', userAgent: 'curl/8' }, { off: 'ok', flag: 'flag', strict: 'revoke' }],
    ['the user agent gone', seen, { ...seen, userAgent: null }, { off: 'ok', flag: 'flag', strict: 'revoke' }],
    ['nothing seen before, nothing now', { ip: null, userAgent: null }, { ip: null, userAgent: null }, { off: 'ok', flag: 'ok', strict: 'ok' }],
  ]

  it.each(cases)('%s', (_name, lastSeen, current, expected) => {
    for (const mode of ['off', 'flag', 'strict'] as const) {
      expect(bindingOutcome(mode, lastSeen, current), mode).toBe(expected[mode])
    }
  })
})

describe('sessionStartRefusal', () => {
  const user = { disabledAt: null, credentialsVersion: 3 }
  it.each([
    ['the credentials the login verified', user, 3, null],
    ['a password changed since', user, 2, 'credentials_changed'],
    ['a disabled user', { ...user, disabledAt: NOW }, 3, 'user_disabled'],
    ['no such user', null, 0, 'unknown_user'],
  ] as const)('%s', (_name, row, verified, expected) => {
    expect(sessionStartRefusal(row, verified)).toBe(expected)
  })
})
