import { Type } from 'typebox'
import { EMAIL_MAX_LENGTH } from '../../domain/accounts/email.js'
import { BASE64URL_PATTERN, PathIdSchema, TEXT_PATTERN, unrestricted } from '../../http/schemas.js'
import { SECURITY_EVENT_TYPES } from '../../services/security-events.js'

// Example values, consistent across the admin operations (and valid against their schemas).
const EXAMPLE = {
  userId: '6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41',
  sessionId: '0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d',
  clientId: 'c_7Qm2xYv9Lk3Pz8Rw',
  email: 'ada@example.com',
  createdAt: '2025-03-14T09:26:53.589Z',
  cursor: 'MjAyNS0wMy0xNFQwOToyNjo1My41ODlafDZmMWMyYjllLTRkM2EtNGU4Yi05YzFkLTJhN2Y1ZTBiM2M0MQ',
} as const

export const USERS_PAGE_DEFAULT = 50
export const USERS_PAGE_MAX = 200

export const AdminUserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    disabled: Type.Boolean({ description: 'A disabled user cannot log in, refresh or complete an authorization.' }),
    disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  {
    title: 'AdminUser',
    description: 'An account, as operators see it.',
    examples: [{ id: EXAMPLE.userId, email: EXAMPLE.email, name: 'Ada Lovelace', createdAt: EXAMPLE.createdAt, disabled: false, disabledAt: null }],
  },
)

export const UserPageSchema = Type.Object(
  {
    users: Type.Array(AdminUserSchema, { description: 'In creation order.' }),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
  },
  {
    title: 'UserPage',
    examples: [
      {
        users: [{ id: EXAMPLE.userId, email: EXAMPLE.email, name: 'Ada Lovelace', createdAt: EXAMPLE.createdAt, disabled: false, disabledAt: null }],
        nextCursor: EXAMPLE.cursor,
      },
    ],
  },
)

export const FindUsersQuerySchema = Type.Object({
  email: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: EMAIL_MAX_LENGTH,
      pattern: TEXT_PATTERN,
      description: 'Users whose email contains this text (compared case-insensitively).',
      examples: ['@example.com'],
    }),
  ),
  id: Type.Optional(
    Type.String({ maxLength: 64, description: 'The user with this id.', examples: [EXAMPLE.userId], ...unrestricted('An id that is no user\'s, a malformed one included, finds nobody.') }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: BASE64URL_PATTERN, description: 'The `nextCursor` of the previous page.', examples: [EXAMPLE.cursor] })),
  limit: Type.Optional(Type.Integer({ format: 'int32', minimum: 1, maximum: USERS_PAGE_MAX, default: USERS_PAGE_DEFAULT, description: 'Users per page.' })),
})

export const AdminSessionSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The session id: the `sid` claim of its access tokens.' }),
    clientId: Type.String({ description: 'The client the session was started for.' }),
    kind: Type.String({ enum: ['tokens', 'sign_in'], description: '`tokens`: a refresh-token family (a login, a code redemption); `sign_in`: a browser\'s sign-in at tollgate\'s own pages.' }),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time', description: 'The earlier of the idle and the absolute expiry.' }),
    userAgent: Type.Union([Type.String(), Type.Null()], { description: 'The device, as its user agent last said.' }),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'The address it was last used from.' }),
    flagged: Type.Boolean({ description: 'A refresh came from another network and another user agent than the session had seen.' }),
    bound: Type.Boolean({
      description: 'Its tokens are sender-constrained: bound to the DPoP key (RFC 9449) its login or code redemption sent a proof from.',
    }),
  },
  { title: 'AdminSession', description: 'A live session of a user.' },
)

export const AdminSecurityEventSchema = Type.Object(
  {
    type: Type.String({ enum: [...SECURITY_EVENT_TYPES] }),
    at: Type.String({ format: 'date-time' }),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'The client address of the request that caused the event (null for operator actions).' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    sessionId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why, where the event has a reason (a revocation, a failed login, a disabling).' }),
    actor: Type.Union(
      [
        Type.Object({
          kind: Type.String({ enum: ['client', 'cli'], description: '`client`: through the admin API; `cli`: the `tollgate` command.' }),
          id: Type.String({ description: 'The client id, or the operating-system user who ran the command.' }),
        }),
        Type.Null(),
      ],
      { description: 'The operator who acted; null for events the user or tollgate caused.' },
    ),
  },
  { title: 'AdminSecurityEvent' },
)

export const UserDetailsSchema = Type.Object(
  {
    user: AdminUserSchema,
    sessions: Type.Array(AdminSessionSchema, { description: 'Live sessions (not revoked, not expired), newest first.' }),
    events: Type.Array(AdminSecurityEventSchema, { description: 'The latest 100 security events, newest first.' }),
  },
  {
    title: 'UserDetails',
    examples: [
      {
        user: { id: EXAMPLE.userId, email: EXAMPLE.email, name: 'Ada Lovelace', createdAt: EXAMPLE.createdAt, disabled: false, disabledAt: null },
        sessions: [
          {
            id: EXAMPLE.sessionId,
            clientId: 'tollgate-web',
            kind: 'tokens',
            createdAt: EXAMPLE.createdAt,
            lastUsedAt: '2025-03-14T10:02:11.021Z',
            expiresAt: '2025-03-21T10:02:11.021Z',
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
            ip: '203.0.113.7',
            flagged: false,
            bound: false,
          },
        ],
        events: [
          { type: 'user_viewed', at: '2025-03-14T11:00:00.000Z', ip: null, userAgent: null, sessionId: null, reason: null, actor: { kind: 'client', id: EXAMPLE.clientId } },
          { type: 'login_succeeded', at: EXAMPLE.createdAt, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', sessionId: EXAMPLE.sessionId, reason: null, actor: null },
        ],
      },
    ],
  },
)

export const UserIdParamsSchema = Type.Object({
  id: PathIdSchema('A user id.', [EXAMPLE.userId]),
})

export const SessionIdParamsSchema = Type.Object({
  id: PathIdSchema('A session id.', [EXAMPLE.sessionId]),
})

export const DisableBodySchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: TEXT_PATTERN, description: 'Why, for the audit trail (recorded on the security event).' })) },
  { examples: [{ reason: 'account reported compromised (ticket 4711)' }] },
)

export const RevokedCountSchema = Type.Object(
  { revoked: Type.Integer({ minimum: 0, description: 'How many live sessions were revoked.' }) },
  { title: 'RevokedCount', examples: [{ revoked: 3 }] },
)
