import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { loadOpenApiDocument } from '../../helpers/openapi-validator.js'

interface Operation {
  responses: Record<string, { headers?: Record<string, unknown> }>
}

const document = loadOpenApiDocument() as unknown as { paths: Record<string, Record<string, Operation>> }
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
)
const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']

// The RateLimit headers openapi.yaml documents are the ones the service sends: on every answer of
// a rate-limited operation (one that documents 429), and on none of the others.
describe('RateLimit headers, as openapi.yaml documents them', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMIT_ENABLED: 'true' })
  })
  afterAll(async () => t?.close())

  it.each(operations)('$name', async ({ method, path, operation }) => {
    const limited = operation.responses['429'] !== undefined
    // A malformed request: every operation answers it without credentials or state.
    const res = await t.app.inject({
      method: method as 'GET',
      url: path.replace(/\{[^}]+\}/g, 'x'),
      ...(method === 'GET' ? {} : { headers: { 'content-type': path.startsWith('/oauth/') ? 'application/x-www-form-urlencoded' : 'application/json' }, payload: path.startsWith('/oauth/') ? 'a=1&a=2' : '{' }),
    })
    const documented = operation.responses[String(res.statusCode)]?.headers ?? {}
    for (const header of RATE_LIMIT_HEADERS) {
      expect(res.headers[header.toLowerCase()] !== undefined, `${header} sent with ${res.statusCode}`).toBe(limited)
      // The lint (tollgate-rate-limit-headers) asks for them on 2xx and 4xx answers.
      if (/^[24]/.test(String(res.statusCode))) expect(documented[header] !== undefined, `${header} documented for ${res.statusCode}`).toBe(limited)
    }
  })
})
