import { compactVerify } from 'jose'
import type { Config } from '../../config.js'
import type { KeyProvider } from '../../domain/keys/key-provider.js'
import { isUuid } from '../../domain/ids.js'
import type { OAuthClientService } from '../oauth/clients.js'
import type { RequestContext } from '../security-events.js'
import type { SessionService } from '../sessions/index.js'

/** RP-Initiated Logout 1.0 §2 parameters. */
export interface LogoutParameters {
  id_token_hint?: string | undefined
  client_id?: string | undefined
  post_logout_redirect_uri?: string | undefined
  state?: string | undefined
}

export const LOGOUT_PARAMETER_NAMES = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state'] as const satisfies readonly (keyof LogoutParameters)[]

export type LogoutOutcome =
  | { kind: 'error_page'; description: string }
  /** No ID token says which app asks: the user confirms on a page (a cross-site link cannot sign them out). */
  | { kind: 'confirm'; clientName: string | undefined }
  | { kind: 'redirect'; location: string; ended: string | undefined }
  | { kind: 'signed_out'; clientName: string | undefined; ended: string | undefined }

interface IdTokenHint {
  aud: string
  sub: string
  sid: string | undefined
}

/**
 * RP-initiated logout: ends the browser's sign-in at tollgate and every session started from it.
 * The ID token hint (expired or not, but signed by tollgate) names the client and the sign-in;
 * `post_logout_redirect_uri` must be exactly one of that client's registered ones, else there is
 * no redirect, only a page.
 */
export function createLogoutService(deps: {
  keys: Pick<KeyProvider, 'verificationKey'>
  clients: Pick<OAuthClientService, 'find'>
  sessions: Pick<SessionService, 'endSignIn'>
  config: Pick<Config, 'ISSUER'>
}) {
  async function verifyHint(token: string): Promise<IdTokenHint | null> {
    try {
      const { payload } = await compactVerify(token, (header, jws) => deps.keys.verificationKey(header, jws))
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
      if (claims.iss !== deps.config.ISSUER || typeof claims.aud !== 'string' || typeof claims.sub !== 'string') return null
      return { aud: claims.aud, sub: claims.sub, sid: typeof claims.sid === 'string' && isUuid(claims.sid) ? claims.sid : undefined }
    } catch {
      return null
    }
  }

  return {
    async logout(input: { params: LogoutParameters; signInSessionId: string | undefined; confirmed: boolean } & RequestContext): Promise<LogoutOutcome> {
      const { params } = input
      const hint = params.id_token_hint ? await verifyHint(params.id_token_hint) : undefined
      if (hint === null) return { kind: 'error_page', description: 'The id_token_hint is not an ID token tollgate issued.' }
      if (hint && params.client_id && params.client_id !== hint.aud) return { kind: 'error_page', description: 'client_id does not match the id_token_hint.' }
      const clientId = hint?.aud ?? params.client_id
      const client = clientId ? await deps.clients.find(clientId) : null
      if (clientId && !client) return { kind: 'error_page', description: 'The application is not registered here.' }
      const redirect = params.post_logout_redirect_uri
      if (redirect !== undefined && !client?.postLogoutRedirectUris.includes(redirect)) {
        return { kind: 'error_page', description: 'post_logout_redirect_uri is not one of the application\'s registered ones.' }
      }
      const target = hint?.sid ?? input.signInSessionId
      if (!hint && target && !input.confirmed) return { kind: 'confirm', clientName: client?.name }
      if (target) await deps.sessions.endSignIn(target, { ip: input.ip, userAgent: input.userAgent })
      if (redirect !== undefined) {
        const url = new URL(redirect)
        if (params.state !== undefined) url.searchParams.set('state', params.state)
        return { kind: 'redirect', location: url.toString(), ended: target }
      }
      return { kind: 'signed_out', clientName: client?.name, ended: target }
    },
  }
}

export type LogoutService = ReturnType<typeof createLogoutService>
