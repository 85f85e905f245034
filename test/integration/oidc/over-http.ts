import { createServer } from 'node:net'

/** A port nothing listens on: the tests that need tollgate over real HTTP set ISSUER to it first. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * A browser without a browser: follows tollgate's pages over real HTTP with a cookie jar, fills in
 * the login form (and allows on the consent page when shown), and returns the redirect back to the
 * app, where a relying party takes over. (test/integration/oidc/browser.test.ts drives the same
 * pages in Chromium.)
 */
export async function signInOverHttp(issuer: string, authorizationUrl: URL, user: { email: string; password: string }): Promise<URL> {
  const jar = new Map<string, string>()
  const request = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const [name, ...value] = pair!.split('=')
      jar.set(name!.trim(), value.join('='))
    }
    return response
  }
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
    body: new URLSearchParams(fields).toString(),
  })
  const interaction = (html: string) => /name="interaction" value="([^"]+)"/.exec(html)![1]!
  let response = await request(authorizationUrl.href)
  let html = await response.text()
  if (html.includes('action="login"')) {
    response = await request(`${issuer}/oauth/login`, form({ interaction: interaction(html), email: user.email, password: user.password }))
    html = await response.text()
  }
  if (response.status === 200 && html.includes('action="consent"')) {
    response = await request(`${issuer}/oauth/consent`, form({ interaction: interaction(html), decision: 'allow' }))
  }
  if (response.status !== 303) throw new Error(`the sign-in ended with ${response.status}, not a redirect back to the app`)
  return new URL(response.headers.get('location')!)
}
