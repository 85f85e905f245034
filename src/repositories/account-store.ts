import type { SqlRunner } from '../db/sql.js'
import type { PrismaClient } from '../generated/prisma/client.js'
import { createAuthorizationCodesRepository } from './authorization-codes.js'
import { createConsentsRepository } from './consents.js'
import { createFastPaths } from './fast-paths.js'
import { createRefreshTokensRepository } from './refresh-tokens.js'
import { createSecurityEventsRepository } from './security-events.js'
import { createSessionsRepository } from './sessions.js'
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

/**
 * The accounts' repositories over one Prisma client, and the way to run several of their calls in
 * one transaction. A deadlock or serialization failure is retried from the start; anything else
 * rolls back and is rethrown.
 *
 * Every query of a transaction must go through the repositories it is handed: the embedded PGlite
 * is one session, so awaiting another connection inside a transaction would wait forever.
 */
export function createAccountStore(prisma: PrismaClient, sql: SqlRunner) {
  return {
    ...repositories(prisma),
    /** The one-statement twins of login and rotation: outside any transaction, so absent from AccountTransaction. */
    fastPaths: createFastPaths(sql),

    async transaction<T>(work: (tx: AccountTransaction) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const effects: (() => void)[] = []
        try {
          const result = await prisma.$transaction(
            (db) => work({ ...repositories(db), afterCommit: (effect) => effects.push(effect) }),
            TRANSACTION_OPTIONS,
          )
          for (const effect of effects) effect()
          return result
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS || !isTransientConflict(error)) throw error
        }
      }
    },
  }
}

export type AccountStore = ReturnType<typeof createAccountStore>
