import { OAuthError } from '../../errors.js'

/** How a request to an OAuth endpoint identified its client (RFC 6749 §2.3). */
export type ClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string }
  /** A public client: client_id alone, no secret (RFC 6749 §2.1, §3.2.1). */
  | { method: 'none'; clientId: string }
  | { method: 'absent' }

export interface ClientCredentialParameters {
  client_id?: string | undefined
  client_secret?: string | undefined
}

export const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="tollgate"' } as const

/** RFC 6749 §5.2: a client that tried the Authorization header gets 401 with a Basic challenge. */
export function invalidClient(description: string, triedBasic: boolean): OAuthError {
  return new OAuthError('invalid_client', description, triedBasic ? { ...BASIC_CHALLENGE } : {})
}

/**
 * Reads the client's credentials from the Authorization header (client_secret_basic) or the body
 * (client_secret_post, or client_id alone for a public client). Using two methods at once is an
 * invalid_request (RFC 6749 §2.3); a malformed or non-Basic Authorization header is invalid_client.
 */
export function readClientCredentials(authorization: string | undefined, params: ClientCredentialParameters): ClientCredentials {
  const bodyId = nonEmpty(params.client_id)
  const bodySecret = nonEmpty(params.client_secret)
  if (authorization !== undefined) {
    const basic = parseBasicAuthorization(authorization)
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method, not both HTTP Basic and client_secret')
    if (bodyId !== undefined && bodyId !== basic.clientId) throw new OAuthError('invalid_request', 'client_id in the body differs from the HTTP Basic credentials')
    return { method: 'client_secret_basic', ...basic }
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) throw new OAuthError('invalid_request', 'client_secret was sent without client_id')
    return { method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret }
  }
  return bodyId === undefined ? { method: 'absent' } : { method: 'none', clientId: bodyId }
}

/**
 * RFC 6749 §2.3.1 (and RFC 7617): `Basic base64(form-urlencode(id) ":" form-urlencode(secret))`.
 * The id and secret are form-urlencoded before base64, so both are decoded after the split.
 */
export function parseBasicAuthorization(header: string): { clientId: string; clientSecret: string } {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
  if (!match) throw invalidClient('The Authorization header must use the Basic scheme', true)
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw invalidClient('The Basic credentials are malformed', true)
  const clientId = formUrlDecode(decoded.slice(0, colon))
  const clientSecret = formUrlDecode(decoded.slice(colon + 1))
  if (!clientId || !clientSecret || !VSCHARS.test(clientId) || !VSCHARS.test(clientSecret)) {
    throw invalidClient('The Basic credentials are malformed', true)
  }
  return { clientId, clientSecret }
}

/** RFC 6749 Appendix A: client_id and client_secret are visible ASCII and spaces only. */
const VSCHARS = /^[\x20-\x7E]+$/

function formUrlDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
