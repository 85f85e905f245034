import type { KeyProvider, SigningAlgorithm } from '../keys/key-provider.js'
import type { ProfileClaims } from './claims.js'

export const ID_TOKEN_TYPE = 'JWT'

/** OIDC Core §2 ID token claims, as tollgate issues them. */
export interface IdTokenClaims extends ProfileClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  iat: number
  auth_time: number
  azp: string
  /** The browser's sign-in session at tollgate (OIDC's meaning of `sid`). */
  sid: string
  nonce?: string
}

export function buildIdTokenClaims(input: {
  issuer: string
  subject: string
  clientId: string
  signInSessionId: string
  authTime: Date
  nonce: string | null
  profile: ProfileClaims
  now: Date
  ttlSeconds: number
}): IdTokenClaims {
  const iat = Math.floor(input.now.getTime() / 1000)
  return {
    iss: input.issuer,
    sub: input.subject,
    aud: input.clientId,
    exp: iat + input.ttlSeconds,
    iat,
    auth_time: Math.floor(input.authTime.getTime() / 1000),
    azp: input.clientId,
    sid: input.signInSessionId,
    ...(input.nonce ? { nonce: input.nonce } : {}),
    ...input.profile,
  }
}

/**
 * The algorithm of ID tokens: RS256, which OpenID Connect relying parties expect unless a client
 * registered another (OIDC Core §3.1.3.7, Registration §2), when the key set has it; else the
 * key set's default.
 */
export function idTokenAlgorithm(available: readonly SigningAlgorithm[]): SigningAlgorithm {
  return available.includes('RS256') ? 'RS256' : available[0]!
}

/** The one place an ID token is signed. */
export function signIdToken(keys: Pick<KeyProvider, 'signer' | 'algorithms'>, claims: IdTokenClaims): Promise<string> {
  return keys.signer(idTokenAlgorithm(keys.algorithms())).sign({ ...claims }, { typ: ID_TOKEN_TYPE })
}
