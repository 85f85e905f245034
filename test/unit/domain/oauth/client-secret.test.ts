import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { clientSecretMatches, generateClientId, generateClientSecret, hashClientSecret } from '../../../../src/domain/oauth/client-secret.js'

describe('client secrets', () => {
  const key = randomBytes(32)

  it('generates high-entropy ids and secrets', () => {
    expect(generateClientId()).toMatch(/^[0-9a-f]{32}$/)
    expect(generateClientSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(generateClientSecret()).not.toBe(generateClientSecret())
  })

  it('stores a keyed hash that matches only the same secret under the same key', () => {
    const secret = generateClientSecret()
    const hash = hashClientSecret(secret, key)
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(hash).not.toContain(secret)
    expect(clientSecretMatches(secret, hash, key)).toBe(true)
    expect(clientSecretMatches(`${secret}x`, hash, key)).toBe(false)
    expect(clientSecretMatches(secret, hash, randomBytes(32))).toBe(false)
    expect(clientSecretMatches(secret, 'not-hex', key)).toBe(false)
  })
})
