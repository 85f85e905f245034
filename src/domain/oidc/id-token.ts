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
 * The algorithm of a client's ID tokens: the one it registered (OIDC Registration §2
 * id_token_signed_response_alg) when the key set can sign with it; otherwise RS256, which OpenID
 * Connect relying parties expect of a client that registered none (OIDC Core §3.1.3.7), when the
 * key set has it; else the key set's default. A registered algorithm taken out of
 * SIGNING_ALGORITHMS (or still being published) falls back like the access tokens' does.
 */
export function idTokenAlgorithm(available: readonly SigningAlgorithm[], registered?: string | null): SigningAlgorithm {
  const chosen = available.find((alg) => alg === registered)
  if (chosen) return chosen
  return available.includes('RS256') ? 'RS256' : available[0]!
}

/** The algorithms ID tokens may be signed with, the default first (discovery's id_token_signing_alg_values_supported). */
export function idTokenAlgorithms(available: readonly SigningAlgorithm[]): SigningAlgorithm[] {
  const preferred = idTokenAlgorithm(available)
  return [preferred, ...available.filter((alg) => alg !== preferred)]
}

/** The one place an ID token is signed: with the client's registered algorithm, else the default. */
export function signIdToken(keys: Pick<KeyProvider, 'signer' | 'algorithms'>, claims: IdTokenClaims, registered?: string | null): Promise<string> {
  return keys.signer(idTokenAlgorithm(keys.algorithms(), registered)).sign({ ...claims }, { typ: ID_TOKEN_TYPE })
}
