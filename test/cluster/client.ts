import { randomBytes, randomUUID } from 'node:crypto'

export interface Answer {
  status: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
  headers: Headers
}

export interface Tokens {
  access_token: string
  refresh_token: string
}

/** One JSON request; a network failure is status 0 (what a client sees as "no answer"). */
export async function call(base: string, method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.token) headers.authorization = `Bearer ${options.token}`
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    let body: unknown = text
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      // Not JSON (an nginx error page): keep the text.
    }
    return { status: response.status, body, headers: response.headers }
  } catch (error) {
    return { status: 0, body: String((error as Error).cause ?? error), headers: new Headers() }
  }
}

export function newAccount() {
  return { email: `user-${randomBytes(6).toString('hex')}@cluster.test`, password: `pw-${randomUUID()}` }
}

export async function registerAndLogin(base: string, userAgent = 'cluster-test/1'): Promise<{ email: string; password: string; tokens: Tokens }> {
  const account = newAccount()
  const registered = await call(base, 'POST', '/v1/auth/register', { body: account })
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`)
  const login = await call(base, 'POST', '/v1/auth/login', { body: account, headers: { 'user-agent': userAgent } })
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`)
  return { ...account, tokens: login.body as Tokens }
}

export function refresh(base: string, refreshToken: string, userAgent = 'cluster-test/1') {
  return call(base, 'POST', '/v1/auth/refresh', { body: { refresh_token: refreshToken }, headers: { 'user-agent': userAgent } })
}
