import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new client id: 128 random bits as hex (no leading dash, safe in URLs, Basic and shells). */
export function generateClientId(): string {
  return randomBytes(16).toString('hex')
}

/** A new client secret: 256 random bits, base64url. Shown once, stored only as its keyed hash. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * HMAC-SHA-256 (hex) under a server key. A fast keyed hash on purpose: the secret already has
 * 256 bits of entropy, so a password hash would only cap client_credentials throughput, while
 * the key keeps a stolen table from being checked offline.
 */
export function hashClientSecret(secret: string, key: Buffer): string {
  return createHmac('sha256', key).update(secret, 'utf8').digest('hex')
}

export function clientSecretMatches(secret: string, storedHash: string, key: Buffer): boolean {
  const actual = Buffer.from(hashClientSecret(secret, key), 'hex')
  const expected = Buffer.from(storedHash, 'hex')
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
