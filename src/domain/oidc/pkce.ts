import { createHash, timingSafeEqual } from 'node:crypto'

/** RFC 7636 §4.1: 43 to 128 unreserved characters. An S256 challenge is 43 base64url characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

export const CODE_CHALLENGE_METHODS = ['S256'] as const

export function isCodeVerifier(value: string): boolean {
  return CODE_VERIFIER.test(value)
}

export function isS256Challenge(value: string): boolean {
  return S256_CHALLENGE.test(value)
}

/** BASE64URL(SHA256(verifier)) of a well-formed verifier (RFC 7636 §4.6), null for any other. */
export function s256ChallengeOf(verifier: string): string | null {
  return isCodeVerifier(verifier) ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : null
}

/** RFC 7636 §4.6: BASE64URL(SHA256(verifier)) equals the challenge, compared in constant time. */
export function pkceMatches(verifier: string, challenge: string): boolean {
  if (!isCodeVerifier(verifier) || !isS256Challenge(challenge)) return false
  const actual = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'))
  const expected = Buffer.from(challenge)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
