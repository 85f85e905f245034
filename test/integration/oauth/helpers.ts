import { randomUUID } from 'node:crypto'
import type { App } from '../../../src/app.js'

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined and base64-encoded. */
export function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

export async function createClient(
  app: App,
  options: { scopes?: string[]; grantTypes?: string[]; audience?: string; name?: string; accessTokenSigningAlg?: string; dpop?: boolean } = {},
) {
  const { client, clientSecret } = await app.oauth.clients.create({
    name: options.name ?? 'test client',
    scopes: options.scopes ?? ['orders:read', 'orders:write'],
    ...(options.grantTypes ? { grantTypes: options.grantTypes } : {}),
    audience: options.audience,
    accessTokenSigningAlg: options.accessTokenSigningAlg,
    dpopBoundAccessTokens: options.dpop,
  })
  return { clientId: client.clientId, clientSecret, authorization: basicAuth(client.clientId, clientSecret) }
}

export function postForm(app: App, url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: form(fields) })
}

/** The payload of a JWT, unverified: for asserting claims the test itself just received. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'))
}

const PASSWORD = 'correct horse battery staple 42'

/**
 * Registers a user and logs in through the first-party endpoints: the refresh token and access
 * token a real user would hold.
 */
export async function loginUser(app: App) {
  const email = `user-${randomUUID()}@example.test`
  const registered = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD } })
  if (registered.statusCode !== 201) throw new Error(`register: ${registered.statusCode} ${registered.body}`)
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } })
  if (login.statusCode !== 200) throw new Error(`login: ${login.statusCode} ${login.body}`)
  const body = login.json() as { access_token: string; refresh_token: string }
  return { userId: registered.json().id as string, accessToken: body.access_token, refreshToken: body.refresh_token }
}
