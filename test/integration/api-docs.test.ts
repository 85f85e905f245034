import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { loadOpenApiDocument } from '../helpers/openapi-validator.js'

interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  responses: Record<string, { description?: string; headers?: Record<string, { schema?: { const?: string } }>; content?: Record<string, { schema?: { $ref?: string } }> }>
}

const document = loadOpenApiDocument() as unknown as { paths: Record<string, Record<string, Operation>> }
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, path, operation })),
)

// The contract's surface (../shared/CONTRACT.md), by the operationId clients generate names from.
// The login and consent pages' forms (/oauth/login, /oauth/consent) are the contract's "login and consent pages".
const CONTRACT = {
  'POST /v1/auth/register': 'register',
  'POST /v1/auth/login': 'login',
  'POST /v1/auth/refresh': 'refreshToken',
  'POST /v1/auth/logout': 'logout',
  'GET /v1/auth/sessions': 'listSessions',
  'DELETE /v1/auth/sessions/{id}': 'revokeSession',
  'DELETE /v1/auth/sessions': 'revokeOtherSessions',
  'POST /v1/auth/password': 'changePassword',
  'GET /v1/auth/events': 'listSecurityEvents',
  'GET /v1/me': 'getMe',
  'GET /v1/cart/items': 'listCartItems',
  'POST /v1/cart/items': 'addCartItem',
  'PATCH /v1/cart/items/{id}': 'updateCartItem',
  'DELETE /v1/cart/items/{id}': 'deleteCartItem',
  'DELETE /v1/cart': 'clearCart',
  'GET /.well-known/jwks.json': 'getJwks',
  'GET /.well-known/oauth-authorization-server': 'getAuthorizationServerMetadata',
  'GET /v1/revocations': 'getRevocations',
  'POST /oauth/token': 'oauthToken',
  'GET /oauth/authorize': 'authorize',
  'POST /oauth/authorize': 'authorizeWithForm',
  'POST /oauth/login': 'signIn',
  'POST /oauth/consent': 'consent',
  'GET /.well-known/openid-configuration': 'getOpenIdConfiguration',
  'GET /oauth/userinfo': 'getUserInfo',
  'POST /oauth/userinfo': 'postUserInfo',
  'GET /oauth/logout': 'endSession',
  'POST /oauth/logout': 'endSessionWithForm',
  'POST /oauth/revoke': 'oauthRevoke',
  'POST /oauth/introspect': 'oauthIntrospect',
  'GET /health/live': 'liveness',
  'GET /health/ready': 'readiness',
  'GET /metrics': 'metrics',
  'GET /openapi.json': 'getOpenApiDocument',
  // Operator controls (the contract leaves their shape to the service): /admin/v1.
  'GET /admin/v1/users': 'adminFindUsers',
  'GET /admin/v1/users/{id}': 'adminGetUser',
  'DELETE /admin/v1/users/{id}': 'adminEraseUser',
  'DELETE /admin/v1/users/{id}/sessions': 'adminRevokeUserSessions',
  'DELETE /admin/v1/sessions/{id}': 'adminRevokeSession',
  'POST /admin/v1/users/{id}/disable': 'adminDisableUser',
  'POST /admin/v1/users/{id}/enable': 'adminEnableUser',
}

const HTML_PAGES = new Set(['authorize', 'authorizeWithForm', 'signIn', 'consent', 'endSession', 'endSessionWithForm'])

describe('openapi.yaml, as clients and readers use it', () => {
  it('has every endpoint of the contract, under its stable operationId, and nothing else', () => {
    expect(Object.fromEntries(operations.map(({ name, operation }) => [name, operation.operationId]))).toEqual(CONTRACT)
  })

  it.each(operations)('$name: is described, tagged, and says how it authenticates', ({ operation }) => {
    expect(operation.summary).toBeTruthy()
    expect(operation.description).toBeTruthy()
    expect(operation.tags).toHaveLength(1)
    expect(operation.security).toBeDefined()
  })

  it.each(operations)('$name: documents its errors in the shape it sends them', ({ path, operation }) => {
    const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400)
    // Liveness alone can refuse nothing: it takes no input and never sheds load.
    expect(errors.length > 0 || operation.operationId === 'liveness').toBe(true)
    for (const [status, response] of errors) {
      // The router refuses over-long path parameters before a route, hence its own format, is chosen.
      // The pages of the authorization endpoint answer people in browsers: HTML error pages.
      const expected = HTML_PAGES.has(operation.operationId!)
        ? { 'text/html': undefined }
        : path.startsWith('/oauth/') && status !== '414'
          ? { 'application/json': '#/components/schemas/OAuthError' }
          : { 'application/problem+json': '#/components/schemas/Problem' }
      const actual = Object.fromEntries(Object.entries(response.content ?? {}).map(([type, media]) => [type, media.schema?.$ref]))
      expect(actual, `${status}`).toEqual(expected)
    }
  })
})

describe('openapi.yaml headers, as generated clients read them', () => {
  it.each(operations.filter(({ operation }) => operation.responses['403']))(
    '$name: a 403 documents a Bearer challenge exactly when it can be insufficient_scope',
    ({ operation }) => {
      const forbidden = operation.responses['403']!
      expect(Boolean(forbidden.headers?.['WWW-Authenticate'])).toBe(forbidden.description!.includes('insufficient_scope'))
    },
  )

  it.each(['POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /oauth/token', 'POST /oauth/introspect'])(
    '%s: its 200 documents Cache-Control: no-store and Pragma: no-cache, spelled as elsewhere',
    (name) => {
      const headers = operations.find((candidate) => candidate.name === name)!.operation.responses['200']!.headers
      expect(headers?.['Cache-Control']?.schema?.const).toBe('no-store')
      expect(headers?.['Pragma']?.schema?.const).toBe('no-cache')
    },
  )

  it('POST /v1/auth/logout: its 204 documents the Set-Cookie that clears the refresh cookie', () => {
    expect(operations.find(({ name }) => name === 'POST /v1/auth/logout')!.operation.responses['204']!.headers?.['Set-Cookie']).toBeDefined()
  })
})

describe('the API reference at /docs', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('is served with everything it needs from this instance: no script, style or font from a CDN', async () => {
    const redirect = await t.app.inject('/docs')
    expect(redirect.statusCode).toBe(301)
    expect(redirect.headers.location).toBe('/docs/')

    const page = await t.app.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toContain('"withDefaultFonts": false')
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
    expect(assets.length).toBeGreaterThan(0)
    for (const asset of assets) {
      expect(asset, 'a relative URL on this instance').not.toMatch(/^(?:[a-z]+:)?\/\//i)
      const served = await t.app.inject(new URL(asset, 'http://tollgate.test/docs/').pathname)
      expect(served.statusCode, asset).toBe(200)
      expect(served.headers['content-type'], asset).toMatch(/javascript|css/)
    }
    const url = /"url": "([^"]+)"/.exec(page.body)?.[1]
    const spec = await t.app.inject(url!)
    expect(spec.statusCode).toBe(200)
    expect(spec.json()).toEqual(t.app.swagger())
  })
})
