/**
 * A typed client for the tollgate API, generated from openapi.yaml: `openapi-fetch` over the
 * types that `npm run client:generate` writes to ./openapi.ts. Every path, parameter, body and
 * response (error responses included) is typed from the document.
 *
 * @example
 * ```ts
 * import { createTollgateClient } from 'tollgate/client'
 *
 * let accessToken: string | undefined
 * const tollgate = createTollgateClient('http://localhost:3000', { accessToken: () => accessToken })
 * const { data, error } = await tollgate.POST('/v1/auth/login', { body: { email, password } })
 * if (error) throw new Error(error.code)
 * accessToken = data.access_token
 * const { data: cart } = await tollgate.GET('/v1/cart/items')
 * ```
 *
 * With DPoP (RFC 9449) the tokens are bound to a non-extractable key the client holds: a copy of
 * them is useless without it. The client signs the proofs, sends the access token as
 * `Authorization: DPoP`, and follows the server's nonces.
 *
 * @example
 * ```ts
 * import { createDpop, createTollgateClient } from 'tollgate/client'
 *
 * let accessToken: string | undefined
 * const tollgate = createTollgateClient('https://auth.example.com', { dpop: createDpop(), accessToken: () => accessToken })
 * const { data } = await tollgate.POST('/v1/auth/login', { body: { email, password } }) // data.token_type === 'DPoP'
 * ```
 *
 * @packageDocumentation
 */
import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch'
import { dpopMiddleware, type Dpop } from './dpop.js'
import type { components, operations, paths } from './openapi.js'

export type { components, operations, paths }
export { createDpop, generateDpopKeyPair, type Dpop, type DpopKeyPair, type DpopOptions, type DpopProofRequest } from './dpop.js'

/** The client: `GET`, `POST`, `PATCH`, `DELETE`, ... on the documented paths, each returning `{ data, error, response }`. */
export type TollgateClient = Client<paths>

/** RFC 9457 problem details, the error body of every /v1 endpoint: branch on `code`. */
export type Problem = components['schemas']['Problem']
/** The RFC 6749 error body of the /oauth endpoints. */
export type OAuthError = components['schemas']['OAuthError']
export type User = components['schemas']['User']
export type TokenResponse = components['schemas']['TokenResponse']
export type Session = components['schemas']['Session']
export type SecurityEvent = components['schemas']['SecurityEvent']
export type Cart = components['schemas']['Cart']
export type CartItem = components['schemas']['CartItem']
export type IntrospectionResponse = components['schemas']['IntrospectionResponse']

/** Send with the /oauth endpoints, which take form-encoded bodies: `{ body, headers: FORM_ENCODED }`. */
export const FORM_ENCODED = { 'content-type': 'application/x-www-form-urlencoded' } as const

export interface TollgateClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /**
   * The access token to send as `Authorization: Bearer ...` on every request that sets no
   * Authorization header of its own (the /oauth endpoints excepted: they authenticate clients);
   * a function is asked before each request, so it can return the latest token after a refresh.
   */
  accessToken?: string | (() => string | undefined | Promise<string | undefined>)
  /**
   * DPoP (RFC 9449), from `createDpop()`: every request to the token endpoints (`/v1/auth/login`,
   * `/v1/auth/refresh`, `/oauth/token`) carries a proof, so the tokens issued are bound to the key
   * (`token_type: DPoP`); the access token is then sent as `Authorization: DPoP ...` with a proof
   * of its own (`ath`) on every request. The server's `DPoP-Nonce` is remembered from every answer,
   * and a request refused with `use_dpop_nonce` is sent once more with it. `baseUrl` must be the
   * server's ISSUER: proofs name the URL they are for.
   */
  dpop?: Dpop
}

/**
 * A client for the tollgate at `baseUrl` (e.g. `http://localhost:3000`). Options are
 * openapi-fetch's (`fetch`, `headers`, ...) plus `accessToken` and `dpop`.
 */
export function createTollgateClient(baseUrl: string, options: TollgateClientOptions = {}): TollgateClient {
  const { accessToken, dpop, ...clientOptions } = options
  const client = createClient<paths>({ ...clientOptions, baseUrl: baseUrl.replace(/\/+$/, '') })
  if (dpop !== undefined) client.use(dpopMiddleware(dpop, async () => (typeof accessToken === 'function' ? await accessToken() : accessToken)))
  else if (accessToken !== undefined) client.use(bearer(accessToken))
  return client
}

function bearer(accessToken: NonNullable<TollgateClientOptions['accessToken']>): Middleware {
  return {
    async onRequest({ request, schemaPath }) {
      // The /oauth endpoints authenticate clients (HTTP Basic or the body), never a bearer token.
      if (request.headers.has('authorization') || schemaPath.startsWith('/oauth/')) return undefined
      const token = typeof accessToken === 'function' ? await accessToken() : accessToken
      if (token) request.headers.set('authorization', `Bearer ${token}`)
      return request
    },
  }
}
