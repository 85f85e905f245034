import type { SqlRunner } from '../db/sql.js'
import type { PrismaClient } from '../generated/prisma/client.js'
import { createAuthorizationCodesRepository } from './authorization-codes.js'
import { createCodeRedemption } from './code-redemption.js'
import { createConsentsRepository } from './consents.js'
import { createFastPaths } from './fast-paths.js'
import { createRefreshTokensRepository } from './refresh-tokens.js'
import { createSecurityEventsRepository } from './security-events.js'
import { createSessionsRepository, type RevokedSession } from './sessions.js'
import { isTransientConflict } from './database-errors.js'
import { createUsersRepository, type Db } from './users.js'

function repositories(db: Db) {
  return {
    users: createUsersRepository(db),
    sessions: createSessionsRepository(db),
    refreshTokens: createRefreshTokensRepository(db),
    securityEvents: createSecurityEventsRepository(db),
    authorizationCodes: createAuthorizationCodesRepository(db),
    consents: createConsentsRepository(db),
  }
}

export type AccountRepositories = ReturnType<typeof repositories>

/** The repositories bound to one transaction, plus a hook for effects that only count once it commits. */
export interface AccountTransaction extends AccountRepositories {
  afterCommit(effect: () => void): void
}

const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 15_000 } as const
const MAX_ATTEMPTS = 3

/** Which sessions a transaction revoked: the repositories bound to it report there. */
function revokingSessions(repos: AccountRepositories, onRevoked: () => void): AccountRepositories {
  const { sessions } = repos
  const noted = <A extends unknown[]>(revoke: (...args: A) => Promise<RevokedSession[]>) =>
    async (...args: A) => {
      const revoked = await revoke(...args)
      if (revoked.length > 0) onRevoked()
      return revoked
    }
  return { ...repos, sessions: { ...sessions, revoke: noted(sessions.revoke), revokeAllOfUser: noted(sessions.revokeAllOfUser) } }
}

/**
 * The accounts' repositories over one Prisma client, and the way to run several of their calls in
 * one transaction. A deadlock or serialization failure is retried from the start; anything else
 * rolls back and is rethrown.
 *
 * `afterSessionsRevoked` is awaited once a transaction that revoked sessions has committed, before
 * the transaction's caller goes on: this instance's revocation snapshot reloads there, so the
 * revoked sessions' access tokens are refused from the next request on (other instances hear of
 * it through the database, see repositories/revocations.ts).
 *
 * Every query of a transaction must go through the repositories it is handed: the embedded PGlite
 * is one session, so awaiting another connection inside a transaction would wait forever.
 */
export function createAccountStore(prisma: PrismaClient, sql: SqlRunner, options: { afterSessionsRevoked?: () => Promise<void> } = {}) {
  return {
    ...repositories(prisma),
    /** The one-statement twins of login and rotation: outside any transaction, so absent from AccountTransaction. */
    fastPaths: createFastPaths(sql),
    /** The code redemption's one-statement twin (code-redemption.ts), outside any transaction too. */
    codeRedemption: createCodeRedemption(sql),

    async transaction<T>(work: (tx: AccountTransaction) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const effects: (() => void)[] = []
        let revokedSessions = false
        let result: T
        try {
          result = await prisma.$transaction(
            (db) =>
              work({
                ...revokingSessions(repositories(db), () => (revokedSessions = true)),
                afterCommit: (effect) => effects.push(effect),
              }),
            TRANSACTION_OPTIONS,
          )
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS || !isTransientConflict(error)) throw error
          continue
        }
        for (const effect of effects) effect()
        if (revokedSessions) await options.afterSessionsRevoked?.()
        return result
      }
    },
  }
}

export type AccountStore = ReturnType<typeof createAccountStore>
