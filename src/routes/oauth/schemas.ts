import { Type } from 'typebox'
import { TEXT_PATTERN, VSCHAR_PATTERN, unrestricted } from '../../http/schemas.js'

export const FORM = 'application/x-www-form-urlencoded'

/**
 * A form field: RFC 6749 Appendix A gives most of them as VSCHAR strings (a malformed one is 400
 * invalid_request); `restriction` says otherwise where the field has a syntax of its own, or where
 * the RFCs ask for another error than a malformed request's.
 */
const Field = (description: string, restriction: object = { pattern: VSCHAR_PATTERN }) =>
  Type.Optional(Type.String({ maxLength: 4096, ...restriction, description }))

const ClientFields = {
  client_id: Field('client_secret_post, or the public first-party client identifying itself.'),
  client_secret: Field('client_secret_post. Do not combine with HTTP Basic.'),
}

// RFC 6749 §5.2: a malformed scope is invalid_scope, which the handler answers; not a validation error.
const SCOPE = unrestricted('A malformed scope is invalid_scope (RFC 6749 §5.2), answered by the handler, not a validation error.')

export const TokenRequestSchema = Type.Object(
  {
    grant_type: Field('`authorization_code`, `client_credentials` or `refresh_token`.'),
    scope: Field('client_credentials: space-separated scopes within the client\'s; all of them when omitted.', SCOPE),
    refresh_token: Field(
      'refresh_token: the refresh token to rotate.',
      unrestricted('Any string that is not a live refresh token is invalid_grant (RFC 6749 §5.2), not a validation error.'),
    ),
    code: Field('authorization_code: the code the authorization endpoint returned (single use, 60 s).'),
    redirect_uri: Field('authorization_code: the redirect_uri of the authorization request.', { format: 'uri-reference' }),
    code_verifier: Field('authorization_code: the PKCE verifier of the code_challenge.'),
    ...ClientFields,
  },
  {
    'x-examples': {
      clientCredentials: { summary: 'client_credentials (client authenticated with HTTP Basic)', value: { grant_type: 'client_credentials', scope: 'orders:read' } },
      authorizationCode: {
        summary: 'authorization_code with PKCE (a public client identifies itself by client_id)',
        value: {
          grant_type: 'authorization_code',
          code: 'SplxlOBeZQQYbYS6WxSbIA7Rk2xYvPq3nB0mWcE4uTz',
          redirect_uri: 'https://app.example/callback',
          code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
          client_id: '3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b',
        },
      },
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
    token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], {
      description: '`DPoP` when the request carried a DPoP proof (RFC 9449): the access token is bound to its key (`cnf.jkt`) and is sent as `Authorization: DPoP <token>` with a proof.',
    }),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.Optional(Type.String({ description: 'refresh_token: the rotated refresh token; authorization_code: the session\'s first one, when `offline_access` was granted.' })),
    scope: Type.String({ description: 'The scopes granted, space-separated.' }),
    id_token: Type.Optional(Type.String({ description: 'authorization_code with `openid`: the OpenID Connect ID token (a JWT).' })),
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
    token: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'An access token or a refresh token.',
      ...unrestricted('A string that is no live token is answered as one (RFC 7009: 200; RFC 7662: active false), never as a validation error.'),
    }),
    token_type_hint: Field('`access_token` or `refresh_token`; optional, tollgate tells the two apart itself.'),
    ...ClientFields,
  },
  { examples: [{ token: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9', token_type_hint: 'refresh_token' }] },
)

export const IntrospectionResponseSchema = Type.Object(
  {
    active: Type.Boolean({ description: 'False for anything invalid, expired or revoked; then no other member is sent.' }),
    token_type: Type.Optional(Type.String({ description: '`Bearer` for an access token, `DPoP` for one bound to a DPoP key, `refresh_token` for a refresh token.' })),
    sub: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String({ description: 'The session; absent for client_credentials tokens.' })),
    cnf: Type.Optional(Type.Object({ jkt: Type.String() }, { description: 'RFC 9449 §6.2: the thumbprint of the DPoP key the token is bound to.' })),
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

// RFC 6749 §4.1.2.1: once the client and its redirect URI are known, a bad parameter is reported to
// the client by redirect (invalid_request, invalid_scope, unsupported_response_type, ...), which the
// handler does; schema validation could only answer an error page.
const REDIRECTED = unrestricted('Checked by the handler, which redirects its errors to the client (RFC 6749 §4.1.2.1).')
const Param = (description: string, restriction: object = REDIRECTED) => Type.Optional(Type.String({ maxLength: 4096, ...restriction, description }))

/** RFC 6749 §4.1.1 with PKCE (RFC 7636) and OpenID Connect Core §3.1.2.1: the query of GET, the form of POST. */
export const AuthorizeParametersSchema = Type.Object(
  {
    response_type: Param('`code`: the only response type.'),
    // An unknown client or redirect URI is an error page, never a redirect: validation may refuse a malformed one.
    client_id: Param('The registered client.', { pattern: VSCHAR_PATTERN }),
    redirect_uri: Param('Exactly one of the client\'s registered redirect URIs.', { format: 'uri' }),
    scope: Param('Space-separated scopes within the client\'s, e.g. `openid profile email offline_access`.'),
    state: Param('Returned unchanged with the code or the error.'),
    nonce: Param('OpenID Connect: copied into the ID token.'),
    code_challenge: Param('PKCE: BASE64URL(SHA-256(code_verifier)), 43 characters. Required.'),
    code_challenge_method: Param('PKCE: `S256` (the only method; required).'),
    prompt: Param('`none` (answer without any page: `login_required` / `consent_required`), `login` (ask for the password again), `consent` (ask again).'),
    max_age: Param('Seconds: a sign-in older than this asks for the password again.'),
    response_mode: Param('`query` (the only mode).'),
    login_hint: Param('An email to fill the login form with.'),
    request: Param('Not supported (`request_not_supported`).'),
    request_uri: Param('Not supported (`request_uri_not_supported`).'),
  },
  {
    examples: [
      {
        response_type: 'code',
        client_id: '3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b',
        redirect_uri: 'https://app.example/callback',
        scope: 'openid profile email',
        state: 'af0ifjsldkj',
        nonce: 'n-0S6_WzA2Mj',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      },
    ],
  },
)

/** The sealed page state (domain/oidc/page-state.ts): two base64url parts joined by a dot. */
const InteractionSchema = (description: string) =>
  Type.String({ minLength: 1, maxLength: 16384, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$', description })

export const LoginFormSchema = Type.Object(
  {
    interaction: InteractionSchema('The hidden field of the login page: the authorization request it belongs to, bound to this browser.'),
    email: Type.String({ maxLength: 400, pattern: TEXT_PATTERN }),
    password: Type.String({ maxLength: 256, format: 'password' }),
  },
  { examples: [{ interaction: 'eyJwIjp7fX0.c2lnbmF0dXJl', email: 'ada@example.com', password: 'correct horse battery staple' }] },
)

export const ConsentFormSchema = Type.Object(
  {
    interaction: InteractionSchema('The hidden field of the consent page.'),
    decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')], { description: 'The button the user pressed.' }),
  },
  { examples: [{ interaction: 'eyJwIjp7fX0.c2lnbmF0dXJl', decision: 'allow' }] },
)

export const UserInfoSchema = Type.Object(
  {
    sub: Type.String({ description: 'The user id: the `sub` of the ID token and the access token.' }),
    name: Type.Optional(Type.String({ description: 'With `profile`, when the user has a name.' })),
    email: Type.Optional(Type.String({ description: 'With `email`.' })),
    email_verified: Type.Optional(Type.Boolean({ description: 'With `email`: false, tollgate does not verify addresses.' })),
  },
  {
    title: 'UserInfo',
    examples: [{ sub: '6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41', name: 'Ada Lovelace', email: 'ada@example.com', email_verified: false }],
  },
)

export const LogoutParametersSchema = Type.Object(
  {
    // Every error of this endpoint is an error page, so validation may refuse what is malformed.
    id_token_hint: Param('An ID token tollgate issued to the client (expired or not): logs out at once, without a confirmation page.', {
      maxLength: 16384,
      pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
    }),
    client_id: Param('The client, when there is no id_token_hint.', { pattern: VSCHAR_PATTERN }),
    post_logout_redirect_uri: Param('Exactly one of the client\'s registered post-logout redirect URIs.', { format: 'uri' }),
    state: Param('Returned with the redirect.', { pattern: VSCHAR_PATTERN }),
    interaction: Type.Optional(InteractionSchema('The confirmation page\'s hidden field (POST only).')),
  },
  { examples: [{ id_token_hint: 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl', post_logout_redirect_uri: 'https://app.example/signed-out', state: 'xyz' }] },
)
