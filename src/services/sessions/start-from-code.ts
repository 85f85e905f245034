import type { Config } from '../../config.js'
import { pkceMatches, s256ChallengeOf } from '../../domain/oidc/pkce.js'
import { initialExpiry, isSessionLive } from '../../domain/sessions/session-rules.js'
import { generateRefreshToken, hashRefreshToken } from '../../domain/tokens/refresh-token.js'
import { OAuthError } from '../../errors.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { AuthorizationCodeRecord } from '../../repositories/authorization-codes.js'
import type { RedeemingUser } from '../../repositories/code-redemption.js'
import type { SessionRecord } from '../../repositories/sessions.js'
import type { Clock } from '../access-tokens.js'
import type { SecurityEventWriter } from '../security-events.js'
import { contextOf, recordRevoked, type ClientContext } from './revoke-sessions.js'
import type { GrantIssuer, TokenGrant } from './session-grant.js'
import { createSessionIn, type StartSessionConfig } from './start-session.js'

export interface CodeRedemption {
  code: string
  clientId: string
  redirectUri: string | undefined
  codeVerifier: string | undefined
  /** The client's audience: the `aud` of the session's access tokens. */
  audience: string | null
  /** The thumbprint of the key of the request's DPoP proof: the access token is bound to it. */
  dpopJkt?: string | undefined
  /** RFC 9449 §5: bind the refresh token too (public clients; a confidential one authenticates instead). */
  bindRefreshToken?: boolean | undefined
}

type Outcome = { ok: true; session: SessionRecord; code: AuthorizationCodeRecord } | { ok: false; description: string }

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): redeems an authorization code once, starting a session
 * of its own (a refresh-token family linked to the sign-in it came from). A code presented again
 * revokes the session its first use started (RFC 6749 §4.1.2), in the transaction that refuses it.
 * Every failure is invalid_grant.
 */
export function createStartFromCode(deps: {
  store: AccountStore
  events: SecurityEventWriter
  grant: GrantIssuer
  clock: Clock
  config: StartSessionConfig & Pick<Config, 'SESSION_IDLE_TTL_SECONDS'>
}) {
  const { store, events, grant, clock, config } = deps
  const lifetimes = { idleSeconds: config.SESSION_IDLE_TTL_SECONDS, absoluteSeconds: config.SESSION_ABSOLUTE_TTL_SECONDS }

  /**
   * `user`, when the redemption read it (the one-statement path does, on the locked row): the
   * account's fields an ID token needs, so that the caller need not read them again.
   */
  return async function startFromCode(
    input: CodeRedemption & ClientContext,
  ): Promise<{ grant: TokenGrant; code: AuthorizationCodeRecord; user?: RedeemingUser | undefined }> {
    const now = clock()
    const context = contextOf(input)
    const codeHash = hashRefreshToken(input.code)
    const refreshToken = generateRefreshToken()
    const tokenHash = hashRefreshToken(refreshToken)
    const dpopJkt = input.bindRefreshToken ? (input.dpopJkt ?? null) : null
    const expiry = initialExpiry(now, lifetimes)
    // Most redemptions are a first use with everything in order: one statement. Anything else (a
    // replay, a refusal, a lock held, too many sessions to start one without evicting) is decided
    // by the transaction below, as if the statement had not run. Two sessions of headroom, as for
    // the login (fastPaths.startSession): the statement's count may miss one committed as it starts.
    const challenge = input.codeVerifier === undefined ? null : s256ChallengeOf(input.codeVerifier)
    if (input.redirectUri !== undefined && challenge !== null) {
      const redeemed = await store.codeRedemption.redeem({
        codeHash,
        clientId: input.clientId,
        redirectUri: input.redirectUri,
        codeChallenge: challenge,
        audience: input.audience,
        now,
        ...expiry,
        ...context,
        dpopJkt,
        tokenHash,
        maxLiveBefore: config.MAX_SESSIONS_PER_USER - 2,
      })
      if (redeemed) {
        const { session, code, user } = redeemed
        return { grant: await grant({ ...session, sessionId: session.id }, refreshToken, input.dpopJkt), code, user }
      }
    }
    const outcome = await store.transaction(async (tx): Promise<Outcome> => {
      const code = await tx.authorizationCodes.lock(codeHash)
      if (!code) return { ok: false, description: 'The authorization code is invalid' }
      if (code.consumedAt) {
        if (code.sessionId) {
          const revoked = await tx.sessions.revoke([code.sessionId], 'authorization_code_reused', now)
          await recordRevoked(events, tx, revoked, 'authorization_code_reused', context)
        }
        return { ok: false, description: 'The authorization code was already used' }
      }
      if (code.expiresAt.getTime() <= now.getTime()) return { ok: false, description: 'The authorization code expired' }
      if (code.clientId !== input.clientId) return { ok: false, description: 'The authorization code was issued to another client' }
      if (input.redirectUri !== code.redirectUri) return { ok: false, description: 'redirect_uri does not match the authorization request' }
      if (!input.codeVerifier || !pkceMatches(input.codeVerifier, code.codeChallenge)) return { ok: false, description: 'code_verifier does not match the code_challenge' }
      // The user's lock first: a password change or a disabling either committed before (and ended
      // the sign-in, seen below) or waits for this redemption (and then ends its session too).
      await tx.users.lock(code.userId)
      const signIn = await tx.sessions.findById(code.signInSessionId)
      if (!signIn || !isSessionLive(signIn, now)) return { ok: false, description: 'The sign-in this code came from has ended' }
      const session = await createSessionIn(
        tx,
        { events, config },
        {
          userId: code.userId,
          clientId: code.clientId,
          scope: code.scope,
          signInSessionId: code.signInSessionId,
          audience: input.audience,
          dpopJkt,
          now,
          ...expiry,
          ...context,
        },
        { tokenHash },
      )
      if (!session) return { ok: false, description: 'This account cannot sign in' }
      await tx.authorizationCodes.markConsumed(codeHash, now, session.id)
      return { ok: true, session, code }
    })
    if (!outcome.ok) throw new OAuthError('invalid_grant', outcome.description)
    return { grant: await grant({ ...outcome.session, sessionId: outcome.session.id }, refreshToken, input.dpopJkt), code: outcome.code }
  }
}
