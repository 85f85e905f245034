import addFormatsModule from 'ajv-formats'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import fc, { type Arbitrary } from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { login, register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { invalidValue, validValue, type JsonSchema, type Resolve } from './schema-arbitrary.js'

/**
 * Drives every operation of the app's own OpenAPI document, whatever routes exist when it runs,
 * with generated valid, invalid and hostile requests, and checks the invariants every route
 * owes its callers: never a 5xx, a response valid against the documented schema for its status
 * (problem+json or RFC 6749 errors when the status is not documented), and no row written by a
 * rejected request. Bounded: FUZZ_RUNS runs per operation (default 40). A failure prints the
 * seed; replay it with FUZZ_SEED=<seed>, and narrow with FUZZ_ONLY="POST /v1/auth/login".
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 40)
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const ONLY = process.env.FUZZ_ONLY
const VERBOSE = process.env.FUZZ_VERBOSE === '1'

const PASSWORD_AFTER_CHANGE = 'a brand new passphrase 42'
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020

interface MediaType {
  schema?: JsonSchema
}
interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie'
  name: string
  required?: boolean
  schema?: JsonSchema
}
interface OperationObject {
  parameters?: Parameter[]
  requestBody?: { content: Record<string, MediaType> }
  responses: Record<string, { content?: Record<string, MediaType> }>
  security?: Array<Record<string, string[]>>
}
interface Operation {
  method: string
  path: string
  name: string
  spec: OperationObject
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>
  components?: { schemas?: Record<string, JsonSchema> }
}

type Auth = 'none' | 'bearer' | 'bearer-garbage' | 'basic-client' | 'basic-garbage'
interface Body {
  kind: string
  contentType?: string
  payload?: string | Buffer
}
interface FuzzRequest {
  auth: Auth
  principal: number
  path: string
  query: string
  headers: Record<string, string>
  body: Body
}

const JSON_TYPE = 'application/json'
const FORM_TYPE = 'application/x-www-form-urlencoded'
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete'])
const printable = (maxLength = 40) => fc.string({ maxLength, unit: 'grapheme-ascii' })

function encode(contentType: string, value: unknown): string {
  if (!contentType.startsWith(FORM_TYPE)) return JSON.stringify(value) ?? 'null'
  if (typeof value !== 'object' || value === null) return String(value)
  const form = new URLSearchParams()
  for (const [key, field] of Object.entries(value)) {
    for (const item of Array.isArray(field) ? field : [field]) form.append(key, typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item))
  }
  return form.toString()
}

function hostileBody(contentType: string, valid: Arbitrary<unknown>): Arbitrary<Body> {
  const isForm = contentType.startsWith(FORM_TYPE)
  const of = (kind: string, payload: string | Buffer, type = contentType): Body => ({ kind, contentType: type, payload })
  return fc.oneof(
    fc.constantFrom(15_000, 17_000, 100_000).map((size) => of(`huge string ${size}`, isForm ? `grant_type=${'A'.repeat(size)}` : JSON.stringify({ email: 'A'.repeat(size), password: 'A'.repeat(20) }))),
    fc.constantFrom(1000, 5000, 8000).map((depth) => of(`deep array ${depth}`, '['.repeat(depth) + ']'.repeat(depth), JSON_TYPE)),
    fc.constantFrom(500, 2000, 3000).map((depth) => of(`deep object ${depth}`, '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), JSON_TYPE)),
    fc.constantFrom(
      of('__proto__ key', '{"__proto__":{"polluted":true,"isAdmin":true},"email":"a@b.c","password":"x","quantity":1,"sku":"A"}', JSON_TYPE),
      of('constructor.prototype key', '{"constructor":{"prototype":{"polluted":true}},"refresh_token":"x"}', JSON_TYPE),
      of('__proto__ form field', '__proto__[polluted]=1&constructor[prototype][polluted]=1&grant_type=client_credentials', FORM_TYPE),
      of('invalid UTF-8', Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('","password":"x\u0000"}')]), JSON_TYPE),
      of('invalid UTF-8 form', Buffer.concat([Buffer.from('grant_type='), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('&token=%ff%fe')]), FORM_TYPE),
      of('truncated JSON', '{"email": "a@b.c", "pass', JSON_TYPE),
      of('empty JSON body', '', JSON_TYPE),
      of('JSON null', 'null', JSON_TYPE),
      of('JSON string', '"just a string"', JSON_TYPE),
      of('JSON number', '1e999', JSON_TYPE),
      of('byte order mark', '\ufeff{"email":"a@b.c","password":"x"}', JSON_TYPE),
      of('duplicate keys', '{"quantity":1,"quantity":"1","sku":"A","sku":{"$ne":null}}', JSON_TYPE),
    ),
    fc
      .tuple(
        valid,
        fc.constantFrom(
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/vnd.api+json',
          'application/JSON',
          'application/json, text/plain',
          ';;;',
          '*/*',
          isForm ? JSON_TYPE : FORM_TYPE,
        ),
      )
      .map(([value, type]) => of(`content type ${type}`, encode(contentType, value), type)),
  )
}

function bodyArbitrary(operation: Operation, resolve: Resolve): Arbitrary<Body> {
  const content = operation.spec.requestBody?.content
  if (!content) {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant<Body>({ kind: 'none' }) },
      { weight: 1, arbitrary: hostileBody(JSON_TYPE, fc.jsonValue()) },
    )
  }
  const [contentType, media] = Object.entries(content)[0]!
  const schema = media.schema ?? {}
  const valid = validValue(schema, resolve)
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((value): Body => ({ kind: 'valid', contentType, payload: encode(contentType, value) })) },
    { weight: 3, arbitrary: invalidValue(schema, resolve).map((value): Body => ({ kind: 'invalid', contentType, payload: encode(contentType, value) })) },
    { weight: 2, arbitrary: hostileBody(contentType, valid) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'no body' }) },
  )
}

const HOSTILE_SEGMENTS = [
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '%ff%fe',
  'a'.repeat(300),
  '%2e%2e',
  "'%20OR%201%3D1",
  '00000000-0000-0000-0000-000000000000',
  '-1',
  '1e999',
  '%F0%9F%98%80',
  '__proto__',
  'constructor',
  '%25',
]

function pathArbitrary(operation: Operation, resolve: Resolve): Arbitrary<string> {
  const params = (operation.spec.parameters ?? []).filter((p) => p.in === 'path')
  if (params.length === 0) return fc.constant(operation.path)
  const values = params.map((param) =>
    fc.oneof(
      validValue(param.schema ?? { type: 'string' }, resolve).map((value) => encodeURIComponent(String(value))),
      fc.uuid(),
      fc.constantFrom(...HOSTILE_SEGMENTS),
    ),
  )
  return fc.tuple(...values).map((segments) => params.reduce((path, param, i) => path.replace(`{${param.name}}`, segments[i] || 'x'), operation.path))
}

function queryArbitrary(operation: Operation, resolve: Resolve): Arbitrary<string> {
  const params = (operation.spec.parameters ?? []).filter((p) => p.in === 'query')
  const declared = params.map((param) =>
    fc.option(
      fc.oneof(validValue(param.schema ?? { type: 'string' }, resolve), printable()).map((value) => `${encodeURIComponent(param.name)}=${encodeURIComponent(String(value))}`),
      { nil: '' },
    ),
  )
  const extra = fc.option(
    fc.constantFrom('__proto__[polluted]=1', 'constructor[prototype][polluted]=1', 'a=1&a=2', `x=${'A'.repeat(5000)}`, '%ff=%fe', 'q=%00', '&&&=', 'a[b][c][d][e]=1'),
    { nil: '' },
  )
  return fc.tuple(fc.tuple(...declared), extra).map(([parts, more]) => {
    const query = [...parts, more].filter(Boolean).join('&')
    return query ? `?${query}` : ''
  })
}

function headersArbitrary(operation: Operation, resolve: Resolve): Arbitrary<Record<string, string>> {
  const params = (operation.spec.parameters ?? []).filter((p) => p.in === 'header' && p.name.toLowerCase() !== 'authorization')
  const declared = params.map((param) =>
    fc.option(
      fc.oneof(validValue(param.schema ?? { type: 'string' }, resolve).map(String), printable(), fc.constantFrom('*', '"x"', 'W/"x"', '"', 'W/')),
      { nil: undefined },
    ),
  )
  const extra = fc.record(
    {
      cookie: fc.oneof(printable().map((value) => `tollgate_refresh=${encodeURIComponent(value)}`), fc.constantFrom('tollgate_refresh=', '__proto__=1', 'a=b; a=c')),
      origin: fc.constantFrom('https://evil.example', 'null', 'http://tollgate.test'),
      accept: fc.constantFrom('application/xml', '*/*', 'text/html', 'application/problem+json'),
      'x-forwarded-for': fc.constantFrom('1.2.3.4', 'garbage', '::1, 10.0.0.1'),
    },
    { requiredKeys: [] },
  )
  return fc.tuple(fc.tuple(...declared), extra).map(([values, more]) => {
    const headers: Record<string, string> = { ...more }
    params.forEach((param, i) => {
      if (values[i] !== undefined) headers[param.name] = values[i]!
    })
    return headers
  })
}

function requestArbitrary(operation: Operation, resolve: Resolve, principals: number): Arbitrary<FuzzRequest> {
  return fc.record({
    auth: fc.constantFrom<Auth>('none', 'bearer', 'bearer', 'bearer-garbage', 'basic-client', 'basic-garbage'),
    principal: fc.nat({ max: principals - 1 }),
    path: pathArbitrary(operation, resolve),
    query: queryArbitrary(operation, resolve),
    headers: headersArbitrary(operation, resolve),
    body: bodyArbitrary(operation, resolve),
  })
}

/** Every table's row count and a digest of its contents. */
async function snapshotTables(app: App) {
  const tables = await app.db.prisma.$queryRawUnsafe<Array<{ table_name: string }>>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY table_name",
  )
  const sql = tables
    .map(({ table_name: name }) => `SELECT '${name}' AS name, count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM "${name}" t`)
    .join(' UNION ALL ')
  return async () => {
    const rows = await app.db.prisma.$queryRawUnsafe<Array<{ name: string; rows: number; digest: string }>>(sql)
    return new Map(rows.map((row) => [row.name, row]))
  }
}

interface Principal {
  email: string
  password: string
  token?: string
  stale: boolean
}

describe('every operation of the OpenAPI document, fuzzed', () => {
  let t: TestApp
  let operations: Operation[]
  let document: OpenApiDocument
  let snapshot: Awaited<ReturnType<typeof snapshotTables>>
  const principals: Principal[] = []
  let client: { authorization: string } | undefined
  const undocumented = new Map<string, number>()
  const seen = new Map<string, Record<string, number>>()

  beforeAll(async () => {
    // No purge or load shedding behind the fuzzer's back: every write must come from its requests.
    t = await buildTestApp({ PURGE_INTERVAL_SECONDS: '0' })
    document = t.app.swagger() as unknown as OpenApiDocument
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.has(method))
        .map(([method, spec]) => ({ method: method.toUpperCase(), path, name: `${method.toUpperCase()} ${path}`, spec })),
    )
    snapshot = await snapshotTables(t.app)
    if (operations.some((op) => op.path === '/v1/auth/login')) {
      for (let i = 0; i < 3; i++) {
        const account = await register(t.app)
        principals.push({ email: account.email, password: account.password, stale: true })
      }
    }
    const oauth = (t.app as unknown as { oauth?: { clients?: { create(input: object): Promise<{ client: { clientId: string }; clientSecret: string }> } } }).oauth
    if (oauth?.clients) {
      const created = await oauth.clients.create({ name: 'fuzz client', scopes: ['orders:read'] })
      client = { authorization: `Basic ${Buffer.from(`${encodeURIComponent(created.client.clientId)}:${encodeURIComponent(created.clientSecret)}`).toString('base64')}` }
    }
  })
  afterAll(async () => {
    if (undocumented.size > 0) console.warn('statuses sent but not documented:', Object.fromEntries(undocumented))
    if (VERBOSE) console.info(`seed ${SEED}; statuses by operation:`, Object.fromEntries(seen))
    await t?.close()
  })

  async function authorization(request: FuzzRequest): Promise<string | undefined> {
    switch (request.auth) {
      case 'none':
        return undefined
      case 'bearer-garbage':
        return 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
      case 'basic-garbage':
        return `Basic ${Buffer.from('nobody:nothing').toString('base64')}`
      case 'basic-client':
        return client?.authorization
      case 'bearer': {
        const principal = principals[request.principal % Math.max(principals.length, 1)]
        if (!principal) return undefined
        if (principal.stale || !principal.token) {
          // The fuzzer may have changed the password (its hints know the current one).
          for (const password of [principal.password, PASSWORD_AFTER_CHANGE]) {
            const token = await login(t.app, { email: principal.email, password }).then((session) => session.accessToken, () => undefined)
            if (token) Object.assign(principal, { token, password, stale: false })
            if (token) break
          }
        }
        return `Bearer ${principal.token}`
      }
    }
  }

  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }))
  const validators = new Map<string, ValidateFunction>()
  function validatorFor(key: string, schema: JsonSchema) {
    let validate = validators.get(key)
    if (!validate) {
      validate = ajv.compile({ ...schema, components: document.components } as object)
      validators.set(key, validate)
    }
    return validate
  }

  function checkResponse(operation: Operation, res: Awaited<ReturnType<App['inject']>>): string | undefined {
    const status = res.statusCode
    if (status >= 500) return `answered ${status}: ${res.body.slice(0, 300)}`
    const contentType = String(res.headers['content-type'] ?? '')
    const documented = operation.spec.responses[String(status)]
    let schema: JsonSchema | undefined
    if (documented) {
      const media = documented.content ? Object.values(documented.content)[0] : undefined
      if (!media) return res.body === '' ? undefined : `${status} is documented without a body but has one: ${res.body.slice(0, 200)}`
      schema = media.schema
    } else {
      if (status < 400) return `${status} is not documented`
      undocumented.set(`${operation.name} ${status}`, (undocumented.get(`${operation.name} ${status}`) ?? 0) + 1)
      schema = { $ref: contentType.startsWith('application/problem+json') ? '#/components/schemas/Problem' : '#/components/schemas/OAuthError' }
    }
    if (!schema) return undefined
    let body: unknown = res.body
    if (/[/+]json/.test(contentType)) {
      try {
        body = JSON.parse(res.body)
      } catch {
        return `${status} ${contentType} body is not JSON: ${res.body.slice(0, 200)}`
      }
    }
    const validate = validatorFor(`${operation.name} ${status} ${documented ? '' : contentType}`, schema)
    if (!validate(body)) return `${status} body does not match its schema: ${ajv.errorsText(validate.errors)}; body ${res.body.slice(0, 300)}`
    if (status >= 400 && !documented && !/^application\/(problem\+)?json/.test(contentType)) return `${status} error with content type ${contentType}`
    return undefined
  }

  const resolve: Resolve = (ref) => {
    const name = ref.replace('#/components/schemas/', '')
    const schema = document.components?.schemas?.[name]
    if (!schema) throw new Error(`unresolved ${ref}`)
    return schema
  }

  function checkWrites(before: Map<string, { rows: number; digest: string }>, after: Map<string, { rows: number; digest: string }>, status: number) {
    if (status < 400) return undefined
    const authFailure = status === 401 || status === 403
    const changed: string[] = []
    for (const [name, then] of before) {
      const now = after.get(name)!
      // A refused login or token may leave a security event, and authentication may note a
      // session's last use; nothing else may change.
      if (name === 'security_events' && authFailure) continue
      if (then.rows !== now.rows) changed.push(`${name}: ${then.rows} → ${now.rows} rows`)
      else if (then.digest !== now.digest && name !== 'sessions' && name !== 'security_events') changed.push(`${name}: contents changed`)
    }
    return changed.length > 0 ? `a refused request (${status}) wrote: ${changed.join(', ')}` : undefined
  }

  it('never answers 5xx, always answers per the document, and writes nothing when it refuses', { timeout: 600_000 }, async () => {
    expect(operations.length).toBeGreaterThan(0)
    const failures: string[] = []
    for (const operation of operations) {
      if (ONLY && operation.name !== ONLY) continue
      const property = fc.asyncProperty(requestArbitrary(operation, resolve, Math.max(principals.length, 1)), async (request) => {
        const auth = await authorization(request)
        const before = await snapshot()
        const res = await t.app.inject({
          method: operation.method as 'GET',
          url: request.path + request.query,
          headers: {
            ...request.headers,
            ...(auth ? { authorization: auth } : {}),
            ...(request.body.contentType !== undefined ? { 'content-type': request.body.contentType } : {}),
          },
          ...(request.body.payload !== undefined ? { payload: request.body.payload } : {}),
        })
        const after = await snapshot()
        const counts = seen.get(operation.name) ?? {}
        counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1
        seen.set(operation.name, counts)
        // A success on an account operation may have ended the principal's session.
        if (res.statusCode < 300 && operation.method !== 'GET' && request.auth === 'bearer' && operation.path.startsWith('/v1/auth')) {
          principals.forEach((principal) => (principal.stale = true))
        }
        const problem = checkResponse(operation, res) ?? checkWrites(before, after, res.statusCode)
        if (problem) throw new Error(`${operation.name} [${request.body.kind}, auth ${request.auth}] ${request.path}${request.query.slice(0, 80)}: ${problem}`)
      })
      const run = await fc.check(property, { numRuns: RUNS, seed: SEED, endOnFailure: true })
      if (run.failed) {
        const error = run.errorInstance instanceof Error ? run.errorInstance.message : String(run.errorInstance)
        failures.push(
          `${error}\n  counterexample: ${fc.stringify(run.counterexample).slice(0, 800)}\n  replay: FUZZ_SEED=${SEED} FUZZ_ONLY="${operation.name}"`,
        )
      }
    }
    expect(({} as Record<string, unknown>).polluted, 'Object.prototype was polluted').toBeUndefined()
    expect(failures, `seed ${SEED}`).toEqual([])
  })

  // Not left to chance: PostgreSQL text cannot hold U+0000, so a NUL that reaches a query is a 500.
  it('refuses or ignores a NUL character in every string field of every body, never a 5xx', async () => {
    const failures: string[] = []
    for (const operation of operations) {
      const [contentType, media] = Object.entries(operation.spec.requestBody?.content ?? {})[0] ?? []
      if (!contentType || !media?.schema) continue
      const schema = media.schema.$ref ? resolve(media.schema.$ref) : media.schema
      // A fixed seed: the same few plausible bodies every run, each with one field poisoned.
      const bases = fc.sample(validValue(schema, resolve, 0, true) as Arbitrary<Record<string, unknown>>, { numRuns: 3, seed: 1 })
      const fields = Object.entries(schema.properties ?? {}).filter(([, property]) => JSON.stringify(property).includes('"string"'))
      for (const [field] of fields) {
        for (const [auth, base] of [['none', bases[0]], ['bearer', bases[1]], ['basic-client', bases[2]]] as const) {
          const header = await authorization({ auth, principal: 0 } as FuzzRequest)
          const before = await snapshot()
          const res = await t.app.inject({
            method: operation.method as 'POST',
            url: operation.path.replace(/\{[^}]+\}/g, '00000000-0000-0000-0000-000000000000'),
            headers: { 'content-type': contentType, ...(header ? { authorization: header } : {}) },
            payload: encode(contentType, { ...base, [field]: 'nul\u0000byte' }),
          })
          const after = await snapshot()
          if (res.statusCode < 300 && operation.path.startsWith('/v1/auth')) principals.forEach((principal) => (principal.stale = true))
          const problem = checkResponse(operation, res) ?? checkWrites(before, after, res.statusCode)
          if (problem) failures.push(`${operation.name} ${field} (${auth}): ${problem}`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('refuses a NUL character in credentials (HTTP Basic id or secret, the refresh cookie), never a 5xx', async () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
    const credentials = [
      { authorization: basic('\u0000', 'secret') },
      { authorization: basic('%00', 'secret') },
      { authorization: basic('tollgate-web', '\u0000') },
      { cookie: 'tollgate_refresh=%00' },
    ]
    const failures: string[] = []
    for (const operation of operations) {
      const [contentType, media] = Object.entries(operation.spec.requestBody?.content ?? {})[0] ?? []
      const bases = media?.schema ? fc.sample(validValue(media.schema, resolve, 0, true) as Arbitrary<Record<string, unknown>>, { numRuns: 4, seed: 1 }) : [undefined]
      for (const [headers, sample] of credentials.flatMap((headers) => bases.map((sample) => [headers, sample] as const))) {
        // Client credentials in the body as well as in Basic are refused before the lookup.
        const base = sample && Object.fromEntries(Object.entries(sample).filter(([name]) => !name.startsWith('client_')))
        const before = await snapshot()
        const res = await t.app.inject({
          method: operation.method as 'POST',
          url: operation.path.replace(/\{[^}]+\}/g, '00000000-0000-0000-0000-000000000000'),
          headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
          ...(contentType ? { payload: encode(contentType, base) } : {}),
        })
        const problem = checkResponse(operation, res) ?? checkWrites(before, await snapshot(), res.statusCode)
        if (problem) failures.push(`${operation.name} ${JSON.stringify(headers)}: ${problem}`)
      }
    }
    expect(failures).toEqual([])
  })
})
