import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createJwsSigner } from '../../../../src/domain/keys/jws-signer.js'
import { generateSigningKey, importPrivateKey } from '../../../../src/domain/keys/key-material.js'
import { SIGNING_ALGORITHMS } from '../../../../src/domain/keys/key-provider.js'

const CLAIMS = { iss: 'https://issuer.test', sub: 'user', aud: 'tollgate', iat: 1_700_000_000, exp: 4_000_000_000, scope: 'cart' }

describe.each(SIGNING_ALGORITHMS)('createJwsSigner with a %s key', (alg) => {
  it('signs JWTs that jose verifies, with the header jose would write', async () => {
    const key = await generateSigningKey(alg)
    const signer = createJwsSigner(await importPrivateKey(key.privateKeyPkcs8, alg), alg, key.kid)
    const keySet = createLocalJWKSet({ keys: [key.publicJwk] })

    for (const typ of ['at+jwt', 'revocations+jwt', 'at+jwt']) {
      const token = await signer.sign(CLAIMS, { typ })
      const { payload, protectedHeader } = await jwtVerify(token, keySet, { algorithms: [alg], typ })
      expect(payload).toEqual(CLAIMS)
      expect(protectedHeader).toEqual({ alg, kid: key.kid, typ })
    }
  })

  it('encodes the header and the payload exactly as jose SignJWT does', async () => {
    const key = await generateSigningKey(alg)
    const privateKey = await importPrivateKey(key.privateKeyPkcs8, alg)
    const ours = await createJwsSigner(privateKey, alg, key.kid).sign(CLAIMS, { typ: 'at+jwt' })
    const jose = await new SignJWT(CLAIMS).setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' }).sign(privateKey)
    expect(ours.split('.').slice(0, 2)).toEqual(jose.split('.').slice(0, 2))
    expect(decodeProtectedHeader(ours)).toEqual(decodeProtectedHeader(jose))
    // Ed25519 and RSASSA-PKCS1-v1_5 are deterministic: the whole token matches.
    if (alg !== 'ES256') expect(ours).toBe(jose)
  })
})
