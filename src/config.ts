import { isIP } from 'node:net'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { DEFAULT_SIGNING_ALGORITHMS, SIGNING_ALGORITHMS, type SigningAlgorithm } from './domain/keys/key-provider.js'

/**
 * Every setting tollgate reads, one entry per environment variable. The entry's schema both
 * validates the variable and types the resulting Config, so there is exactly one description of
 * the configuration; `.env.example` explains each variable and a test keeps the two in step.
 */
const Seconds = (defaultValue: number, minimum = 1) => Type.Integer({ minimum, default: defaultValue })
const Flag = (defaultValue: boolean) => Type.Boolean({ default: defaultValue })
const List = () => Type.Array(Type.String({ minLength: 1 }), { default: [] })
const Algorithm = () => Type.Union([Type.Literal('ES256'), Type.Literal('RS256'), Type.Literal('EdDSA')])
// 32 bytes in base64 or base64url, padded or not.
const KEY_PATTERN = '^[A-Za-z0-9+/_-]{43}=?$'

/** How to make a value for a key variable, said wherever one is refused. */
export const KEY_GENERATION_HINT = "generate one with: openssl rand -base64 32 | tr '+/' '-_' | tr -d '='"

/** The port of the internal metrics listener when NODE_ENV=production and METRICS_PORT is unset. */
export const DEFAULT_PRODUCTION_METRICS_PORT = 9464

export const ENVIRONMENT = {
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  ISSUER: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  // false | true | a hop count | a list of proxy addresses and CIDRs: see trustProxyOf().
  TRUST_PROXY: Type.String({ minLength: 1, default: 'false' }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  API_DOCS: Type.Optional(Type.Boolean()),

  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DATABASE_PREPARED_STATEMENTS: Flag(true),
  // Every wait on the database is bounded (README "When the database falters").
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 2000 }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 3000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 2000 }),
  DATABASE_LOCK_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 2000 }),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  DATABASE_KEEPALIVE_SECONDS: Seconds(10),
  DATA_DIR: Type.String({ minLength: 1, default: './.data' }),
  MIGRATE_ON_START: Flag(true),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[\\x21-\\x7E]{1,64}$', default: 'tollgate:' }),

  KEY_ENCRYPTION_KEY: Type.Optional(Type.String({ pattern: KEY_PATTERN })),
  KEY_ENCRYPTION_KEY_PREVIOUS: Type.Optional(Type.String({ pattern: KEY_PATTERN })),
  // Each listed algorithm has its own rotating keys, all in the JWKS; the first signs access tokens.
  SIGNING_ALGORITHMS: Type.Array(Algorithm(), {
    minItems: 1,
    uniqueItems: true,
    default: [...DEFAULT_SIGNING_ALGORITHMS],
  }),
  // audience=ALG pairs: access tokens for that audience are signed with ALG (a client's own --alg wins).
  SIGNING_ALG_BY_AUDIENCE: Type.Array(Type.String({ pattern: `^[\\x21-\\x3C\\x3E-\\x7E]+=(${SIGNING_ALGORITHMS.join('|')})$` }), { default: [] }),
  // Deprecated (one algorithm only, before SIGNING_ALGORITHMS): read as that algorithm first.
  SIGNING_ALG: Type.Optional(Algorithm()),
  KEY_ROTATION_INTERVAL_SECONDS: Seconds(30 * 24 * 3600, 60),
  KEY_REFRESH_INTERVAL_SECONDS: Seconds(60),
  JWKS_MAX_AGE_SECONDS: Seconds(600),
  ACCESS_TOKEN_TTL_SECONDS: Seconds(600),
  ACCESS_TOKEN_AUDIENCE: Type.String({ minLength: 1, default: 'tollgate' }),
  REVOCATIONS_MAX_AGE_SECONDS: Seconds(5, 0),
  OAUTH_CLIENT_CACHE_SECONDS: Seconds(5, 0),

  FIRST_PARTY_CLIENT_ID: Type.String({ minLength: 1, default: 'tollgate-web' }),
  // The admin scopes (admin:read, admin:write) belong to clients only: never to a user's tokens.
  DEFAULT_SCOPES: Type.Array(Type.String({ pattern: '^(?!admin:)[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }), { default: ['cart'] }),
  REFRESH_GRACE_SECONDS: Seconds(10, 0),
  REFRESH_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 100 })),
  SESSION_IDLE_TTL_SECONDS: Seconds(7 * 24 * 3600),
  SESSION_ABSOLUTE_TTL_SECONDS: Seconds(30 * 24 * 3600),
  MAX_SESSIONS_PER_USER: Type.Integer({ minimum: 1, default: 10 }),
  REUSE_REVOKES: Type.Union([Type.Literal('session'), Type.Literal('user')], { default: 'session' }),
  SESSION_BINDING: Type.Union([Type.Literal('off'), Type.Literal('flag'), Type.Literal('strict')], { default: 'flag' }),
  PURGE_INTERVAL_SECONDS: Seconds(3600, 0),
  SECURITY_EVENT_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 90 }),

  DPOP_IAT_WINDOW_SECONDS: Type.Integer({ minimum: 5, maximum: 600, default: 60 }),
  DPOP_NONCE_REQUIRED: Flag(false),

  COOKIE_SECURE: Flag(true),
  ALLOWED_ORIGINS: List(),
  CORS_ORIGINS: List(),

  ARGON2_MEMORY_KIB: Type.Integer({ minimum: 19456, default: 19456 }),
  ARGON2_ITERATIONS: Type.Integer({ minimum: 2, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),

  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 16 * 1024 }),
  REQUEST_TIMEOUT_SECONDS: Seconds(10),
  HEADERS_TIMEOUT_SECONDS: Seconds(5),
  KEEP_ALIVE_TIMEOUT_SECONDS: Seconds(5),
  CONNECTION_TIMEOUT_SECONDS: Seconds(10),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 10_000 }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  SHUTDOWN_TIMEOUT_SECONDS: Seconds(10),
  DRAIN_DELAY_SECONDS: Seconds(5, 0),

  RATE_LIMIT_LOGIN_PER_IP: Type.Integer({ minimum: 1, default: 20 }),
  RATE_LIMIT_LOGIN_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 5 }),
  RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: Type.Integer({ minimum: 1, default: 30 }),
  RATE_LIMIT_REGISTER_PER_IP: Type.Integer({ minimum: 1, default: 10 }),
  RATE_LIMIT_REFRESH_PER_IP: Type.Integer({ minimum: 1, default: 120 }),
  RATE_LIMIT_REFRESH_PER_SESSION: Type.Integer({ minimum: 1, default: 30 }),
  RATE_LIMIT_TOKEN_PER_CLIENT: Type.Integer({ minimum: 1, default: 600 }),
  RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP: Type.Integer({ minimum: 1, default: 20 }),
  RATE_LIMIT_WINDOW_SECONDS: Seconds(60),
  RATE_LIMIT_ENABLED: Flag(true),
} satisfies Record<string, TSchema>

const EnvironmentSchema = Type.Object(ENVIRONMENT)
type Environment = Static<typeof EnvironmentSchema>

/**
 * Which peers' X-Forwarded-For to believe, in the forms Fastify's `trustProxy` takes: nobody, every
 * hop (only safe when the edge proxy overwrites the header), the last n hops, or the listed proxy
 * addresses and CIDRs (and proxy-addr's `loopback`, `linklocal`, `uniquelocal`).
 */
export type TrustProxy = boolean | number | string[]

export type Config = Omit<Environment, 'API_DOCS' | 'TRUST_PROXY' | 'SIGNING_ALG' | 'SIGNING_ALGORITHMS' | 'REFRESH_TIMEOUT_MS'> & {
  /** The bound of a refresh: REFRESH_TIMEOUT_MS, by default half the grace window and at most 5 s. */
  REFRESH_TIMEOUT_MS: number
  TRUST_PROXY: TrustProxy
  /** The default (access tokens) first; SIGNING_ALG, if set, already folded in. */
  SIGNING_ALGORITHMS: SigningAlgorithm[]
  HOST: string
  ISSUER: string
  /** Serve /docs and /openapi.json: API_DOCS, by default on outside production. */
  API_DOCS: boolean
  /** True when no DATABASE_URL was given and the embedded PGlite serves the database. */
  embeddedDatabase: boolean
}

/** EX_CONFIG: the exit code of a bad configuration (or a key it names that does not fit). */
export const EXIT_CONFIG = 78

/** One refused variable: its name and what is wrong with it. */
export interface ConfigProblem {
  variable: string
  message: string
}

/** Every refused variable at once, one line each, so one edit of .env fixes them all. */
export class ConfigError extends Error {
  /** The first refused variable. */
  readonly variable: string
  readonly problems: readonly ConfigProblem[]

  constructor(problems: readonly ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map(({ variable, message }) => `  ${variable} ${message}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
    this.variable = problems[0]!.variable
  }
}

const LIST_VARIABLES = new Set(
  Object.entries(ENVIRONMENT)
    .filter(([, schema]) => (schema as TSchema & { type?: string }).type === 'array')
    .map(([name]) => name),
)

function fromEnvironmentString(name: string, raw: string): unknown {
  if (LIST_VARIABLES.has(name)) {
    return raw
      .split(/[\s,]+/)
      .map((part) => part.trim())
      .filter(Boolean)
  }
  return raw
}

/** Allowed values of an enumerated variable, or undefined. */
function allowedValues(schema: TSchema): string[] | undefined {
  const options = (schema as { anyOf?: Array<{ const?: unknown }>; items?: { anyOf?: Array<{ const?: unknown }> } }).anyOf
  return options?.every((option) => typeof option.const === 'string') ? options.map((option) => option.const as string) : undefined
}

/** What a variable accepts, in words, for the error message. */
function expectation(name: string, schema: TSchema & { type?: string; minimum?: number; maximum?: number; pattern?: string }): string {
  const allowed = allowedValues(schema)
  if (allowed) return `must be one of: ${allowed.join(', ')}`
  const items = schema.type === 'array' ? allowedValues((schema as TSchema & { items: TSchema }).items) : undefined
  if (items) return `must be a comma-separated list of distinct values among: ${items.join(', ')}`
  if (name.startsWith('KEY_ENCRYPTION_KEY')) return `must be 32 random bytes, base64url-encoded (43 characters); ${KEY_GENERATION_HINT}`
  if (schema.type === 'boolean') return 'must be true or false'
  if (schema.type === 'integer') {
    const range = [schema.minimum === undefined ? '' : `>= ${schema.minimum}`, schema.maximum === undefined ? '' : `<= ${schema.maximum}`]
    return `must be a whole number${range.some(Boolean) ? ` ${range.filter(Boolean).join(' and ')}` : ''}`
  }
  if (name === 'DATABASE_URL') return 'must be a postgres:// or postgresql:// URL'
  if (name === 'REDIS_URL') return 'must be a redis:// or rediss:// URL'
  if (name === 'ISSUER') return 'must be an http:// or https:// URL'
  if (name === 'SIGNING_ALG_BY_AUDIENCE') return `must be a comma-separated list of audience=ALG pairs, ALG one of ${SIGNING_ALGORITHMS.join(', ')}`
  if (name === 'DEFAULT_SCOPES') return 'must be scope tokens (RFC 6749), none of them admin:*, which only clients may hold'
  return 'is not valid'
}

/**
 * Reads and validates the environment. Throws a ConfigError naming every bad variable, with what
 * each accepts. Empty strings count as unset, as they do in most .env tooling.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, unknown> = {}
  for (const name of Object.keys(ENVIRONMENT)) {
    const raw = env[name]
    if (raw !== undefined && raw.trim() !== '') input[name] = fromEnvironmentString(name, raw.trim())
  }

  const converted = Value.Convert(EnvironmentSchema, Value.Default(EnvironmentSchema, input))
  const problems = new Map<string, string>()
  // Each variable on its own, so that every bad one is reported, not only the first.
  for (const [variable, schema] of Object.entries(ENVIRONMENT) as Array<[string, TSchema]>) {
    const value = (converted as Record<string, unknown>)[variable]
    if (value === undefined || Value.Check(schema, value)) continue
    // A key is never echoed back: it may be a real one with a typo.
    const got = variable.startsWith('KEY_ENCRYPTION_KEY') ? '' : ` (got ${JSON.stringify(env[variable]?.trim() ?? null)})`
    problems.set(variable, `${expectation(variable, schema)}${got}`)
  }
  const parsed = converted as Environment
  const rule = (variable: string, message: string) => {
    if (!problems.has(variable)) problems.set(variable, message)
  }
  if (parsed.SESSION_IDLE_TTL_SECONDS > parsed.SESSION_ABSOLUTE_TTL_SECONDS) {
    rule('SESSION_IDLE_TTL_SECONDS', 'must not exceed SESSION_ABSOLUTE_TTL_SECONDS')
  }
  // The server cancels a slow statement (keeping the connection) before the client gives up on it
  // (and throws the connection away).
  if (parsed.DATABASE_STATEMENT_TIMEOUT_MS >= parsed.DATABASE_QUERY_TIMEOUT_MS) {
    rule('DATABASE_STATEMENT_TIMEOUT_MS', `must be below DATABASE_QUERY_TIMEOUT_MS (${parsed.DATABASE_QUERY_TIMEOUT_MS})`)
  }
  const refreshTimeoutMs = refreshBound(parsed)
  if (parsed.REFRESH_GRACE_SECONDS > 0 && refreshTimeoutMs * 2 > parsed.REFRESH_GRACE_SECONDS * 1000) {
    rule(
      'REFRESH_TIMEOUT_MS',
      `must be at most half of REFRESH_GRACE_SECONDS (${parsed.REFRESH_GRACE_SECONDS * 500} ms), so that a client retrying a refresh whose reply was lost lands inside the grace window`,
    )
  }
  if (parsed.KEY_ENCRYPTION_KEY_PREVIOUS && !parsed.KEY_ENCRYPTION_KEY) {
    rule('KEY_ENCRYPTION_KEY_PREVIOUS', 'needs KEY_ENCRYPTION_KEY (the new key) beside it')
  }
  if (parsed.NODE_ENV === 'production') {
    if (!parsed.DATABASE_URL) rule('DATABASE_URL', 'is required when NODE_ENV=production')
    if (!parsed.KEY_ENCRYPTION_KEY) rule('KEY_ENCRYPTION_KEY', `is required when NODE_ENV=production; ${KEY_GENERATION_HINT}`)
    if (!parsed.ISSUER) rule('ISSUER', "is required when NODE_ENV=production: the public URL clients reach, every token's iss")
  }
  const signingAlgorithms: SigningAlgorithm[] = [...parsed.SIGNING_ALGORITHMS]
  if (parsed.SIGNING_ALG && !env.SIGNING_ALGORITHMS?.trim()) {
    signingAlgorithms.splice(0, signingAlgorithms.length, parsed.SIGNING_ALG, ...signingAlgorithms.filter((alg) => alg !== parsed.SIGNING_ALG))
  } else if (parsed.SIGNING_ALG && parsed.SIGNING_ALG !== signingAlgorithms[0]) {
    rule('SIGNING_ALG', `is replaced by SIGNING_ALGORITHMS and contradicts it (its first algorithm signs access tokens): remove SIGNING_ALG`)
  }
  const unlisted = parsed.SIGNING_ALG_BY_AUDIENCE.find((pair) => !(signingAlgorithms as string[]).includes(pair.split('=')[1]!))
  if (unlisted) rule('SIGNING_ALG_BY_AUDIENCE', `names an algorithm SIGNING_ALGORITHMS does not list (${unlisted})`)
  const trustProxy = trustProxyOf(parsed.TRUST_PROXY)
  if (trustProxy === undefined) {
    rule('TRUST_PROXY', `must be false, true, a hop count, or a comma-separated list of proxy addresses or CIDRs (got ${JSON.stringify(parsed.TRUST_PROXY)})`)
  }
  if (problems.size || trustProxy === undefined) throw new ConfigError([...problems].map(([variable, message]) => ({ variable, message })))

  const production = parsed.NODE_ENV === 'production'
  const metricsPort = parsed.METRICS_PORT ?? (production ? DEFAULT_PRODUCTION_METRICS_PORT : undefined)
  const { SIGNING_ALG: _deprecated, ...settings } = parsed
  return {
    ...settings,
    SIGNING_ALGORITHMS: signingAlgorithms,
    TRUST_PROXY: trustProxy,
    HOST: parsed.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    ISSUER: (parsed.ISSUER ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, ''),
    ...(metricsPort === undefined ? {} : { METRICS_PORT: metricsPort }),
    API_DOCS: parsed.API_DOCS ?? !production,
    REFRESH_TIMEOUT_MS: refreshTimeoutMs,
    embeddedDatabase: parsed.DATABASE_URL === undefined,
  }
}

/** The longest a refresh may take before it answers 503: a retry must still land in the grace window. */
const MAX_DEFAULT_REFRESH_TIMEOUT_MS = 5000

function refreshBound(parsed: Pick<Environment, 'REFRESH_TIMEOUT_MS' | 'REFRESH_GRACE_SECONDS'>): number {
  if (parsed.REFRESH_TIMEOUT_MS !== undefined) return parsed.REFRESH_TIMEOUT_MS
  if (parsed.REFRESH_GRACE_SECONDS === 0) return MAX_DEFAULT_REFRESH_TIMEOUT_MS
  return Math.min(MAX_DEFAULT_REFRESH_TIMEOUT_MS, parsed.REFRESH_GRACE_SECONDS * 500)
}

const PROXY_ADDR_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_ADDR_NAMES.has(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const version = isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)
}

function trustProxyOf(raw: string): TrustProxy | undefined {
  const value = raw.trim().toLowerCase()
  if (value === 'false') return false
  if (value === 'true') return true
  if (/^\d{1,3}$/.test(value)) return Number(value) === 0 ? false : Number(value)
  const entries = value.split(/[\s,]+/).filter(Boolean)
  return entries.length > 0 && entries.every(isAddressOrCidr) ? entries : undefined
}
