import { createHash, createHmac, randomBytes } from 'node:crypto'
import { isSameClient, isSessionLive, type ClientFingerprint } from '../sessions/session-rules.js'

/** 32 random bytes, base64url: 43 characters, 256 bits of entropy. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

/** What the database stores instead of the token: SHA-256, base64url. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export function isWellFormedRefreshToken(token: string): boolean {
  return REFRESH_TOKEN_PATTERN.test(token)
}

/**
 * The one successor a token can ever have. Deriving it (instead of drawing it at random) makes
 * rotation idempotent without storing any plaintext: a replay inside the grace window recomputes
 * the token the first rotation handed out, so concurrent refreshes agree and no sibling appears.
 */
export function successorOf(token: string, rotationSecret: Buffer): string {
  return createHmac('sha256', rotationSecret).update(token).digest('base64url')
}

export interface RotationTokenState {
  rotatedAt: Date | null
}

export interface RotationSessionState {
  clientId: string
  revokedAt: Date | null
  idleExpiresAt: Date
  absoluteExpiresAt: Date
}

export type InvalidReason = 'unknown' | 'client_mismatch' | 'revoked' | 'expired'

export type RotationDecision =
  | { action: 'rotate' }
  | { action: 'replay_within_grace' }
  | { action: 'reuse_detected' }
  | { action: 'invalid'; reason: InvalidReason }

/**
 * What to do with a presented refresh token, given the state of its row and of its session.
 * A rotated token is a replay while less than `graceSeconds` have passed since its rotation
 * (0 turns the window off), and a reuse after that.
 */
export function decideRotation(input: {
  token: RotationTokenState | null
  session: RotationSessionState | null
  clientId?: string | undefined
  now: Date
  graceSeconds: number
}): RotationDecision {
  const { token, session, now } = input
  if (!token || !session) return { action: 'invalid', reason: 'unknown' }
  if (input.clientId !== undefined && input.clientId !== session.clientId) return { action: 'invalid', reason: 'client_mismatch' }
  if (session.revokedAt) return { action: 'invalid', reason: 'revoked' }
  if (!isSessionLive(session, now)) return { action: 'invalid', reason: 'expired' }
  if (!token.rotatedAt) return { action: 'rotate' }
  const elapsed = now.getTime() - token.rotatedAt.getTime()
  return elapsed < input.graceSeconds * 1000 ? { action: 'replay_within_grace' } : { action: 'reuse_detected' }
}

export type ReplayDecision =
  | { action: 'serve' }
  | { action: 'reuse'; reason: 'other_client' | 'successor_rotated' }
  | { action: 'invalid'; reason: 'unknown_successor' }

/**
 * A replay inside the grace window (decideRotation's `replay_within_grace`). The window is there
 * for the client that rotated (several tabs, a retry whose reply was lost), not for whoever holds
 * a copy: it serves the presented token's own successor, while that is unspent, to the client the
 * session last saw (the one that rotated). Another client, or a token whose successor has been
 * rotated in turn (a newer generation exists), is reuse. A successor that cannot be found (the
 * rotation secret changed) is refused without revoking anything.
 */
export function decideReplay(input: { lastSeen: ClientFingerprint; current: ClientFingerprint; successor: RotationTokenState | null }): ReplayDecision {
  if (!input.successor) return { action: 'invalid', reason: 'unknown_successor' }
  if (!isSameClient(input.lastSeen, input.current)) return { action: 'reuse', reason: 'other_client' }
  if (input.successor.rotatedAt) return { action: 'reuse', reason: 'successor_rotated' }
  return { action: 'serve' }
}
