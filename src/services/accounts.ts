import { hasInvisibleCharacters, isValidEmail, normalizeEmail, normalizeName } from '../domain/accounts/email.js'
import { passwordWeakness, WEAKNESS_DETAIL } from '../domain/passwords/password-policy.js'
import { ProblemError } from '../errors.js'
import type { AccountStore } from '../repositories/account-store.js'
import type { SessionRecord } from '../repositories/sessions.js'
import { EmailTakenError, type UserRecord } from '../repositories/users.js'
import type { Clock } from './access-tokens.js'
import type { PasswordHasher } from './password-hasher.js'
import type { RequestContext, SecurityEventWriter } from './security-events.js'
import type { DpopPresentation } from '../domain/dpop/proof.js'
import type { DpopService } from './dpop.js'
import type { SessionService, TokenGrant } from './sessions/index.js'

export interface PublicUser {
  id: string
  email: string
  name: string | null
  createdAt: string
}

function publicUser(user: UserRecord): PublicUser {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt.toISOString() }
}

function invalidCredentials(): ProblemError {
  return new ProblemError('invalid_credentials', 'Invalid email or password')
}

/** The email as stored and compared; one with invisible characters is refused (400), not looked up. */
function emailOf(input: string): string {
  const email = normalizeEmail(input)
  if (hasInvisibleCharacters(email)) throw new ProblemError('validation_failed', 'email contains invisible or control characters')
  return email
}

function assertStrong(password: string): void {
  const weakness = passwordWeakness(password)
  if (weakness) throw new ProblemError(weakness === 'too_long' ? 'validation_failed' : 'weak_password', WEAKNESS_DETAIL[weakness])
}

/**
 * The per-account budget of password checks, shared by every way of checking a password (the
 * login's HTTP rules spend it too). `take` spends one attempt before the check, so parallel
 * guesses cannot overdraw it, and throws 429 `rate_limited` once it is spent; `refund` gives the
 * attempt back when the password was right.
 */
export interface AccountAttempts {
  take(email: string): Promise<{ refund(): Promise<void> }>
}

/**
 * What a password use case takes from its caller besides the input: a signal that aborts once
 * nobody waits for the answer any more. Each argon2 step checks it before it starts (every write
 * comes after one), so an abandoned request ends with AbandonedError having written nothing.
 */
export interface Abandonable {
  signal?: AbortSignal | undefined
}

/** Accounts: registration, password login, password change, profile. */
export function createAccountService(deps: {
  store: AccountStore
  hasher: PasswordHasher
  sessions: SessionService
  events: SecurityEventWriter
  clock: Clock
  /** The login's per-account budget, which a wrong current password at a password change spends too. */
  attempts: AccountAttempts
  /** DPoP proofs of logins (RFC 9449): a login with one starts a session bound to its key. */
  dpop?: Pick<DpopService, 'check'> | undefined
}) {
  const { store, hasher, sessions, events, clock, attempts } = deps

  async function recordFailedLogin(userId: string | null, reason: string, context: RequestContext) {
    await store.transaction((tx) => events.record(tx, { type: 'login_failed', userId, ...context, details: { reason } }))
  }

  /**
   * The same 401 whether the email is unknown or the password wrong, after the same argon2 work:
   * an unknown email is verified against a dummy digest made at the configured parameters.
   */
  async function checkCredentials(input: { email: string; password: string } & Abandonable & RequestContext): Promise<UserRecord> {
    const context = { ip: input.ip, userAgent: input.userAgent }
    const email = emailOf(input.email)
    const user = isValidEmail(email) ? await store.users.findByEmail(email) : null
    if (!user) {
      await hasher.verifyNothing(input.password, input.signal)
      await recordFailedLogin(null, 'unknown_account', context)
      throw invalidCredentials()
    }
    if (!(await hasher.verify(user.passwordHash, input.password, input.signal))) {
      await recordFailedLogin(user.id, 'wrong_password', context)
      throw invalidCredentials()
    }
    // After the password check, so a disabled account costs the same time and answers the same.
    if (user.disabledAt !== null) {
      await recordFailedLogin(user.id, 'user_disabled', context)
      throw invalidCredentials()
    }
    // Only while the credentials are still the ones just verified: a password change that commits
    // meanwhile is neither overwritten by this rehash nor outlived by the session (the caller
    // passes user.credentialsVersion on to it).
    if (hasher.needsRehash(user.passwordHash)) {
      await store.users.updatePasswordHash(user.id, await hasher.hash(input.password, input.signal), { changed: false, credentialsVersion: user.credentialsVersion, now: clock() })
    }
    return user
  }

  return {
    async register(input: { email: string; password: string; name?: string | null | undefined } & Abandonable): Promise<PublicUser> {
      const email = emailOf(input.email)
      if (!isValidEmail(email)) throw new ProblemError('validation_failed', 'email is not a valid email address')
      assertStrong(input.password)
      const passwordHash = await hasher.hash(input.password, input.signal)
      try {
        return publicUser(await store.users.create({ email, name: normalizeName(input.name), passwordHash, now: clock() }))
      } catch (error) {
        if (error instanceof EmailTakenError) throw new ProblemError('email_taken', 'An account with this email already exists')
        throw error
      }
    },

    /** A password login: a new session (refresh-token family) and its tokens. See checkCredentials. */
    async login(input: { email: string; password: string; dpop?: DpopPresentation | undefined } & Abandonable & RequestContext): Promise<TokenGrant> {
      // The proof first: a bad one costs no password check and no attempt of the account's budget.
      const proof = input.dpop ? await deps.dpop?.check(input.dpop) : undefined
      const user = await checkCredentials(input)
      return sessions.start({ userId: user.id, credentialsVersion: user.credentialsVersion, ip: input.ip, userAgent: input.userAgent, dpopJkt: proof?.jkt })
    },

    /**
     * The login of tollgate's own sign-in page (/oauth/login): the same checks, failures and events
     * as `login`, and a sign-in session instead of tokens. `replaces` is the browser's previous
     * sign-in, ended with the sessions started from it.
     */
    async signIn(input: { email: string; password: string; replaces?: string | undefined } & Abandonable & RequestContext): Promise<{ session: SessionRecord; user: PublicUser }> {
      const user = await checkCredentials(input)
      const session = await sessions.startSignIn({
        userId: user.id,
        credentialsVersion: user.credentialsVersion,
        replaces: input.replaces,
        ip: input.ip,
        userAgent: input.userAgent,
      })
      return { session, user: publicUser(user) }
    },

    /**
     * Changes the password and revokes every other session of the user, in one transaction; only
     * if the password verified is still the current one when that transaction takes the user's
     * lock (two changes racing with the same current password: the second is refused).
     */
    async changePassword(input: { userId: string; sessionId: string | undefined; currentPassword: string; newPassword: string } & Abandonable & RequestContext): Promise<void> {
      const context = { ip: input.ip, userAgent: input.userAgent }
      const user = await store.users.findById(input.userId)
      if (!user) throw new ProblemError('not_found', 'No such account')
      // A stolen access token must not be a way around the login's limits to guess the password.
      const attempt = await attempts.take(user.email)
      if (!(await hasher.verify(user.passwordHash, input.currentPassword, input.signal))) {
        await store.transaction((tx) =>
          events.record(tx, { type: 'password_change_failed', userId: user.id, sessionId: input.sessionId ?? null, ...context, details: { reason: 'wrong_password' } }),
        )
        throw invalidCredentials()
      }
      await attempt.refund()
      assertStrong(input.newPassword)
      const passwordHash = await hasher.hash(input.newPassword, input.signal)
      await store.transaction(async (tx) => {
        await tx.users.lock(user.id)
        const changed = await tx.users.updatePasswordHash(user.id, passwordHash, { changed: true, credentialsVersion: user.credentialsVersion, now: clock() })
        if (!changed) throw invalidCredentials()
        await events.record(tx, { type: 'password_changed', userId: user.id, sessionId: input.sessionId ?? null, ...context })
        await sessions.revokeOthersIn(tx, user.id, input.sessionId, 'password_changed', context)
      })
    },

    /**
     * False when the account is disabled by an operator or no longer exists: what an authorization
     * (the OIDC sign-in carried by a browser cookie) checks before it completes.
     */
    async isActive(userId: string): Promise<boolean> {
      const user = await store.users.findById(userId)
      return user !== null && user.disabledAt === null
    },

    async profile(userId: string): Promise<PublicUser> {
      const user = await store.users.findById(userId)
      if (!user) throw new ProblemError('not_found', 'No such account')
      return publicUser(user)
    },
  }
}

export type AccountService = ReturnType<typeof createAccountService>
