import { compactVerify, createLocalJWKSet, importJWK, SignJWT } from 'jose'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateSigningKey, importPrivateKey, publicMembers } from '../../../../src/domain/keys/key-material.js'
import { SIGNING_ALGORITHMS } from '../../../../src/domain/keys/key-provider.js'
import { openPrivateKey, sealPrivateKey } from '../../../../src/domain/keys/sealing.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

describe.each(SIGNING_ALGORITHMS)('a generated %s key', (alg) => {
  it('has a public JWK with public members only, a thumbprint kid, and signs verifiably', async () => {
    const key = await generateSigningKey(alg)
    expect(key.publicJwk).toMatchObject({ kid: key.kid, alg, use: 'sig' })
    for (const member of PRIVATE_MEMBERS) expect(key.publicJwk).not.toHaveProperty(member)
    expect(key.privateKeyPkcs8).toContain('BEGIN PRIVATE KEY')

    const privateKey = await importPrivateKey(key.privateKeyPkcs8, alg)
    const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg, kid: key.kid }).sign(privateKey)
    const { protectedHeader } = await compactVerify(jwt, createLocalJWKSet({ keys: [key.publicJwk] }))
    expect(protectedHeader.kid).toBe(key.kid)
    await expect(importJWK(key.publicJwk, alg)).resolves.toBeDefined()
  })

  it('refuses to be imported as a key of another algorithm', async () => {
    const key = await generateSigningKey(alg)
    const other = SIGNING_ALGORITHMS.find((candidate) => candidate !== alg)!
    await expect(importPrivateKey(key.privateKeyPkcs8, other)).rejects.toThrow(`a ${other} key must be`)
  })
})

describe('publicMembers', () => {
  it.each([
    { kty: 'OKP', crv: 'Ed25519', x: 'X', d: 'secret' },
    { kty: 'EC', crv: 'P-256', x: 'X', y: 'Y', d: 'secret' },
    { kty: 'RSA', n: 'N', e: 'AQAB', d: 's', p: 's', q: 's', dp: 's', dq: 's', qi: 's' },
  ])('drops every private member of a $kty key', (jwk) => {
    const out = publicMembers(jwk)
    for (const member of PRIVATE_MEMBERS) expect(out).not.toHaveProperty(member)
    expect(out.kty).toBe(jwk.kty)
  })

  it('refuses symmetric keys', () => {
    expect(() => publicMembers({ kty: 'oct', k: 'secret' })).toThrow()
  })
})

describe('sealing', () => {
  const encryptionKey = randomBytes(32)

  it('round-trips and never stores the plaintext', () => {
    const sealed = sealPrivateKey(encryptionKey, 'kid-1', 'PRIVATE KEY MATERIAL')
    expect(sealed.toString('latin1')).not.toContain('PRIVATE KEY MATERIAL')
    expect(openPrivateKey(encryptionKey, 'kid-1', sealed)).toBe('PRIVATE KEY MATERIAL')
  })

  it.each([
    { name: 'another kid (the kid is associated data)', open: (s: Buffer) => openPrivateKey(encryptionKey, 'kid-2', s) },
    { name: 'another key-encryption key', open: (s: Buffer) => openPrivateKey(randomBytes(32), 'kid-1', s) },
    {
      name: 'a flipped ciphertext byte',
      open: (s: Buffer) => {
        const copy = Buffer.from(s)
        copy[14]! ^= 1
        return openPrivateKey(encryptionKey, 'kid-1', copy)
      },
    },
    { name: 'a truncated blob', open: (s: Buffer) => openPrivateKey(encryptionKey, 'kid-1', s.subarray(0, 20)) },
  ])('fails to open with $name', ({ open }) => {
    expect(() => open(sealPrivateKey(encryptionKey, 'kid-1', 'PRIVATE KEY MATERIAL'))).toThrow()
  })
})
