import { randomBytes } from 'node:crypto'
import type { Config } from '../../config.js'
import {
  authorizationResponseUrl,
  checkAuthorizationRequest,
  needsConsent,
  needsLogin,
  type AuthorizationErrorCode,
  type AuthorizationPageErrorCode,
  type AuthorizationParameters,
  type AuthorizationRequest,
  type AuthorizingClient,
} from '../../domain/oidc/authorization-request.js'
import { hashRefreshToken } from '../../domain/tokens/refresh-token.js'
import { ProblemError, type ProblemCode } from '../../errors.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { SessionRecord } from '../../repositories/sessions.js'
import type { AccountService } from '../accounts.js'
import type { Clock } from '../access-tokens.js'
import type { OAuthClientService } from '../oauth/clients.js'
import type { RequestContext } from '../security-events.js'
import type { SessionService } from '../sessions/index.js'

/** OAuth 2.1 §4.1.2: a code lives at most this long (the contract: <= 60 s). */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60

/** What the user is shown on tollgate's pages, besides the client. */
export interface SignedInUser {
  email: string
  name: string | null
}

/** What a step of the authorization endpoint leads to; the HTTP layer renders it. */
export type AuthorizationOutcome =
  | { kind: 'error_page'; error: AuthorizationPageErrorCode | 'invalid_form'; description: string }
  | { kind: 'redirect'; location: string; signedIn?: SessionRecord | undefined }
  | { kind: 'login'; client: AuthorizingClient; request: AuthorizationRequest; failure?: { code: ProblemCode; message: string } | undefined; email?: string | undefined }
  | { kind: 'consent'; client: AuthorizingClient; request: AuthorizationRequest; session: SessionRecord; user: SignedInUser; signedIn?: SessionRecord | undefined }

type Checked = { client: AuthorizingClient; request: AuthorizationRequest } | Extract<AuthorizationOutcome, { kind: 'error_page' | 'redirect' }>

/**
 * The authorization endpoint's use cases (RFC 6749 §4.1, OIDC Core §3.1.2): checking a request,
 * the password step of the login page, the consent step, and issuing the code. Stateless between
 * steps: the pages carry the request, and every step checks it again.
 */
export function createAuthorizationService(deps: {
  clients: Pick<OAuthClientService, 'find'>
  accounts: Pick<AccountService, 'signIn'>
  sessions: Pick<SessionService, 'useSignIn'>
  store: AccountStore
  clock: Clock
  config: Pick<Config, 'ISSUER'>
}) {
  const { clients, store, clock, config } = deps

  const redirectError = (redirectUri: string, state: string | undefined, error: AuthorizationErrorCode, description: string): AuthorizationOutcome => ({
    kind: 'redirect',
    location: authorizationResponseUrl(redirectUri, config.ISSUER, { error, error_description: description, state }),
  })

  async function check(params: AuthorizationParameters): Promise<Checked> {
    const client = params.client_id ? await clients.find(params.client_id) : null
    const checked = checkAuthorizationRequest(params, client)
    if (checked.ok) return { client: client!, request: checked.request }
    if (checked.page) return { kind: 'error_page', error: checked.page, description: checked.description }
    return redirectError(checked.redirectUri, checked.state, checked.error, checked.description) as Checked
  }

  async function issueCode(request: AuthorizationRequest, session: SessionRecord): Promise<string> {
    const code = randomBytes(32).toString('base64url')
    const now = clock()
    await store.authorizationCodes.insert({
      codeHash: hashRefreshToken(code),
      clientId: request.clientId,
      userId: session.userId,
      signInSessionId: session.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scope: request.scopes.join(' '),
      nonce: request.nonce ?? null,
      authTime: session.createdAt,
      createdAt: now,
      expiresAt: new Date(now.getTime() + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
    })
    return authorizationResponseUrl(request.redirectUri, config.ISSUER, { code, state: request.state })
  }

  async function userOf(session: SessionRecord): Promise<SignedInUser | null> {
    const user = await store.users.findById(session.userId)
    return user && user.disabledAt === null ? { email: user.email, name: user.name } : null
  }

  /** Once the user is signed in: the consent screen when it is needed, else the code. */
  async function afterSignIn(client: AuthorizingClient, request: AuthorizationRequest, session: SessionRecord, signedIn?: SessionRecord): Promise<AuthorizationOutcome> {
    const user = await userOf(session)
    if (!user) return { kind: 'login', client, request }
    const granted = await store.consents.granted(session.userId, client.clientId)
    if (needsConsent(request, client, granted)) {
      if (request.prompt.has('none')) return redirectError(request.redirectUri, request.state, 'consent_required', 'The user has not consented to this client')
      return { kind: 'consent', client, request, session, user, signedIn }
    }
    return { kind: 'redirect', location: await issueCode(request, session), signedIn }
  }

  return {
    /** GET/POST /oauth/authorize. `signInSessionId` comes from a genuine sign-in cookie. */
    async authorize(input: { params: AuthorizationParameters; signInSessionId: string | undefined } & RequestContext): Promise<AuthorizationOutcome> {
      const checked = await check(input.params)
      if ('kind' in checked) return checked
      const { client, request } = checked
      const session = input.signInSessionId ? await deps.sessions.useSignIn({ sessionId: input.signInSessionId, ip: input.ip, userAgent: input.userAgent }) : null
      if (!session || needsLogin(request, session.createdAt, clock())) {
        if (request.prompt.has('none')) return redirectError(request.redirectUri, request.state, 'login_required', 'The user is not signed in')
        return { kind: 'login', client, request }
      }
      return afterSignIn(client, request, session)
    },

    /** POST /oauth/login: the password step. A refused password shows the page again, with the same message whatever the cause. */
    async login(input: { params: AuthorizationParameters; email: string; password: string; replaces: string | undefined; signal?: AbortSignal | undefined } & RequestContext): Promise<AuthorizationOutcome> {
      const checked = await check(input.params)
      if ('kind' in checked) return checked
      const { client, request } = checked
      let session: SessionRecord
      try {
        ;({ session } = await deps.accounts.signIn({ email: input.email, password: input.password, replaces: input.replaces, ip: input.ip, userAgent: input.userAgent, signal: input.signal }))
      } catch (error) {
        if (error instanceof ProblemError && (error.code === 'invalid_credentials' || error.code === 'validation_failed')) {
          return { kind: 'login', client, request, failure: { code: error.code, message: error.detail ?? error.title }, email: input.email }
        }
        throw error
      }
      return afterSignIn(client, request, session, session)
    },

    /** POST /oauth/consent: the user's answer, by the sign-in the screen was shown to. */
    async consent(input: { params: AuthorizationParameters; signInSessionId: string | undefined; shownTo: string | undefined; allow: boolean } & RequestContext): Promise<AuthorizationOutcome> {
      const checked = await check(input.params)
      if ('kind' in checked) return checked
      const { client, request } = checked
      const session =
        input.signInSessionId && input.signInSessionId === input.shownTo
          ? await deps.sessions.useSignIn({ sessionId: input.signInSessionId, ip: input.ip, userAgent: input.userAgent })
          : null
      if (!session) return { kind: 'login', client, request }
      if (!input.allow) return redirectError(request.redirectUri, request.state, 'access_denied', 'The user refused')
      await store.consents.grant(session.userId, client.clientId, request.scopes, clock())
      return { kind: 'redirect', location: await issueCode(request, session) }
    },
  }
}

export type AuthorizationService = ReturnType<typeof createAuthorizationService>
