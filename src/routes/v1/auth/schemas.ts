import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../domain/accounts/email.js'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../domain/passwords/password-policy.js'
import type { TokenGrant } from '../../../services/sessions.js'

// Leading and trailing spaces are trimmed before the email is checked, hence the slack.
export const EmailSchema = Type.String({
  minLength: 1,
  maxLength: EMAIL_MAX_LENGTH + 16,
  description: 'Compared case-insensitively; stored trimmed and lower-cased.',
  examples: ['ada@example.com'],
})

export const NewPasswordSchema = Type.String({
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not on the list of common passwords (else 400 weak_password).`,
})

export const PasswordSchema = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH })

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'User' },
)

export const RegisterBodySchema = Type.Object({
  email: EmailSchema,
  password: NewPasswordSchema,
  name: Type.Optional(Type.Union([Type.String({ maxLength: NAME_MAX_LENGTH }), Type.Null()], { description: 'A display name; blank means none.' })),
})

export const LoginBodySchema = Type.Object({ email: EmailSchema, password: PasswordSchema })

export const RefreshTokenBodySchema = Type.Object({
  refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Omit to use the tollgate_refresh cookie.' })),
})

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT access token (RFC 9068 profile).' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.String({ description: 'Opaque; rotates on every refresh. Also set as the tollgate_refresh cookie.' }),
    scope: Type.String(),
  },
  { title: 'TokenResponse' },
)

export const ChangePasswordBodySchema = Type.Object({ currentPassword: PasswordSchema, newPassword: NewPasswordSchema })

export const SessionSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The sid claim of the access tokens of this session.' }),
    current: Type.Boolean({ description: 'True for the session of the access token making the request.' }),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time', description: 'The earlier of the idle and the absolute expiry.' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    flagged: Type.Boolean({ description: 'A refresh came from both another IP and another user agent than the session had seen.' }),
  },
  { title: 'Session' },
)

export const SessionListSchema = Type.Object({ sessions: Type.Array(SessionSchema) })

export const SecurityEventSchema = Type.Object(
  {
    type: Type.String({
      description: 'login_succeeded, login_failed, refresh_token_reused, session_revoked, session_flagged or password_changed.',
    }),
    at: Type.String({ format: 'date-time' }),
    ip: Type.Union([Type.String(), Type.Null()]),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    sessionId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  },
  { title: 'SecurityEvent' },
)

export const SecurityEventListSchema = Type.Object({ events: Type.Array(SecurityEventSchema) })

export const SessionIdParamsSchema = Type.Object({ id: Type.String({ maxLength: 64, description: 'A session id from the sessions list.' }) })

/** The token response of login and refresh: never cached anywhere. */
export function tokenResponse(reply: FastifyReply, grant: TokenGrant) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer' as const,
    expires_in: grant.expiresIn,
    refresh_token: grant.refreshToken,
    scope: grant.scope,
  }
}
