import { Type } from 'typebox'

export const FORM = 'application/x-www-form-urlencoded'

const Field = (description: string) => Type.Optional(Type.String({ maxLength: 4096, description }))

const ClientFields = {
  client_id: Field('client_secret_post, or the public first-party client identifying itself.'),
  client_secret: Field('client_secret_post. Do not combine with HTTP Basic.'),
}

export const TokenRequestSchema = Type.Object(
  {
    grant_type: Field('`client_credentials` or `refresh_token`.'),
    scope: Field('client_credentials: space-separated scopes within the client\'s; all of them when omitted.'),
    refresh_token: Field('refresh_token: the refresh token to rotate.'),
    ...ClientFields,
  },
  {
    'x-examples': {
      clientCredentials: { summary: 'client_credentials (client authenticated with HTTP Basic)', value: { grant_type: 'client_credentials', scope: 'orders:read' } },
      refreshToken: {
        summary: 'refresh_token, first-party public client',
        value: { grant_type: 'refresh_token', refresh_token: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9', client_id: 'tollgate-web' },
      },
    },
  },
)

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT access token (RFC 9068).' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.Optional(Type.String({ description: 'refresh_token grant only: the rotated refresh token.' })),
    scope: Type.String({ description: 'The scopes granted, space-separated.' }),
  },
  {
    title: 'OAuthTokenResponse',
    examples: [
      {
        access_token: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl',
        token_type: 'Bearer',
        expires_in: 600,
        scope: 'orders:read',
      },
    ],
  },
)

export const TokenReferenceSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096, description: 'An access token or a refresh token.' }),
    token_type_hint: Field('`access_token` or `refresh_token`; optional, tollgate tells the two apart itself.'),
    ...ClientFields,
  },
  { examples: [{ token: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9', token_type_hint: 'refresh_token' }] },
)

export const IntrospectionResponseSchema = Type.Object(
  {
    active: Type.Boolean({ description: 'False for anything invalid, expired or revoked; then no other member is sent.' }),
    token_type: Type.Optional(Type.String({ description: '`Bearer` for an access token, `refresh_token` for a refresh token.' })),
    sub: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String({ description: 'The session; absent for client_credentials tokens.' })),
  },
  {
    title: 'IntrospectionResponse',
    'x-examples': {
      active: {
        summary: 'An active access token',
        value: {
          active: true,
          token_type: 'Bearer',
          sub: '6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41',
          client_id: 'tollgate-web',
          scope: 'cart',
          exp: 1741944600,
          iat: 1741944000,
          iss: 'http://localhost:3000',
          aud: 'http://localhost:3000',
          jti: 'b1d2f3a4-5c6e-4f7a-8b9c-0d1e2f3a4b5c',
          sid: '0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d',
        },
      },
      inactive: { summary: 'Invalid, expired or revoked', value: { active: false } },
    },
  },
)
