import type { OpenAPIV3_1 } from 'openapi-types'

// One line per paragraph or list item: the YAML writer folds long lines, and hard wraps would show.
const DESCRIPTION = [
  'Stateless token authentication: short-lived JWT access tokens that any service verifies through the JWKS, ' +
    'rotating opaque refresh tokens with reuse detection, OAuth 2.0 token, revocation and introspection endpoints, ' +
    'and a cart API whose state lives in PostgreSQL, never in a server session.',
  '## The flow in five requests',
  [
    '1. `POST /v1/auth/register` with `{email, password}` creates an account.',
    '2. `POST /v1/auth/login` answers a token response: `access_token` (a JWT, valid for `expires_in` seconds) and ' +
      '`refresh_token` (opaque; also set as the `tollgate_refresh` cookie).',
    '3. Call the API with `Authorization: Bearer <access_token>`, e.g. `GET /v1/cart/items`.',
    '4. Before the access token expires, `POST /v1/auth/refresh` with `{refresh_token}`: the answer carries a new access token ' +
      "and the session's **next** refresh token. Keep only the newest one: presenting an old refresh token after the grace " +
      'window revokes the whole session.',
    '5. `POST /v1/auth/logout` ends the session.',
  ].join('\n'),
  '## Errors',
  'Errors under `/v1`, `/health` and `/.well-known` are RFC 9457 problem details (`application/problem+json`) with a stable ' +
    'machine-readable `code`: branch on `code`, never on `detail`. The `/oauth` endpoints answer RFC 6749 errors: ' +
    '`{error, error_description}`. A missing or bad access token is 401 with `WWW-Authenticate: Bearer ..., error="invalid_token"`; ' +
    'a token without the needed scope is 403 with `error="insufficient_scope"`. Request bodies under `/v1` are JSON only: ' +
    'any other media type is 415 `unsupported_media_type`.',
  '## Sender-constrained tokens (DPoP, RFC 9449)',
  'Send a `DPoP` proof header, signed with a key pair the client keeps, to `POST /v1/auth/login`, `POST /v1/auth/refresh` or ' +
    '`POST /oauth/token`: the answer says `token_type: DPoP`, the access token carries `cnf.jkt` (the key\'s thumbprint) and ' +
    'the session\'s refresh token rotates only with a proof from the same key. Call the API with `Authorization: DPoP <access_token>` ' +
    'and a new proof for each request (with `ath`, the token\'s hash); a bound token sent as `Bearer`, or with another key\'s proof, is ' +
    '401 with a `WWW-Authenticate: DPoP ..., error="invalid_token", algs="..."` challenge, and a bad proof is `invalid_dpop_proof`. ' +
    'When the server requires nonces it answers `use_dpop_nonce` with a `DPoP-Nonce` header (400 at `/oauth/token`, 401 elsewhere): ' +
    'sign the proof again with that `nonce`.',
  '## Verifying tokens in your own service',
  "Fetch `/.well-known/jwks.json` (cache it as its `Cache-Control` says), verify the JWT's signature, `iss`, `aud`, `exp` and " +
    '`typ: at+jwt`, and poll `/v1/revocations` to drop revoked sessions within seconds. The `tollgate/verifier` package does all of this.',
].join('\n\n')

// The spelling "RFC8725" is what security linters look for (Spectral's OWASP ruleset, jwt-best-practices).
const JWT_PRACTICES =
  'Access tokens follow RFC8725 (JSON Web Token Best Current Practices): signed with an asymmetric algorithm of an allow-list ' +
  '(ES256, RS256 or EdDSA; never `none` or a shared-secret HMAC), explicitly typed `typ: at+jwt` so that no other JWT passes ' +
  'for one, and checked for `iss`, `aud` and `exp` by tollgate and by its verifier library.'

// Relative, so the document is the same whatever ISSUER an instance runs with. x-internal: false, as
// the inventory rules of API9:2023 ask: the API is meant for clients outside the operator's network.
const SERVER: OpenAPIV3_1.ServerObject & { 'x-internal': boolean } = {
  url: '/',
  description: 'This tollgate instance, whatever its environment (local, staging or production): the document is relative to where it is served.',
  'x-internal': false,
}

/** The parts of the OpenAPI document that are not derived from routes. */
export const OPENAPI_INFO: {
  info: OpenAPIV3_1.InfoObject
  servers: OpenAPIV3_1.ServerObject[]
  tags: OpenAPIV3_1.TagObject[]
  securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject>
} = {
  info: {
    title: 'tollgate',
    version: '0.1.0',
    summary: 'Stateless token authentication: JWT access tokens, rotating refresh tokens, OAuth 2.0, and a stateless cart API.',
    description: DESCRIPTION,
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [SERVER],
  tags: [
    { name: 'auth', description: 'First-party accounts: register, log in, refresh, log out, and manage your sessions.' },
    { name: 'cart', description: 'A stateless API: the cart lives in PostgreSQL. Needs an access token with scope `cart`.' },
    {
      name: 'oauth',
      description: 'OAuth 2.0 endpoints for other clients: form-encoded requests (`application/x-www-form-urlencoded`) and RFC 6749 error bodies.',
    },
    {
      name: 'oidc',
      description:
        'Signing users in to other apps (authorization code + PKCE, OpenID Connect): the authorization endpoint and tollgate\'s own login ' +
        'and consent pages (HTML for browsers, with error pages), userinfo and logout.',
    },
    { name: 'discovery', description: 'Public keys, the revocations feed and metadata, for services that verify tokens and for OAuth clients.' },
    { name: 'operations', description: 'Health, readiness, metrics and this document.' },
    {
      name: 'admin',
      description:
        'Operator controls: find and read users, revoke sessions, disable, enable. Needs an access token of tollgate\'s own ' +
        'client_credentials grant with scope `admin:read` (reads) or `admin:write` (changes), from a client registered with ' +
        '`tollgate clients create --scopes "admin:read admin:write"`; user tokens are refused whatever their scopes. ' +
        'Every operation is recorded as a security event naming the client.',
    },
  ],
  securitySchemes: {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An access token (RFC 9068 JWT) from login, refresh or `POST /oauth/token`, sent as `Authorization: Bearer <token>`. ' +
        'It expires after `expires_in` seconds (600 by default); refresh it with the refresh token. ' +
        JWT_PRACTICES,
    },
    dpopAuth: {
      type: 'http',
      scheme: 'DPoP',
      bearerFormat: 'JWT',
      description:
        'An access token bound to a DPoP key (RFC 9449; `token_type: DPoP`, claim `cnf.jkt`), sent as `Authorization: DPoP <token>` ' +
        'with a `DPoP` proof header signed by that key, new for each request, naming its method and URL and carrying `ath`, the ' +
        'token\'s SHA-256. A bound token is refused as `Bearer`: a copy of it is useless without the private key. Refusals carry a ' +
        '`WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1) listing the proof algorithms in `algs`. ' +
        JWT_PRACTICES,
    },
    refreshCookie: {
      type: 'apiKey',
      in: 'cookie',
      name: 'tollgate_refresh',
      description:
        'The refresh token as the HttpOnly cookie that login and refresh set (`Path=/v1/auth`, `SameSite=Strict`), for browsers. ' +
        'A cookie-authenticated request from another origin is refused.',
    },
    adminClient: {
      type: 'oauth2',
      description:
        'An access token from `POST /oauth/token` with `grant_type=client_credentials`, for a client allowed the admin scopes, ' +
        'sent as `Authorization: Bearer <token>`, or, when the token request carried a DPoP proof (`token_type: DPoP`), as ' +
        '`Authorization: DPoP <token>` with a `DPoP` proof header from the same key (see `dpopAuth`). ' +
        JWT_PRACTICES,
      flows: {
        clientCredentials: {
          tokenUrl: '/oauth/token',
          scopes: { 'admin:read': 'Find and read users, their sessions and events', 'admin:write': 'Revoke sessions, disable and enable users' },
        },
      },
    },
    clientBasic: {
      type: 'http',
      scheme: 'basic',
      description:
        'OAuth client authentication (RFC 6749 §2.3.1): the form-urlencoded client_id and client_secret as HTTP Basic credentials. ' +
        'Clients may instead send `client_id` and `client_secret` in the form body.',
    },
  },
}
