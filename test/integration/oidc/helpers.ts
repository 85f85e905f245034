import { createHash, randomBytes } from 'node:crypto'
import type { App } from '../../../src/app.js'
import { FORM, basicAuth } from '../oauth/helpers.js'

export const REDIRECT_URI = 'https://app.example/callback'
export const POST_LOGOUT_URI = 'https://app.example/signed-out'

export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export async function createOidcClient(
  app: App,
  options: { type?: 'public' | 'confidential'; firstParty?: boolean; scopes?: string[]; audience?: string; redirectUris?: string[]; name?: string } = {},
) {
  const { client, clientSecret } = await app.oauth.clients.create({
    name: options.name ?? 'Example App',
    type: options.type ?? 'confidential',
    scopes: options.scopes ?? ['openid', 'profile', 'email', 'offline_access', 'orders:read'],
    redirectUris: options.redirectUris ?? [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_URI],
    firstParty: options.firstParty ?? false,
    audience: options.audience,
  })
  return { clientId: client.clientId, clientSecret, authorization: clientSecret ? basicAuth(client.clientId, clientSecret) : undefined }
}

/** A browser with a cookie jar, talking to the app through inject. */
export class Browser {
  readonly cookies = new Map<string, string>()
  readonly app: App
  readonly userAgent: string
  readonly remoteAddress: string | undefined
  constructor(app: App, userAgent = 'Mozilla/5.0 (test browser)', remoteAddress?: string) {
    this.app = app
    this.userAgent = userAgent
    this.remoteAddress = remoteAddress
  }

  private cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  private remember(response: Awaited<ReturnType<App['inject']>>) {
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      if (cookie.value === '' || cookie.maxAge === 0 || (cookie.expires && cookie.expires.getTime() < Date.now())) this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    return response
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.remember(
      await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader(), 'user-agent': this.userAgent, ...headers }, ...this.from() }),
    )
  }

  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        headers: { ...FORM, cookie: this.cookieHeader(), 'user-agent': this.userAgent, origin: 'http://tollgate.test', ...headers },
        payload: new URLSearchParams(fields).toString(),
        ...this.from(),
      }),
    )
  }

  private from() {
    return this.remoteAddress === undefined ? {} : { remoteAddress: this.remoteAddress }
  }
}

/** The hidden `interaction` field of a login or consent page. */
export function interactionOf(html: string): string {
  const match = /name="interaction" value="([^"]+)"/.exec(html)
  if (!match) throw new Error(`no interaction field in the page: ${html.slice(0, 500)}`)
  return match[1]!
}

export function authorizeUrl(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined))
  return `/oauth/authorize?${query.toString()}`
}

export function redirectParams(location: string | undefined): URLSearchParams {
  if (!location) throw new Error('no Location')
  return new URL(location).searchParams
}

/** A whole sign-in: authorize, the login page, the consent page when shown; the code and its verifier. */
export async function signInFor(
  browser: Browser,
  client: { clientId: string },
  user: { email: string; password: string },
  options: { scope?: string; nonce?: string; state?: string; extra?: Record<string, string> } = {},
) {
  const { verifier, challenge } = pkcePair()
  const state = options.state ?? randomBytes(8).toString('hex')
  let response = await browser.get(
    authorizeUrl({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: REDIRECT_URI,
      scope: options.scope ?? 'openid profile email offline_access',
      state,
      nonce: options.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...options.extra,
    }),
  )
  if (response.statusCode === 200 && response.body.includes('action="login"')) {
    response = await browser.post('/oauth/login', { interaction: interactionOf(response.body), email: user.email, password: user.password })
  }
  if (response.statusCode === 200 && response.body.includes('action="consent"')) {
    response = await browser.post('/oauth/consent', { interaction: interactionOf(response.body), decision: 'allow' })
  }
  if (response.statusCode !== 303) throw new Error(`the sign-in ended with ${response.statusCode}: ${response.body.slice(0, 500)}`)
  const params = redirectParams(response.headers.location as string)
  return { code: params.get('code'), state: params.get('state'), iss: params.get('iss'), params, verifier, expectedState: state, location: response.headers.location as string }
}

export function redeem(
  app: App,
  client: { clientId: string; authorization?: string | undefined },
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, ...(client.authorization ? { authorization: client.authorization } : {}), ...headers },
    payload: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      ...(client.authorization ? {} : { client_id: client.clientId }),
      ...extra,
    }).toString(),
  })
}
