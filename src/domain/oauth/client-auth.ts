import { OAuthError } from '../../errors.js'

/**
 * How a request to an OAuth endpoint identified its client (RFC 6749 §2.3), as the HTTP layer
 * read it: `malformed` Authorization credentials, and `ambiguous` ones (two methods at once, a
 * secret without an id), are kept as data so the use case can refuse them in its own order.
 */
export type ClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string }
  /** A public client: client_id alone, no secret (RFC 6749 §2.1, §3.2.1). */
  | { method: 'none'; clientId: string }
  | { method: 'absent' }
  | { method: 'malformed'; reason: string }
  | { method: 'ambiguous'; reason: string }

export interface ClientCredentialParameters {
  client_id?: string | undefined
  client_secret?: string | undefined
}

/**
 * The credentials a client may authenticate with, or the RFC 6749 error for ones it cannot: an
 * unreadable Authorization header is invalid_client (the renderer adds the Basic challenge),
 * two methods at once invalid_request.
 */
export function usableCredentials(credentials: ClientCredentials): Exclude<ClientCredentials, { method: 'malformed' | 'ambiguous' }> {
  if (credentials.method === 'malformed') throw new OAuthError('invalid_client', credentials.reason)
  if (credentials.method === 'ambiguous') throw new OAuthError('invalid_request', credentials.reason)
  return credentials
}
