import { describe, expect, it } from 'vitest'
import { createResponseValidator } from '../helpers/openapi-validator.js'

const validator = createResponseValidator()

const problem = (status: number, code: string) => ({
  statusCode: status,
  headers: { 'content-type': 'application/problem+json; charset=utf-8' },
  body: JSON.stringify({ type: `urn:tollgate:problem:${code}`, title: 'x', status, detail: 'x', code }),
})
const json = (status: number, body: unknown) => ({ statusCode: status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) })
const item = { id: '5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a', sku: 'A', quantity: 1, createdAt: '2025-03-14T09:30:00.000Z', updatedAt: '2025-03-14T09:30:00.000Z' }

describe('the openapi.yaml response validator used by every integration test', () => {
  it.each([
    ['a documented success', 'GET', '/health/live', json(200, { status: 'ok' })],
    ['a path template with its parameter', 'PATCH', '/v1/cart/items/5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a', json(200, item)],
    ['a trailing slash and a query string', 'GET', '/v1/cart/items/?x=1', json(200, { items: [item], version: 3 })],
    ['a documented problem', 'POST', '/v1/auth/register', problem(409, 'email_taken')],
    ['an OAuth error', 'POST', '/oauth/token', json(400, { error: 'unsupported_grant_type', error_description: 'no' })],
    ['an empty 204', 'DELETE', '/v1/cart', { statusCode: 204, headers: {}, body: '' }],
    ['HEAD of a GET route', 'HEAD', '/health/live', { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '' }],
    ['an unknown path answered 404 problem+json', 'GET', '/nope', problem(404, 'not_found')],
    ['an undocumented method answered 404 problem+json', 'PUT', '/v1/me', problem(404, 'not_found')],
    ['an unknown path whose body is refused first', 'PATCH', '/v1/cart/', problem(415, 'unsupported_media_type')],
    ['the metrics text', 'GET', '/metrics', { statusCode: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: '# HELP x\n' }],
  ])('accepts %s', (_name, method, url, response) => {
    expect(validator.check(method, url, response)).toBeUndefined()
  })

  it.each([
    ['an undocumented status', 'GET', '/v1/me', json(418, {}), /status 418 is not documented/],
    ['a body that breaks the schema', 'GET', '/health/live', json(200, { status: 'fine' }), /does not match the schema/],
    ['a missing required member', 'POST', '/v1/auth/register', json(201, { id: item.id, email: 'a@b.c', name: null }), /createdAt/],
    ['a problem sent as plain JSON', 'POST', '/v1/auth/login', { ...problem(401, 'invalid_credentials'), headers: { 'content-type': 'application/json' } }, /documented as application\/problem\+json/],
    ['a problem on an OAuth route', 'POST', '/oauth/token', problem(400, 'validation_failed'), /documented as application\/json/],
    ['a body on a documented-empty response', 'DELETE', '/v1/cart', { statusCode: 204, headers: {}, body: 'x' }, /without a body/],
    ['a 200 on an unknown path', 'GET', '/nope', json(200, {}), /not in openapi\.yaml/],
    ['an unknown code in a problem', 'GET', '/v1/me', problem(401, 'no_such_code'), /code must be equal to one of the allowed values/],
  ])('refuses %s', (_name, method, url, response, message) => {
    expect(validator.check(method, url, response)).toMatch(message)
  })
})
