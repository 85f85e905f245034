import type { Config } from '../../config.js'
import { initialExpiry, sessionStartRefusal, sessionsToEvict } from '../../domain/sessions/session-rules.js'
import { formatScope } from '../../domain/tokens/access-token.js'
import { generateRefreshToken, hashRefreshToken } from '../../domain/tokens/refresh-token.js'
import { ProblemError } from '../../errors.js'
import type { AccountStore, AccountTransaction } from '../../repositories/account-store.js'
import type { NewSession, SessionRecord } from '../../repositories/sessions.js'
import type { Clock } from '../access-tokens.js'
import type { SecurityEventWriter } from '../security-events.js'
import { contextOf, recordRevoked, type ClientContext } from './revoke-sessions.js'
import type { GrantIssuer, TokenGrant } from './session-grant.js'

export type StartSessionConfig = Pick<Config, 'FIRST_PARTY_CLIENT_ID' | 'DEFAULT_SCOPES' | 'SESSION_IDLE_TTL_SECONDS' | 'SESSION_ABSOLUTE_TTL_SECONDS' | 'MAX_SESSIONS_PER_USER'>

/** Starting a session for a user who just proved who they are (the login), evicting the oldest beyond the limit. */
export function createStartSession(deps: {
  store: AccountStore
  events: SecurityEventWriter
  grant: GrantIssuer
  clock: Clock
  config: StartSessionConfig
}) {
  const { store, events, grant, clock, config } = deps
  const lifetimes = { idleSeconds: config.SESSION_IDLE_TTL_SECONDS, absoluteSeconds: config.SESSION_ABSOLUTE_TTL_SECONDS }

  /**
   * `credentialsVersion` is the user's version the caller verified the password against (what
   * findByEmail read before the hash check): the session starts only while it is still current.
   */
  /** `dpopJkt`: the request came with a DPoP proof; the session and its tokens are bound to that key. */
  return async function start(input: { userId: string; credentialsVersion: number; dpopJkt?: string | undefined } & ClientContext): Promise<TokenGrant> {
    const now = clock()
    const context = contextOf(input)
    const refreshToken = generateRefreshToken()
    const expiry = initialExpiry(now, lifetimes)
    const fields = { userId: input.userId, clientId: config.FIRST_PARTY_CLIENT_ID, scope: formatScope(config.DEFAULT_SCOPES), now, ...expiry, ...context, dpopJkt: input.dpopJkt ?? null }
    const tokenHash = hashRefreshToken(refreshToken)
    // Most logins find the user's row free and room for one more session: one statement. Two
    // sessions of headroom, because that statement may miss a login of the same user that
    // commits while it starts (see fastPaths.startSession); the transaction below counts exactly.
    const uncontended = await store.fastPaths.startSession({
      ...fields,
      tokenHash,
      credentialsVersion: input.credentialsVersion,
      maxLiveBefore: config.MAX_SESSIONS_PER_USER - 2,
      event: events.stage({ type: 'login_succeeded', userId: input.userId, ...context, at: now }),
    })
    if (uncontended) return grant({ ...uncontended, sessionId: uncontended.id }, refreshToken, input.dpopJkt)
    const session = await store.transaction(async (tx) => {
      const created = await createSessionIn(tx, { events, config }, fields, { tokenHash, credentialsVersion: input.credentialsVersion })
      if (created) await events.record(tx, { type: 'login_succeeded', userId: input.userId, sessionId: created.id, ...context })
      return created
    })
    if (!session) throw new ProblemError('invalid_credentials', 'Invalid email or password')
    return grant({ ...session, sessionId: session.id }, refreshToken, input.dpopJkt)
  }
}

/**
 * Creates a session inside the caller's transaction, evicting the user's oldest beyond the limit:
 * the one way every kind of session starts (a login, a sign-in at the authorization endpoint, a
 * code redemption). With a token hash, the session's first refresh token is stored with it.
 *
 * Under the row lock a password change or an operator's disabling (or erasure) takes: no session
 * starts after either, from a sign-in that checked the credentials before it (`credentialsVersion`,
 * when the caller checked a password). Null, with only a login_failed event written, when refused.
 */
export async function createSessionIn(
  tx: AccountTransaction,
  deps: { events: SecurityEventWriter; config: Pick<Config, 'MAX_SESSIONS_PER_USER'> },
  fields: NewSession & { ip: string | null; userAgent: string | null },
  options: { tokenHash?: string | undefined; credentialsVersion?: number | undefined } = {},
): Promise<SessionRecord | null> {
  const context = { ip: fields.ip, userAgent: fields.userAgent }
  const user = (await tx.users.lock(fields.userId)) ? await tx.users.findById(fields.userId) : null
  const refusal = sessionStartRefusal(user, options.credentialsVersion ?? user?.credentialsVersion ?? 0)
  if (refusal) {
    if (user) await deps.events.record(tx, { type: 'login_failed', userId: fields.userId, ...context, details: { reason: refusal } })
    return null
  }
  const live = await tx.sessions.listLive(fields.userId, fields.now)
  const evict = sessionsToEvict(live, deps.config.MAX_SESSIONS_PER_USER).map((s) => s.id)
  await recordRevoked(deps.events, tx, await tx.sessions.revoke(evict, 'evicted', fields.now), 'evicted', context)
  const created = await tx.sessions.create(fields)
  if (options.tokenHash !== undefined) await tx.refreshTokens.insert({ sessionId: created.id, tokenHash: options.tokenHash, now: fields.now })
  return created
}

/**
 * A browser's sign-in at the authorization endpoint: a session like any other (listed, revocable,
 * idle and absolute expiry) that has no refresh token; its cookie is the credential. A previous
 * sign-in of the same browser is ended, with the sessions started from it.
 */
export function createStartSignIn(deps: { store: AccountStore; events: SecurityEventWriter; clock: Clock; config: StartSessionConfig }) {
  const { store, events, clock, config } = deps
  const lifetimes = { idleSeconds: config.SESSION_IDLE_TTL_SECONDS, absoluteSeconds: config.SESSION_ABSOLUTE_TTL_SECONDS }
  return async function startSignIn(input: { userId: string; credentialsVersion: number; replaces?: string | undefined } & ClientContext): Promise<SessionRecord> {
    const now = clock()
    const context = contextOf(input)
    const session = await store.transaction(async (tx) => {
      if (input.replaces) await recordRevoked(events, tx, await tx.sessions.revokeSignIn(input.replaces, 'signed_in_again', now), 'signed_in_again', context)
      const fields = { userId: input.userId, clientId: config.FIRST_PARTY_CLIENT_ID, scope: 'openid', kind: 'sign_in' as const, now, ...initialExpiry(now, lifetimes), ...context }
      const created = await createSessionIn(tx, { events, config }, fields, { credentialsVersion: input.credentialsVersion })
      if (created) await events.record(tx, { type: 'login_succeeded', userId: input.userId, sessionId: created.id, ...context, details: { via: 'authorization_endpoint' } })
      return created
    })
    if (!session) throw new ProblemError('invalid_credentials', 'Invalid email or password')
    return session
  }
}
