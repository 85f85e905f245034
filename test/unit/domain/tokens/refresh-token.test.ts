import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  decideReplay,
  decideRotation,
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
  successorOf,
  type ReplayDecision,
  type RotationDecision,
  type RotationSessionState,
} from '../../../../src/domain/tokens/refresh-token.js'

const NOW = new Date('2026-01-10T12:00:00.000Z')
const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000)

describe('refresh tokens', () => {
  it('are 43 base64url characters (256 bits) and never repeat', () => {
    const tokens = Array.from({ length: 1000 }, generateRefreshToken)
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(new Set(tokens).size).toBe(tokens.length)
  })

  it('are stored as a SHA-256 base64url hash that differs from the token', () => {
    const token = generateRefreshToken()
    expect(hashRefreshToken(token)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(hashRefreshToken(token)).toBe(hashRefreshToken(token))
    expect(hashRefreshToken(token)).not.toBe(token)
  })

  it.each([
    ['a generated token', generateRefreshToken(), true],
    ['empty', '', false],
    ['too short', 'a'.repeat(42), false],
    ['too long', 'a'.repeat(44), false],
    ['padding', `${'a'.repeat(42)}=`, false],
    ['standard base64 characters', `${'a'.repeat(42)}+`, false],
    ['a JWT', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', false],
  ])('well-formedness: %s', (_name, token, expected) => {
    expect(isWellFormedRefreshToken(token)).toBe(expected)
  })

  it('have one deterministic successor per secret, itself a well-formed token', () => {
    const secret = randomBytes(32)
    const token = generateRefreshToken()
    const successor = successorOf(token, secret)
    expect(successorOf(token, secret)).toBe(successor)
    expect(isWellFormedRefreshToken(successor)).toBe(true)
    expect(successor).not.toBe(token)
    expect(successorOf(token, randomBytes(32))).not.toBe(successor)
    expect(successorOf(generateRefreshToken(), secret)).not.toBe(successor)
  })
})

describe('decideRotation', () => {
  const live: RotationSessionState = { clientId: 'web', revokedAt: null, idleExpiresAt: at(3600), absoluteExpiresAt: at(7200) }
  const grace = 10

  const cases: [string, Parameters<typeof decideRotation>[0], RotationDecision][] = [
    ['unknown token', { token: null, session: null, now: NOW, graceSeconds: grace }, { action: 'invalid', reason: 'unknown' }],
    ['fresh token', { token: { rotatedAt: null }, session: live, now: NOW, graceSeconds: grace }, { action: 'rotate' }],
    ['fresh token, right client', { token: { rotatedAt: null }, session: live, clientId: 'web', now: NOW, graceSeconds: grace }, { action: 'rotate' }],
    [
      'another client',
      { token: { rotatedAt: null }, session: live, clientId: 'other', now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'client_mismatch' },
    ],
    ['replay at once', { token: { rotatedAt: NOW }, session: live, now: NOW, graceSeconds: grace }, { action: 'replay_within_grace' }],
    ['replay 9.999 s later', { token: { rotatedAt: at(-9.999) }, session: live, now: NOW, graceSeconds: grace }, { action: 'replay_within_grace' }],
    ['reuse exactly at the window end', { token: { rotatedAt: at(-10) }, session: live, now: NOW, graceSeconds: grace }, { action: 'reuse_detected' }],
    ['reuse an hour later', { token: { rotatedAt: at(-3600) }, session: live, now: NOW, graceSeconds: grace }, { action: 'reuse_detected' }],
    ['no window: any replay is a reuse', { token: { rotatedAt: NOW }, session: live, now: NOW, graceSeconds: 0 }, { action: 'reuse_detected' }],
    [
      'rotation stamped ahead of this clock (skew) counts as inside the window',
      { token: { rotatedAt: at(2) }, session: live, now: NOW, graceSeconds: grace },
      { action: 'replay_within_grace' },
    ],
    [
      'revoked session',
      { token: { rotatedAt: null }, session: { ...live, revokedAt: at(-1) }, now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'revoked' },
    ],
    [
      'revoked session, stale token: nothing left to revoke',
      { token: { rotatedAt: at(-3600) }, session: { ...live, revokedAt: at(-1) }, now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'revoked' },
    ],
    [
      'idle expiry reached',
      { token: { rotatedAt: null }, session: { ...live, idleExpiresAt: NOW }, now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'expired' },
    ],
    [
      'absolute expiry reached',
      { token: { rotatedAt: null }, session: { ...live, absoluteExpiresAt: at(-1) }, now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'expired' },
    ],
    [
      'the client check comes before reuse detection',
      { token: { rotatedAt: at(-3600) }, session: live, clientId: 'other', now: NOW, graceSeconds: grace },
      { action: 'invalid', reason: 'client_mismatch' },
    ],
  ]

  it.each(cases)('%s', (_name, input, expected) => {
    expect(decideRotation(input)).toEqual(expected)
  })
})

describe('decideReplay', () => {
  const rotator = { ip: '192.0.2.1', userAgent: 'Firefox/140' }
  const unspent = { rotatedAt: null }
  const cases: [string, Parameters<typeof decideReplay>[0], ReplayDecision][] = [
    ['the client that rotated', { lastSeen: rotator, current: rotator, successor: unspent }, { action: 'serve' }],
    ['another host of its /24', { lastSeen: rotator, current: { ...rotator, ip: '192.0.2.77' }, successor: unspent }, { action: 'serve' }],
    ['another network', { lastSeen: rotator, current: { ...rotator, ip: '198.51.100.1' }, successor: unspent }, { action: 'reuse', reason: 'other_client' }],
    ['another user agent', { lastSeen: rotator, current: { ...rotator, userAgent: 'curl/8' }, successor: unspent }, { action: 'reuse', reason: 'other_client' }],
    ['a successor rotated in turn', { lastSeen: rotator, current: rotator, successor: { rotatedAt: NOW } }, { action: 'reuse', reason: 'successor_rotated' }],
    ['no successor to be found', { lastSeen: rotator, current: rotator, successor: null }, { action: 'invalid', reason: 'unknown_successor' }],
  ]
  it.each(cases)('%s', (_name, input, expected) => {
    expect(decideReplay(input)).toEqual(expected)
  })
})
