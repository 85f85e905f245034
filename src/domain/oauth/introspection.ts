/** Who may learn what a token is (RFC 7662 §4: the server may refuse to tell other parties). */

export interface IntrospectingClient {
  clientId: string
  /** The audience the client is registered for (the resource server it is), if any. */
  audience: string | null
}

export interface IntrospectedToken {
  /** Absent for refresh tokens: they are meant for no resource server, only for their own client. */
  aud?: string | readonly string[] | undefined
  client_id: string
}

/**
 * A token is meant for a client when the client obtained it, or when its `aud` names the client
 * or the client's audience. Introspection says `{active: false}` for any other token, as for an
 * invalid one: a resource server learns nothing about tokens addressed to someone else.
 */
export function isMeantFor(token: IntrospectedToken, client: IntrospectingClient): boolean {
  if (token.client_id === client.clientId) return true
  const audiences = token.aud === undefined ? [] : typeof token.aud === 'string' ? [token.aud] : token.aud
  return audiences.some((aud) => aud === client.clientId || (client.audience !== null && aud === client.audience))
}
