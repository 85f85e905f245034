import { createHash, createHmac, randomBytes } from 'node:crypto'
import { isSessionLive } from '../sessions/session-rules.js'

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
