/** The OpenID Connect scopes tollgate knows, and the claims each one releases (OIDC Core §5.4). */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const

const CLAIMS_BY_SCOPE = {
  profile: ['name'],
  email: ['email', 'email_verified'],
} as const satisfies Partial<Record<(typeof OIDC_SCOPES)[number], readonly string[]>>

export const SUPPORTED_CLAIMS = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'azp', 'name', 'email', 'email_verified'] as const

export interface UserProfile {
  id: string
  email: string
  name: string | null
}

export interface ProfileClaims {
  name?: string
  email?: string
  email_verified?: boolean
}

/**
 * The user claims the scopes allow. `email_verified` is false: tollgate does not verify email
 * addresses (yet), and saying true would let a relying party trust an address nobody proved.
 * A user without a name gets no `name` claim (OIDC Core §5.3.2: absent, not null).
 */
export function profileClaims(user: UserProfile, scopes: readonly string[]): ProfileClaims {
  const claims: ProfileClaims = {}
  if (scopes.includes('profile') && user.name) claims.name = user.name
  if (scopes.includes('email')) {
    claims.email = user.email
    claims.email_verified = false
  }
  return claims
}

/** Human descriptions of scopes, for the consent screen. */
export function describeScope(scope: string): string {
  switch (scope) {
    case 'openid':
      return 'Know who you are (your tollgate account id)'
    case 'profile':
      return 'See your name'
    case 'email':
      return 'See your email address'
    case 'offline_access':
      return 'Stay signed in to it while you are away'
    default:
      return `Use the "${scope}" permission on your behalf`
  }
}

export const scopeClaims = CLAIMS_BY_SCOPE
