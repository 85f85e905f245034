import { createHash } from 'node:crypto'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { normalizeEmail } from '../domain/accounts/email.js'
import { parseBasicCredentials } from './authorization.js'
import { REFRESH_COOKIE_NAME } from './refresh-cookie.js'

/**
 * One counter. `key` names the bucket a request falls into, or undefined when the rule does not
 * apply to it (no email in the body, no refresh token, ...). Rules that read the body run in
 * preHandler, after parsing and validation; the others in onRequest, before any parsing.
 */
export interface RateLimitRule {
  readonly name: string
  readonly hook: 'onRequest' | 'preHandler'
  readonly max: (config: Config) => number
  /** Each request over the limit doubles the wait (@fastify/rate-limit's exponentialBackoff). */
  readonly backoff?: boolean
  readonly key: (request: FastifyRequest) => string | undefined
  /**
   * Which answers the counter keeps; the others are given back once the answer is known. Every
   * request still takes its place in the counter before it is handled, so a burst of parallel
   * requests is capped like a sequence: only what comes back is refunded. Without it, every
   * request counts.
   */
  readonly counts?: (reply: FastifyReply) => boolean
}

/** Refused requests only: a success (and a server-side failure, which is not the caller's) is given back. */
const failures = (reply: FastifyReply) => reply.statusCode >= 400 && reply.statusCode < 500

const refusedSignIns = new WeakSet<FastifyRequest>()

/**
 * Tells the login rules that this request's sign-in was refused although its answer is not an
 * error: the login page shows a refused password again, with a 200.
 */
export function markSignInRefused(request: FastifyRequest): void {
  refusedSignIns.add(request)
}

/**
 * Failed sign-ins only: refused answers (4xx), and login pages shown again after a refused
 * password (markSignInRefused). A success, and a server-side failure, are given back.
 */
function failedSignIns(reply: FastifyReply): boolean {
  if (reply.statusCode >= 500) return false
  return reply.statusCode >= 400 || refusedSignIns.has(reply.request)
}

/** Failed client authentication (401 invalid_client) only. */
const clientAuthFailures = (reply: FastifyReply) => reply.statusCode === 401

const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32)

/** The client address, IPv6 folded to its /64 so that one host cannot rotate through its subnet. */
export const clientAddress = (request: FastifyRequest) => normalizeIP(request.ip)

function bodyField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** An account's counter key: emails compare as the accounts compare them; the key holds a digest, never the address itself. */
export function accountKey(email: string): string | undefined {
  const normalized = normalizeEmail(email)
  return normalized ? digest(normalized) : undefined
}

export function accountOf(request: FastifyRequest): string | undefined {
  const raw = bodyField(request, 'email')
  return raw === undefined ? undefined : accountKey(raw)
}

/** The presented refresh token (body first, then the cookie), as a digest: tokens never become keys. */
export function refreshTokenOf(request: FastifyRequest): string | undefined {
  const token = bodyField(request, 'refresh_token') ?? request.cookies?.[REFRESH_COOKIE_NAME]
  return token ? digest(token) : undefined
}

/**
 * The credentials an OAuth request authenticates with: HTTP Basic (RFC 6749 §2.3.1, form-encoded
 * id) or client_secret_post, as `<client id>:<digest of the secret>`. The secret is part of the key
 * so that only a caller who knows it can spend the client's budget: a stranger's wrong secrets
 * land in buckets of their own (and are capped per address by the client-authentication failure
 * rule), never in the real client's. A public client (client_id alone) is not counted per client:
 * every user of the first-party client shares that id, and their refreshes are counted per IP and
 * per token.
 */
export function authenticatedClientOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  const basic = header && /^basic /i.test(header) ? parseBasicCredentials(header) : undefined
  const clientId = basic ? basic.clientId : bodyField(request, 'client_id')
  const secret = basic ? basic.clientSecret : bodyField(request, 'client_secret')
  return clientId && secret ? `${clientId}:${digest(secret)}` : undefined
}

const isRefreshGrant = (request: FastifyRequest) => bodyField(request, 'grant_type') === 'refresh_token'

// Login rules count failed attempts only: people who know their password (six devices behind one
// NAT, an office at 9 am) are never throttled by their own successes.
export const RULES = {
  loginPerIp: {
    name: 'login-ip',
    hook: 'onRequest',
    max: (config) => config.RATE_LIMIT_LOGIN_PER_IP,
    key: (request) => clientAddress(request),
    counts: failedSignIns,
  },
  // The attacker's own address is what backs off, not the account: the owner elsewhere is not locked out.
  loginPerAccountAndIp: {
    name: 'login-account-ip',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_LOGIN_PER_ACCOUNT,
    backoff: true,
    key: (request) => {
      const account = accountOf(request)
      return account && `${account}:${clientAddress(request)}`
    },
    counts: failedSignIns,
  },
  // Caps a guessing campaign spread over many addresses; a fixed window, so it never outlasts one.
  // Wrong current passwords at POST /v1/auth/password spend the same budget (through the accounts
  // service, which knows the account: see plugins/external/rate-limit.ts, accountAttempts).
  loginPerAccount: {
    name: 'login-account',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP,
    key: accountOf,
    counts: failedSignIns,
  },
  registerPerIp: {
    name: 'register-ip',
    hook: 'onRequest',
    max: (config) => config.RATE_LIMIT_REGISTER_PER_IP,
    key: (request) => clientAddress(request),
  },
  passwordChangePerIp: {
    name: 'password-ip',
    hook: 'onRequest',
    max: (config) => config.RATE_LIMIT_LOGIN_PER_IP,
    key: (request) => clientAddress(request),
    counts: failures,
  },
  // Wrong client secrets (or unknown clients) from one address, at every endpoint that authenticates clients.
  clientAuthFailuresPerIp: {
    name: 'client-auth-ip',
    hook: 'onRequest',
    max: (config) => config.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP,
    key: (request) => clientAddress(request),
    counts: clientAuthFailures,
  },
  refreshPerIp: {
    name: 'refresh-ip',
    hook: 'onRequest',
    max: (config) => config.RATE_LIMIT_REFRESH_PER_IP,
    key: (request) => clientAddress(request),
  },
  refreshPerToken: {
    name: 'refresh-token',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_REFRESH_PER_SESSION,
    key: refreshTokenOf,
  },
  oauthRefreshPerIp: {
    name: 'refresh-ip',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_REFRESH_PER_IP,
    key: (request) => (isRefreshGrant(request) ? clientAddress(request) : undefined),
  },
  oauthRefreshPerToken: {
    name: 'refresh-token',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_REFRESH_PER_SESSION,
    key: (request) => (isRefreshGrant(request) ? refreshTokenOf(request) : undefined),
  },
  tokenPerClient: {
    name: 'token-client',
    hook: 'preHandler',
    max: (config) => config.RATE_LIMIT_TOKEN_PER_CLIENT,
    key: (request) => {
      const client = authenticatedClientOf(request)
      if (client) return `client:${client}`
      return isRefreshGrant(request) ? undefined : `ip:${clientAddress(request)}`
    },
  },
} as const satisfies Record<string, RateLimitRule>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's counters (one of RATE_LIMITS): it carries its limits, so moving or renaming it keeps them. */
    rateLimits?: readonly RateLimitRule[]
  }
}

/**
 * The limits routes declare in their config (`config: { rateLimits: RATE_LIMITS.login }`). Rules
 * run in order and stop at the first one exceeded, so a request refused by a narrow counter does
 * not also use up a wider one: an address already backing off on an account cannot keep that
 * account's shared budget exhausted.
 */
export const RATE_LIMITS = {
  // POST /v1/auth/login, and the login page (POST /oauth/login): the same rules, hence the same counters.
  login: [RULES.loginPerIp, RULES.loginPerAccountAndIp, RULES.loginPerAccount],
  register: [RULES.registerPerIp],
  passwordChange: [RULES.passwordChangePerIp],
  refresh: [RULES.refreshPerIp, RULES.refreshPerToken],
  oauthToken: [RULES.clientAuthFailuresPerIp, RULES.tokenPerClient, RULES.oauthRefreshPerIp, RULES.oauthRefreshPerToken],
  // POST /oauth/introspect and /oauth/revoke.
  clientAuthentication: [RULES.clientAuthFailuresPerIp],
} as const satisfies Record<string, readonly RateLimitRule[]>

/** The limits a route declares; none when it declares none. */
export function rateLimitsOf(route: { config?: { rateLimits?: readonly RateLimitRule[] } | undefined }): readonly RateLimitRule[] {
  return route.config?.rateLimits ?? []
}
