// Writes postman/tollgate.postman_collection.json from openapi.yaml (npm run postman:generate), or
// with --check fails when the committed collection differs from what openapi.yaml produces
// (npm run postman:check). The collection is openapi-to-postmanv2's conversion (one folder per tag,
// every operation with its documented examples), plus a "Flow" folder whose test scripts chain a
// real session: register → login → cart add/list → refresh → logout, asserting statuses and shapes
// against the document's own schemas.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parse } from 'yaml'

const SOURCE = new URL('../openapi.yaml', import.meta.url)
const TARGET = new URL('../postman/tollgate.postman_collection.json', import.meta.url)

interface Converter {
  convertV2(
    input: { type: 'string'; data: string },
    options: Record<string, unknown>,
    callback: (error: Error | null, result: { result: boolean; reason?: string; output: Array<{ data: Collection }> }) => void,
  ): void
}
type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
interface Collection {
  info: { _postman_id?: string; name: string; schema: string; description?: unknown }
  item: Array<Record<string, Json>>
  variable?: Array<{ key: string; value: string; type?: string; description?: string }>
  event?: unknown[]
  [key: string]: unknown
}
type Schema = { [key: string]: Json }
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> }>>
  components: { schemas: Record<string, Schema> }
}

const require = createRequire(import.meta.url)
const converter = require('openapi-to-postmanv2') as Converter
// The converter fakes a value for a field without an example through json-schema-faker, whose string
// length is drawn from Math.random: a field with `minLength: 1` came out "st" instead of "string" in
// about one conversion in ten, and the drift check failed at random. Seeded, the conversion is a
// function of openapi.yaml alone. (The converter loads this same module instance.)
const schemaFaker = require('openapi-to-postmanv2/assets/json-schema-faker.js') as { option(options: { random: () => number }): void }
schemaFaker.option({ random: seededRandom(0x7011_6a7e) })

/** mulberry32: a small, well-mixed 32-bit generator, enough to make fake values reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const text = readFileSync(SOURCE, 'utf8')
const document = parse(text) as OpenApiDocument

function convert(): Promise<Collection> {
  return new Promise((resolve, reject) => {
    converter.convertV2(
      { type: 'string', data: text },
      { folderStrategy: 'Tags', parametersResolution: 'Example', requestNameSource: 'Fallback', includeAuthInfoInExample: false, schemaFaker: false },
      (error, result) => {
        if (error) reject(error)
        else if (!result.result) reject(new Error(`openapi-to-postmanv2: ${result.reason}`))
        else resolve(result.output[0]!.data)
      },
    )
  })
}

/** A response schema from the document, with its $refs inlined: Postman checks it with `pm.response.to.have.jsonSchema`. */
function responseSchema(path: string, method: string, status: number, mediaType = 'application/json'): Schema {
  const schema = document.paths[path]?.[method]?.responses[String(status)]?.content?.[mediaType]?.schema
  if (!schema) throw new Error(`openapi.yaml documents no ${mediaType} ${status} for ${method.toUpperCase()} ${path}`)
  const inline = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(inline)
    if (value === null || typeof value !== 'object') return value
    if (typeof value.$ref === 'string') return inline(document.components.schemas[value.$ref.replace('#/components/schemas/', '')]!)
    // Annotations only: Postman's validator needs none of them.
    return Object.fromEntries(Object.entries(value).filter(([key]) => !['examples', 'example', 'description', 'title'].includes(key)).map(([key, sub]) => [key, inline(sub)]))
  }
  return inline(schema) as Schema
}

const script = (...lines: string[]) => ({ listen: 'test', script: { type: 'text/javascript', exec: lines } })
const prerequest = (...lines: string[]) => ({ listen: 'prerequest', script: { type: 'text/javascript', exec: lines } })
const expectStatus = (status: number) => `pm.test('status ${status}', () => pm.response.to.have.status(${status}));`
const expectSchema = (name: string, schema: Schema) =>
  `pm.test('${name} matches openapi.yaml', () => pm.response.to.have.jsonSchema(${JSON.stringify(schema)}));`
const json = (body: Json) => ({ mode: 'raw', raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' } } })
const url = (path: string) => ({ raw: `{{baseUrl}}${path}`, host: ['{{baseUrl}}'], path: path.split('/').slice(1) })
const bearer = { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] }
const JSON_HEADERS = [
  { key: 'Content-Type', value: 'application/json' },
  { key: 'Accept', value: 'application/json' },
]

function step(name: string, method: string, path: string, options: { body?: Json; auth?: object; events: object[]; description: string }) {
  return {
    name,
    event: options.events,
    request: {
      method,
      header: options.body === undefined ? [{ key: 'Accept', value: 'application/json' }] : JSON_HEADERS,
      url: url(path),
      ...(options.body === undefined ? {} : { body: json(options.body) }),
      auth: options.auth ?? { type: 'noauth' },
      description: options.description,
    },
  }
}

function flowFolder() {
  const tokenSchema = responseSchema('/v1/auth/login', 'post', 200)
  return {
    name: 'Flow',
    description:
      'A whole session, in order: register → login → add to the cart → list it → refresh → log out, then check that the ' +
      'session is over. Each request tests its status and checks its body against the schema in openapi.yaml, and passes ' +
      'the tokens on to the next through the collection variables. Run it with the collection runner or ' +
      '`newman run postman/tollgate.postman_collection.json --folder Flow --env-var baseUrl=http://localhost:3000`.',
    item: [
      step('Register', 'POST', '/v1/auth/register', {
        description: 'Creates the account; a fresh email is made up when the `email` variable is empty.',
        body: { email: '{{email}}', password: '{{password}}', name: 'Postman' },
        events: [
          prerequest(
            "if (!pm.variables.get('email')) pm.collectionVariables.set('email', `postman-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`);",
          ),
          script(
            expectStatus(201),
            expectSchema('the user', responseSchema('/v1/auth/register', 'post', 201)),
            "pm.test('the email is stored lower-cased', () => pm.expect(pm.response.json().email).to.eql(pm.variables.get('email').trim().toLowerCase()));",
          ),
        ],
      }),
      step('Log in', 'POST', '/v1/auth/login', {
        description: 'Starts a session: keeps the access and refresh tokens in the collection variables.',
        body: { email: '{{email}}', password: '{{password}}' },
        events: [
          script(
            expectStatus(200),
            expectSchema('the token response', tokenSchema),
            "pm.test('never cached', () => pm.response.to.have.header('Cache-Control', 'no-store'));",
            "pm.test('sets the refresh cookie', () => pm.expect(pm.response.headers.get('Set-Cookie') || '').to.match(/tollgate_refresh=/));",
            'const tokens = pm.response.json();',
            "pm.collectionVariables.set('accessToken', tokens.access_token);",
            "pm.collectionVariables.set('refreshToken', tokens.refresh_token);",
          ),
        ],
      }),
      step('Add to the cart', 'POST', '/v1/cart/items', {
        description: 'Adds two of one sku with the access token.',
        auth: bearer,
        body: { sku: 'POSTMAN-TEA-250G', quantity: 2 },
        events: [
          script(
            expectStatus(201),
            expectSchema('the item', responseSchema('/v1/cart/items', 'post', 201)),
            "pm.test('the item has the quantity added', () => pm.expect(pm.response.json()).to.include({ sku: 'POSTMAN-TEA-250G', quantity: 2 }));",
            "pm.test('answers the cart version as ETag', () => pm.response.to.have.header('ETag'));",
            "pm.collectionVariables.set('itemId', pm.response.json().id);",
          ),
        ],
      }),
      step('List the cart', 'GET', '/v1/cart/items', {
        description: 'Reads the cart back.',
        auth: bearer,
        events: [
          script(
            expectStatus(200),
            expectSchema('the cart', responseSchema('/v1/cart/items', 'get', 200)),
            "pm.test('holds the item just added', () => pm.expect(pm.response.json().items.map((item) => item.id)).to.include(pm.collectionVariables.get('itemId')));",
          ),
        ],
      }),
      step('Refresh', 'POST', '/v1/auth/refresh', {
        description: 'Rotates the refresh token: the answer carries the next one, which replaces it in the variables.',
        body: { refresh_token: '{{refreshToken}}' },
        events: [
          script(
            expectStatus(200),
            expectSchema('the token response', tokenSchema),
            'const tokens = pm.response.json();',
            "pm.test('rotates the refresh token', () => pm.expect(tokens.refresh_token).to.not.eql(pm.collectionVariables.get('refreshToken')));",
            "pm.collectionVariables.set('previousRefreshToken', pm.collectionVariables.get('refreshToken'));",
            "pm.collectionVariables.set('accessToken', tokens.access_token);",
            "pm.collectionVariables.set('refreshToken', tokens.refresh_token);",
          ),
        ],
      }),
      step('List the cart with the new access token', 'GET', '/v1/cart/items', {
        description: 'The refreshed access token works.',
        auth: bearer,
        events: [script(expectStatus(200), expectSchema('the cart', responseSchema('/v1/cart/items', 'get', 200)))],
      }),
      step('Log out', 'POST', '/v1/auth/logout', {
        description: 'Ends the session of the current refresh token.',
        body: { refresh_token: '{{refreshToken}}' },
        events: [script(expectStatus(204), "pm.test('no body', () => pm.expect(pm.response.text()).to.eql(''));")],
      }),
      step('Refresh after logout is refused', 'POST', '/v1/auth/refresh', {
        description: 'The session is over: its refresh token gets 401 invalid_grant, as problem+json.',
        body: { refresh_token: '{{refreshToken}}' },
        events: [
          script(
            expectStatus(401),
            "pm.test('answers problem+json', () => pm.expect(pm.response.headers.get('Content-Type')).to.match(/^application\\/problem\\+json/));",
            expectSchema('the problem', responseSchema('/v1/auth/refresh', 'post', 401, 'application/problem+json')),
            "pm.test('code invalid_grant', () => pm.expect(pm.response.json().code).to.eql('invalid_grant'));",
          ),
        ],
      }),
    ],
  }
}

/**
 * The admin folder authenticates as an admin client, with client_credentials: a pre-request script
 * (run by Postman and newman alike) gets a token with the client's scopes when there is none or it
 * is about to expire, and every request of the folder sends it as its bearer token.
 */
function withAdminAuth(folder: Record<string, Json>): Record<string, Json> {
  const items = (folder.item ?? []) as Array<Record<string, Json>>
  for (const item of items) delete (item.request as Record<string, Json>).auth
  return {
    ...folder,
    item: items,
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{adminAccessToken}}', type: 'string' }] },
    event: [
      prerequest(
        "const expiresAt = Number(pm.collectionVariables.get('adminAccessTokenExpiresAt') || 0);",
        "if (!pm.collectionVariables.get('adminAccessToken') || Date.now() > expiresAt - 30000) {",
        '  pm.sendRequest({',
        "    url: pm.variables.get('baseUrl') + '/oauth/token',",
        "    method: 'POST',",
        '    body: {',
        "      mode: 'urlencoded',",
        '      urlencoded: [',
        "        { key: 'grant_type', value: 'client_credentials' },",
        "        { key: 'client_id', value: pm.variables.get('adminClientId') },",
        "        { key: 'client_secret', value: pm.variables.get('adminClientSecret') },",
        '      ],',
        '    },',
        '  }, (error, response) => {',
        "    if (error || response.code !== 200) throw new Error('client_credentials for the admin client failed: set adminClientId and adminClientSecret');",
        '    const token = response.json();',
        "    pm.collectionVariables.set('adminAccessToken', token.access_token);",
        "    pm.collectionVariables.set('adminAccessTokenExpiresAt', String(Date.now() + token.expires_in * 1000));",
        '  });',
        '}',
      ),
    ],
  }
}

/** Postman's in-app callback URL (with useBrowser, Postman uses https://oauth.pstmn.io/v1/browser-callback instead). */
const POSTMAN_CALLBACK = 'https://oauth.pstmn.io/v1/callback'

/**
 * The oidc folder signs in with Postman's OAuth 2.0 helper, "Authorization Code (With PKCE)": a
 * public client registered for Postman's callback URLs (README: "Postman's OAuth 2.0 helper"), S256,
 * the client id in the token request's body (no secret). Keys as Postman exports them (Collection
 * v2.1 `auth.oauth2`).
 */
function withAuthorizationCode(folder: Record<string, Json>): Record<string, Json> {
  const items = (folder.item ?? []) as Array<Record<string, Json>>
  for (const item of items) {
    const request = item.request as Record<string, Json>
    // A request without auth inherits the folder's: the bearer-token ones (userinfo) take the
    // helper's token; the pages a browser opens send none.
    if ((request.auth as { type?: string } | undefined)?.type === 'bearer') delete request.auth
    else request.auth ??= { type: 'noauth' }
  }
  const entry = (key: string, value: string | boolean) => ({ key, value, type: typeof value === 'boolean' ? 'boolean' : 'string' })
  return {
    ...folder,
    item: items,
    auth: {
      type: 'oauth2',
      oauth2: [
        entry('grant_type', 'authorization_code_with_pkce'),
        entry('authUrl', '{{baseUrl}}/oauth/authorize'),
        entry('accessTokenUrl', '{{baseUrl}}/oauth/token'),
        entry('refreshTokenUrl', '{{baseUrl}}/oauth/token'),
        entry('clientId', '{{postmanClientId}}'),
        entry('clientSecret', ''),
        entry('client_authentication', 'body'),
        entry('redirect_uri', POSTMAN_CALLBACK),
        entry('useBrowser', false),
        entry('scope', '{{postmanScope}}'),
        entry('challengeAlgorithm', 'S256'),
        entry('state', '{{$randomUUID}}'),
        entry('tokenName', 'tollgate (authorization code + PKCE)'),
        entry('addTokenTo', 'header'),
      ],
    },
  }
}

const VARIABLES = [
  { key: 'baseUrl', value: 'http://localhost:3000', description: 'Where tollgate runs.' },
  { key: 'email', value: '', description: 'The account of the Flow folder; a fresh one is made up when empty.' },
  { key: 'password', value: 'a long and unusual passphrase', description: 'Its password.' },
  { key: 'accessToken', value: '', description: 'Set by Log in and Refresh; sent as the bearer token.' },
  { key: 'refreshToken', value: '', description: 'Set by Log in and Refresh: always the newest.' },
  { key: 'clientId', value: '', description: 'An OAuth client (`tollgate clients create`), for the oauth folder.' },
  { key: 'clientSecret', value: '', description: 'Its secret.' },
  {
    key: 'adminClientId',
    value: '',
    description: 'A client allowed the admin scopes (`tollgate clients create --name ops --scopes "admin:read admin:write"`), for the admin folder.',
  },
  { key: 'adminClientSecret', value: '', description: 'Its secret.' },
  {
    key: 'postmanClientId',
    value: '',
    description:
      "A public client registered for Postman's callback URLs (README: \"Postman's OAuth 2.0 helper\"), for the oidc folder's " +
      'Authorization Code (With PKCE) setup: Get New Access Token signs in at tollgate\'s login page.',
  },
  { key: 'postmanScope', value: 'openid profile email offline_access', description: 'The scopes Postman asks that client for.' },
  { key: 'adminAccessToken', value: '', description: "Set by the admin folder's pre-request script (client_credentials)." },
  { key: 'adminAccessTokenExpiresAt', value: '', description: 'When that token expires (ms since the epoch).' },
]

// The converter names its variables after the security schemes' kinds: use the collection's.
const RENAMED_VARIABLES: Record<string, string> = {
  bearerToken: 'accessToken',
  apiKey: 'refreshToken',
  basicAuthUsername: 'clientId',
  basicAuthPassword: 'clientSecret',
}

/** Ids derived from each node's place in the collection, so that regenerating changes nothing. */
function stableIds(node: unknown, at: string): void {
  if (Array.isArray(node)) return node.forEach((child, i) => stableIds(child, `${at}/${i}`))
  if (typeof node !== 'object' || node === null) return
  const record = node as Record<string, unknown>
  for (const [key, value] of Object.entries(record)) {
    if ((key === 'id' || key === '_postman_id') && typeof value === 'string') record[key] = uuidFrom(`${at}/${String(record.name ?? '')}`)
    else stableIds(value, `${at}/${key}`)
  }
}

function uuidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`
}

/**
 * A DPoP proof is signed by the client's key for one request and used once: no value Postman could
 * store works, and a stale one would turn every request into 400 or 401 invalid_dpop_proof. The
 * header stays listed, switched off.
 */
function disableDpopHeaders(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(disableDpopHeaders)
  if (typeof node !== 'object' || node === null) return
  const record = node as Record<string, unknown>
  if (typeof record.key === 'string' && record.key.toLowerCase() === 'dpop' && 'value' in record) record.disabled = true
  for (const value of Object.values(record)) disableDpopHeaders(value)
}

const converted = await convert()
let serialized = JSON.stringify(converted)
for (const [from, to] of Object.entries(RENAMED_VARIABLES)) serialized = serialized.replaceAll(`{{${from}}}`, `{{${to}}}`)
const collection = JSON.parse(serialized) as Collection
collection.item = [flowFolder(), ...collection.item.map((folder) => (folder.name === 'admin' ? withAdminAuth(folder) : folder.name === 'oidc' ? withAuthorizationCode(folder) : folder))] as Collection['item']
collection.variable = VARIABLES.map((variable) => ({ ...variable, type: 'string' }))
disableDpopHeaders(collection)
stableIds(collection, 'tollgate')
const output = `${JSON.stringify(collection, null, 2)}\n`

if (process.argv.includes('--check')) {
  let committed = ''
  try {
    committed = readFileSync(TARGET, 'utf8')
  } catch {
    // A missing collection is drift too.
  }
  if (committed !== output) {
    console.error('postman/tollgate.postman_collection.json is out of date with openapi.yaml: run `npm run postman:generate` and commit the result.')
    process.exit(1)
  }
  console.log('postman/tollgate.postman_collection.json matches openapi.yaml.')
} else {
  mkdirSync(new URL('.', TARGET), { recursive: true })
  writeFileSync(TARGET, output)
  console.log('wrote postman/tollgate.postman_collection.json')
}
