import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../domain/accounts/email.js'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../domain/passwords/password-policy.js'
import { PathIdSchema, TEXT_PATTERN, unrestricted } from '../../../http/schemas.js'
import { SECURITY_EVENT_TYPES } from '../../../services/security-events.js'
import type { TokenGrant } from '../../../services/sessions/index.js'

// Example values, consistent across the document (and valid against their schemas).
const EXAMPLE = {
  userId: '6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41',
  sessionId: '0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d',
  otherSessionId: 'a3c1e5f7-9b2d-4f6a-8e0c-2b4d6f8a0c1e',
  email: 'ada@example.com',
  createdAt: '2025-03-14T09:26:53.589Z',
  accessToken: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl',
  refreshToken: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9',
} as const

// Leading and trailing spaces are trimmed before the email is checked, hence the slack.
export const EmailSchema = Type.String({
  minLength: 1,
  maxLength: EMAIL_MAX_LENGTH + 16,
  pattern: TEXT_PATTERN,
  description: 'Compared case-insensitively; stored trimmed and lower-cased. Control characters are refused (400).',
  examples: [EXAMPLE.email],
})

export const NewPasswordSchema = Type.String({
  maxLength: PASSWORD_MAX_LENGTH,
  format: 'password',
  examples: ['correct horse battery staple'],
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not on the list of common passwords (else 400 weak_password).`,
})

export const PasswordSchema = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, format: 'password', examples: ['correct horse battery staple'] })

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The user id: the `sub` claim of the user\'s access tokens.' }),
    email: Type.String({ description: 'Trimmed and lower-cased.' }),
    name: Type.Union([Type.String(), Type.Null()], { description: 'The display name, or null.' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  {
    title: 'User',
    description: 'An account.',
    examples: [{ id: EXAMPLE.userId, email: EXAMPLE.email, name: 'Ada Lovelace', createdAt: EXAMPLE.createdAt }],
  },
)

export const RegisterBodySchema = Type.Object(
  {
    email: EmailSchema,
    password: NewPasswordSchema,
    name: Type.Optional(
      Type.Union([Type.String({ maxLength: NAME_MAX_LENGTH, pattern: TEXT_PATTERN }), Type.Null()], {
        description: 'A display name; blank means none. Control characters are refused (400).',
      }),
    ),
  },
  { examples: [{ email: EXAMPLE.email, password: 'correct horse battery staple', name: 'Ada Lovelace' }] },
)

export const LoginBodySchema = Type.Object(
  { email: EmailSchema, password: PasswordSchema },
  { examples: [{ email: EXAMPLE.email, password: 'correct horse battery staple' }] },
)

export const RefreshTokenBodySchema = Type.Object(
  {
    refresh_token: Type.Optional(
      // No length limits: anything that is not a live refresh token is 401 invalid_grant, never a
      // validation error (the body limit bounds it).
      Type.String({
        description: 'The latest refresh token of the session. Omit (or send empty) to use the tollgate_refresh cookie.',
        ...unrestricted('Any string that is not a live refresh token, of any length or shape, is 401 invalid_grant; the body limit bounds it.'),
      }),
    ),
  },
  { examples: [{ refresh_token: EXAMPLE.refreshToken }] },
)

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT access token (RFC 9068 profile): send it as `Authorization: Bearer <access_token>`, or as `Authorization: DPoP <access_token>` with a proof when `token_type` is `DPoP`.' }),
    token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], {
      description: '`DPoP` when the request carried a DPoP proof (RFC 9449): the access token (`cnf.jkt`) and the session\'s refresh tokens are bound to its key.',
    }),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.String({
      description: 'Opaque; rotates on every refresh: keep only the newest. Also set as the tollgate_refresh cookie.',
    }),
    scope: Type.String({ description: 'The scopes of the access token, space-separated.' }),
  },
  {
    title: 'TokenResponse',
    description: 'A new access token and the session\'s current refresh token. Sent with `Cache-Control: no-store`.',
    examples: [{ access_token: EXAMPLE.accessToken, token_type: 'Bearer', expires_in: 600, refresh_token: EXAMPLE.refreshToken, scope: 'cart' }],
  },
)

export const ChangePasswordBodySchema = Type.Object(
  { currentPassword: PasswordSchema, newPassword: NewPasswordSchema },
  { examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a brand new and unusual passphrase' }] },
)

export const SessionSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The sid claim of the access tokens of this session.' }),
    current: Type.Boolean({ description: 'True for the session of the access token making the request.' }),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time', description: 'The earlier of the idle and the absolute expiry.' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    flagged: Type.Boolean({ description: 'A refresh came from another network (/24, /64) or another user agent than the session had seen.' }),
    bound: Type.Boolean({
      description:
        'The session is bound to a DPoP key (RFC 9449: its login sent a proof): its refresh token rotates only with a proof from that key, ' +
        'and its access tokens are used only as `Authorization: DPoP` with one.',
    }),
  },
  { title: 'Session', description: 'One login and everything refreshed from it.' },
)

const exampleSession = (id: string, current: boolean, userAgent: string) => ({
  id,
  current,
  createdAt: EXAMPLE.createdAt,
  lastUsedAt: '2025-03-14T10:02:11.021Z',
  expiresAt: '2025-03-21T10:02:11.021Z',
  userAgent,
  ip: '203.0.113.7',
  flagged: false,
  bound: current,
})

export const SessionListSchema = Type.Object(
  { sessions: Type.Array(SessionSchema) },
  {
    title: 'SessionList',
    examples: [
      {
        sessions: [
          exampleSession(EXAMPLE.sessionId, true, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'),
          exampleSession(EXAMPLE.otherSessionId, false, 'tollgate-cli/1.0'),
        ],
      },
    ],
  },
)

export const SecurityEventSchema = Type.Object(
  {
    type: Type.String({
      enum: [...SECURITY_EVENT_TYPES],
      description: 'What happened. `refresh_token_reused`: an old refresh token was presented again, and its session revoked.',
    }),
    at: Type.String({ format: 'date-time' }),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'The client address of the request that caused the event.' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    sessionId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The session concerned: an `id` of the sessions list.' }),
  },
  { title: 'SecurityEvent' },
)

export const SecurityEventListSchema = Type.Object(
  { events: Type.Array(SecurityEventSchema, { description: 'Newest first.' }) },
  {
    title: 'SecurityEventList',
    examples: [
      {
        events: [
          { type: 'login_succeeded', at: '2025-03-14T09:26:53.589Z', ip: '203.0.113.7', userAgent: 'tollgate-cli/1.0', sessionId: EXAMPLE.sessionId },
          { type: 'login_failed', at: '2025-03-14T09:26:41.112Z', ip: '198.51.100.23', userAgent: 'curl/8.5.0', sessionId: null },
        ],
      },
    ],
  },
)

export const SessionIdParamsSchema = Type.Object({
  id: PathIdSchema('A session id from the sessions list.', [EXAMPLE.otherSessionId]),
})

export const SET_REFRESH_COOKIE_HEADER = {
  type: 'string',
  description: 'The refresh token as the `tollgate_refresh` cookie: `HttpOnly; Secure; SameSite=Strict; Path=/v1/auth`.',
} as const

export const CLEAR_REFRESH_COOKIE_HEADER = {
  type: 'string',
  description: 'Clears the `tollgate_refresh` cookie: empty, with an expiry in the past.',
} as const

/** The token response of login and refresh: never cached anywhere. */
export function tokenResponse(reply: FastifyReply, grant: TokenGrant) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  return {
    access_token: grant.accessToken,
    token_type: grant.tokenType,
    expires_in: grant.expiresIn,
    refresh_token: grant.refreshToken,
    scope: grant.scope,
  }
}
