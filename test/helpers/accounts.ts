import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.js'

/** A password that passes the policy. */
export const GOOD_PASSWORD = 'correct horse battery staple'

export interface LoggedIn {
  email: string
  password: string
  userId: string
  sessionId: string
  accessToken: string
  refreshToken: string
  /** The tollgate_refresh cookie value set by the login. */
  cookie: string
  authorization: string
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID()}@example.test`
}

/** The claims of a JWT, unverified: for reading sid and sub in tests. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The value of the refresh cookie a response sets ('' when it clears it, undefined when it does not touch it). */
export function refreshCookieOf(response: LightMyRequestResponse): string | undefined {
  return response.cookies.find((cookie) => cookie.name === 'tollgate_refresh')?.value
}

export async function register(app: App, options: { email?: string; password?: string; name?: string } = {}) {
  const email = options.email ?? uniqueEmail()
  const password = options.password ?? GOOD_PASSWORD
  const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password, ...(options.name ? { name: options.name } : {}) } })
  if (response.statusCode !== 201) throw new Error(`register answered ${response.statusCode}: ${response.body}`)
  return { email, password, user: response.json<{ id: string; email: string; name: string | null; createdAt: string }>() }
}

export async function login(
  app: App,
  credentials: { email: string; password: string },
  options: { userAgent?: string; ip?: string } = {},
): Promise<Omit<LoggedIn, 'email' | 'password'>> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: credentials,
    headers: { 'user-agent': options.userAgent ?? 'test-agent/1.0' },
    ...(options.ip ? { remoteAddress: options.ip } : {}),
  })
  if (response.statusCode !== 200) throw new Error(`login answered ${response.statusCode}: ${response.body}`)
  const body = response.json<{ access_token: string; refresh_token: string }>()
  const claims = claimsOf(body.access_token)
  return {
    userId: claims.sub as string,
    sessionId: claims.sid as string,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    cookie: refreshCookieOf(response) ?? '',
    authorization: `Bearer ${body.access_token}`,
  }
}

/** Registers a new account through the API and logs it in. */
export async function registerAndLogin(
  app: App,
  options: { email?: string; password?: string; userAgent?: string; ip?: string } = {},
): Promise<LoggedIn> {
  const { email, password } = await register(app, options)
  return { email, password, ...(await login(app, { email, password }, options)) }
}

export function refresh(app: App, refreshToken: string, options: { userAgent?: string; ip?: string } = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/refresh',
    payload: { refresh_token: refreshToken },
    headers: { 'user-agent': options.userAgent ?? 'test-agent/1.0' },
    ...(options.ip ? { remoteAddress: options.ip } : {}),
  })
}

/**
 * Moves the app's clock (sessions, grace windows, expiries) without sleeping. Access tokens
 * keep real time, so they stay valid while sessions age.
 */
export function timeTravel(app: App) {
  let offsetMs = 0
  app.clock = () => new Date(Date.now() + offsetMs)
  return {
    advance(seconds: number) {
      offsetMs += seconds * 1000
    },
    reset() {
      offsetMs = 0
    },
    now: () => app.clock(),
  }
}
