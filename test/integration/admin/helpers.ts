import type { App } from '../../../src/app.js'
import { createClient, postForm } from '../oauth/helpers.js'

/** A client registered with `scopes` and a client_credentials access token of it, as an operator's tool would hold. */
export async function adminClient(app: App, scopes: string[] = ['admin:read', 'admin:write'], options: { audience?: string } = {}) {
  const client = await createClient(app, { scopes, name: 'ops console', ...options })
  const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
  if (response.statusCode !== 200) throw new Error(`client_credentials answered ${response.statusCode}: ${response.body}`)
  const token = response.json<{ access_token: string }>().access_token
  return { ...client, basic: client.authorization, token, authorization: `Bearer ${token}` }
}

export function adminRequest(app: App, authorization: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) {
  return app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) })
}
