import swagger from '@fastify/swagger'
import apiReference from '@scalar/fastify-api-reference'
import type { RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { OPENAPI_INFO } from '../../http/openapi-info.js'
import { rateLimitsOf } from '../../http/rate-limit-policy.js'
import {
  DPOP_NONCE_HEADER,
  OAuthErrorSchema,
  ProblemSchema,
  RATE_LIMIT_HEADERS,
  oauthErrorResponse,
  pageErrorResponse,
  problemResponse,
  type ErrorResponse,
} from '../../http/schemas.js'
import { NEVER_SHED } from './under-pressure.js'

// Methods whose bodies Fastify parses: a bad, oversized or unsupported body is refused on all of them.
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * The error statuses a route can send without its handler having a say: malformed input (400),
 * bodies too large (413) or of another type (415), path parameters over the router's limit (414),
 * its rate limits (429), a bug (500: the renderer hides its details) and load shedding or a
 * database outage (503). Added to each route's response schema when the
 * route does not list them, in the shape the route renders errors in.
 */
export function defaultErrorResponses(route: Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>): Record<number, ErrorResponse> {
  const methods = [route.method].flat().map((method) => method.toUpperCase())
  const schema = route.schema ?? {}
  const takesBody = methods.some((method) => BODY_METHODS.has(method))
  const format = (route.config as { errorFormat?: string } | undefined)?.errorFormat
  const oauth = format === 'oauth'
  const page = format === 'page'
  const responses: Record<number, ErrorResponse> = {}
  // Any validated part refuses what it cannot hold (see http/validation.ts: U+0000 included), hence 400.
  if (takesBody || schema.querystring || schema.params || schema.headers) {
    responses[400] = page ? pageErrorResponse(400, ['validation_failed']) : oauth ? oauthErrorResponse(400, ['invalid_request']) : problemResponse(400, ['validation_failed'])
  }
  if (takesBody) {
    responses[413] = page ? pageErrorResponse(413) : oauth ? oauthErrorResponse(413, ['invalid_request'], 'The body is over the size limit.') : problemResponse(413)
    // OAuth endpoints and pages answer a body of another type with 400 (RFC 6749 §3.2).
    if (!oauth && !page) responses[415] = problemResponse(415)
  }
  // The router refuses an over-long path parameter before any route is chosen: always problem+json.
  if (route.url.includes(':')) responses[414] = problemResponse(414)
  if (rateLimitsOf(route).length > 0) {
    responses[429] = page ? pageErrorResponse(429) : oauth ? oauthErrorResponse(429, ['invalid_request'], 'A rate limit was exceeded; see Retry-After.') : problemResponse(429)
  }
  responses[500] = page ? pageErrorResponse(500) : oauth ? oauthErrorResponse(500, ['server_error']) : problemResponse(500)
  if (!NEVER_SHED.has(route.url)) {
    responses[503] = page ? pageErrorResponse(503) : oauth ? oauthErrorResponse(503, ['temporarily_unavailable']) : problemResponse(503)
  }
  return responses
}

/**
 * A rate-limited route reports its counter on every answer its limits see (2xx and 4xx: the
 * counters run before parsing, validation and the handler), so those responses document the
 * RateLimit-* headers; routes without a limit send none and document none.
 */
export function withRateLimitHeaders(route: Pick<RouteOptions, 'config'>, responses: Record<string, unknown>): Record<string, unknown> {
  if (rateLimitsOf(route).length === 0) return responses
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      if (!/^[24]/.test(status) || typeof response !== 'object' || response === null) return [status, response]
      const headers = (response as { headers?: object }).headers
      return [status, { ...response, headers: { ...headers, ...RATE_LIMIT_HEADERS } }]
    }),
  )
}

/**
 * A route that takes a DPoP proof (its request headers declare `dpop`) answers a request with one
 * with a current `DPoP-Nonce` while nonces are required (plugins/app/dpop.ts), whatever the status:
 * its responses document the header.
 */
export function withDpopNonceHeader(route: Pick<RouteOptions, 'schema'>, responses: Record<string, unknown>): Record<string, unknown> {
  const headers = route.schema?.headers as { properties?: Record<string, unknown> } | undefined
  if (headers?.properties?.dpop === undefined) return responses
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      if (typeof response !== 'object' || response === null) return [status, response]
      const documented = (response as { headers?: object }).headers
      return [status, { ...response, headers: { ...documented, 'DPoP-Nonce': DPOP_NONCE_HEADER } }]
    }),
  )
}

type SchemaNode = Record<string, unknown>
const isNode = (value: unknown): value is SchemaNode => typeof value === 'object' && value !== null && !Array.isArray(value)
// Where a schema holds other schemas, by keyword.
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs'] as const
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const
const SUBSCHEMAS = ['items', 'additionalProperties', 'not', 'contains'] as const

/**
 * Every schema with a `title` (User, TokenResponse, CartItem, ...) becomes a named component,
 * referenced wherever it is used: generated clients get named types, and readers one definition.
 * Two different schemas under one title are a mistake in the route schemas, and fail loudly.
 */
function nameTitledSchemas<T extends { paths?: unknown; components?: { schemas?: Record<string, unknown> } }>(document: T): T {
  const named = new Map<string, { canonical: string; schema: SchemaNode }>()
  const canonical = (schema: SchemaNode) => JSON.stringify(schema, (key, value) => (key === 'examples' || key === 'example' ? undefined : value))

  const visit = (schema: unknown): unknown => {
    if (!isNode(schema)) return schema
    for (const key of SUBSCHEMA_MAPS) {
      if (isNode(schema[key])) schema[key] = Object.fromEntries(Object.entries(schema[key]).map(([name, sub]) => [name, visit(sub)]))
    }
    for (const key of SUBSCHEMA_LISTS) if (Array.isArray(schema[key])) schema[key] = schema[key].map(visit)
    for (const key of SUBSCHEMAS) if (isNode(schema[key])) schema[key] = visit(schema[key])
    const title = schema.title
    // A title that is already a component's name (Problem, OAuthError) is left alone.
    if (typeof title !== 'string' || (document.components?.schemas?.[title] !== undefined && !named.has(title))) return schema
    const entry = named.get(title)
    if (!entry) named.set(title, { canonical: canonical(schema), schema })
    else if (entry.canonical !== canonical(schema)) throw new Error(`two different schemas are titled ${title}: rename one`)
    else if (entry.schema.examples === undefined && schema.examples !== undefined) entry.schema = schema
    return { $ref: `#/components/schemas/${title}` }
  }

  const visitMedia = (content: unknown) => {
    if (!isNode(content)) return
    for (const media of Object.values(content)) if (isNode(media)) media.schema = visit(media.schema)
  }
  for (const item of Object.values(isNode(document.paths) ? document.paths : {})) {
    for (const operation of Object.values(isNode(item) ? item : {})) {
      if (!isNode(operation)) continue
      if (isNode(operation.requestBody)) visitMedia(operation.requestBody.content)
      for (const response of Object.values(isNode(operation.responses) ? operation.responses : {})) if (isNode(response)) visitMedia(response.content)
      for (const parameter of Array.isArray(operation.parameters) ? operation.parameters : []) if (isNode(parameter)) parameter.schema = visit(parameter.schema)
    }
  }
  const schemas = (document.components ??= {}).schemas ?? {}
  document.components.schemas = { ...schemas, ...Object.fromEntries([...named].map(([title, { schema }]) => [title, schema])) }
  return document
}

/**
 * The OpenAPI 3.1 document is generated from the routes' own schemas: /openapi.json serves it,
 * /docs renders it (both only with API_DOCS, by default off in production), and
 * `npm run openapi:generate` writes it to openapi.yaml.
 */
export default fp(
  async (app) => {
    const { config } = app
    app.addSchema(ProblemSchema)
    app.addSchema(OAuthErrorSchema)
    // Before @fastify/swagger and every route: the statuses added here are both documented and
    // serialized with their schema.
    app.addHook('onRoute', (route) => {
      if (!route.schema || route.schema.hide) return
      const defaults = defaultErrorResponses(route)
      const response = withDpopNonceHeader(route, withRateLimitHeaders(route, { ...defaults, ...(route.schema.response as object | undefined) }))
      route.schema = { ...route.schema, response }
    })
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO.info,
        servers: OPENAPI_INFO.servers,
        tags: OPENAPI_INFO.tags,
        components: { securitySchemes: OPENAPI_INFO.securitySchemes },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
      // A tree, not a graph: objects shared between routes would otherwise become YAML anchors and aliases.
      transformObject: (document) => nameTitledSchemas(JSON.parse(JSON.stringify('openapiObject' in document ? document.openapiObject : document.swaggerObject))),
    })
    if (!config.API_DOCS) return
    app.get(
      '/openapi.json',
      {
        schema: {
          operationId: 'getOpenApiDocument',
          tags: ['operations'],
          summary: 'This OpenAPI document',
          description: 'The OpenAPI 3.1 document of this API, as JSON: the same document as `openapi.yaml` in the package.',
          security: [],
          response: {
            200: Type.Object(
              {},
              {
                additionalProperties: true,
                description: 'An OpenAPI 3.1 document',
                examples: [{ openapi: '3.1.0', info: { title: 'tollgate', version: '0.1.0' }, paths: {} }],
              },
            ),
          },
        },
      },
      async () => app.swagger(),
    )
    // Served from the package, not a CDN: the reference works offline and behind a strict proxy.
    await app.register(apiReference, {
      routePrefix: '/docs',
      configuration: {
        url: '/openapi.json',
        theme: 'default',
        pageTitle: 'tollgate API reference',
        withDefaultFonts: false,
        telemetry: false,
        hideClientButton: true,
        showOperationId: true,
        defaultOpenAllTags: true,
      },
    })
  },
  { name: 'swagger' },
)
