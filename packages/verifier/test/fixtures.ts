import { randomUUID } from 'node:crypto'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export const ISSUER = 'https://auth.example.test'
export const AUDIENCE = 'tollgate'

export interface TestKey {
  kid: string
  alg: 'EdDSA' | 'ES256' | 'RS256'
  privateKey: CryptoKey
  publicJwk: JWK
  spki: string
}

export async function testKey(alg: TestKey['alg'] = 'EdDSA', kid: string = randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, spki: await exportSPKI(publicKey) }
}

export function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    client_id: 'tollgate-web',
    scope: 'cart',
    sid: randomUUID(),
    ...overrides,
  }
}

export function signToken(
  key: TestKey,
  payload: JWTPayload = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey)
}

export const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
