import { isUuid } from '../domain/ids.js'
import { Prisma, type PrismaClient } from '../generated/prisma/client.js'

export type Db = PrismaClient | Prisma.TransactionClient

export interface UserRecord {
  id: string
  email: string
  name: string | null
  passwordHash: string
  createdAt: Date
  /** Set while an operator has the user disabled. */
  disabledAt: Date | null
  /** Bumped by every password change: what a login verified, checked again when its session starts. */
  credentialsVersion: number
}

const USER_FIELDS = { id: true, email: true, name: true, passwordHash: true, createdAt: true, disabledAt: true, credentialsVersion: true } as const

export class EmailTakenError extends Error {
  constructor() {
    super('email taken')
    this.name = 'EmailTakenError'
  }
}

// Prisma hands `contains` to LIKE as it is: without escaping, `_` and `%` in a search are wildcards.
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (character) => `\\${character}`)

export function createUsersRepository(db: Db) {
  return {
    /** Throws EmailTakenError when the (normalised) email exists, also when a concurrent insert won. */
    async create(input: { email: string; name: string | null; passwordHash: string; now: Date }): Promise<UserRecord> {
      try {
        return await db.user.create({
          data: {
            email: input.email,
            name: input.name,
            passwordHash: input.passwordHash,
            passwordChangedAt: input.now,
            createdAt: input.now,
            updatedAt: input.now,
          },
          select: USER_FIELDS,
        })
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new EmailTakenError()
        throw error
      }
    },

    findByEmail(email: string): Promise<UserRecord | null> {
      return db.user.findUnique({ where: { email }, select: USER_FIELDS })
    },

    async findById(id: string): Promise<UserRecord | null> {
      if (!isUuid(id)) return null
      return db.user.findUnique({ where: { id }, select: USER_FIELDS })
    },

    /** Row-locks the user for the rest of the transaction: logins and password changes of one user queue here. */
    async lock(id: string): Promise<boolean> {
      if (!isUuid(id)) return false
      const rows = await db.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE id = ${id}::uuid FOR UPDATE`
      return rows.length > 0
    },

    /**
     * One page of users in creation order (then id), after `after` when given: those whose email
     * contains `emailContains`, or the one with id `id`.
     */
    findPage(filter: { emailContains?: string | undefined; id?: string | undefined; after?: { createdAt: Date; id: string } | undefined; limit: number }): Promise<UserRecord[]> {
      if (filter.id !== undefined && !isUuid(filter.id)) return Promise.resolve([])
      const after = filter.after
      return db.user.findMany({
        where: {
          ...(filter.id !== undefined ? { id: filter.id } : {}),
          ...(filter.emailContains ? { email: { contains: likeLiteral(filter.emailContains) } } : {}),
          ...(after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: filter.limit,
        select: USER_FIELDS,
      })
    },

    /** Sets or clears the disabled mark; false when there is no such user. */
    async setDisabledAt(id: string, disabledAt: Date | null, now: Date): Promise<boolean> {
      if (!isUuid(id)) return false
      const { count } = await db.user.updateMany({ where: { id }, data: { disabledAt, updatedAt: now } })
      return count > 0
    },

    /**
     * Erases the user: the account row and, by its foreign keys, every session, refresh token,
     * security event, cart, idempotency record, authorization code and consent of theirs. Each
     * session's id is kept first in erased_sessions (revoked now, unless it already was), so the
     * revocations feed goes on refusing access tokens that are still unexpired. Returns how many
     * sessions it kept that way; null when there is no such user. Run it inside a transaction.
     */
    async erase(id: string, now: Date): Promise<{ sessions: number } | null> {
      if (!isUuid(id)) return null
      const sessions = await db.$executeRaw`
        INSERT INTO erased_sessions (id, revoked_at)
        SELECT id, COALESCE(revoked_at, ${now}) FROM sessions WHERE user_id = ${id}::uuid
        ON CONFLICT (id) DO NOTHING`
      const { count } = await db.user.deleteMany({ where: { id } })
      return count > 0 ? { sessions } : null
    },

    /**
     * Stores a new digest, only while the credentials are still at `credentialsVersion` (the
     * version the caller verified the password against); false, with nothing written, otherwise.
     * A change bumps the version; a rehash of the same password does not.
     */
    async updatePasswordHash(id: string, passwordHash: string, options: { changed: boolean; credentialsVersion: number; now: Date }): Promise<boolean> {
      const { count } = await db.user.updateMany({
        where: { id, credentialsVersion: options.credentialsVersion },
        data: {
          passwordHash,
          updatedAt: options.now,
          ...(options.changed ? { passwordChangedAt: options.now, credentialsVersion: { increment: 1 } } : {}),
        },
      })
      return count === 1
    },
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>
