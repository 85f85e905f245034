import { isUuid } from '../domain/ids.js'
import { Prisma, type PrismaClient } from '../generated/prisma/client.js'

export type Db = PrismaClient | Prisma.TransactionClient

export interface UserRecord {
  id: string
  email: string
  name: string | null
  passwordHash: string
  createdAt: Date
}


const USER_FIELDS = { id: true, email: true, name: true, passwordHash: true, createdAt: true } as const

export class EmailTakenError extends Error {
  constructor() {
    super('email taken')
    this.name = 'EmailTakenError'
  }
}

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

    async updatePasswordHash(id: string, passwordHash: string, options: { changed: boolean; now: Date }): Promise<void> {
      await db.user.update({
        where: { id },
        data: {
          passwordHash,
          updatedAt: options.now,
          ...(options.changed ? { passwordChangedAt: options.now } : {}),
        },
      })
    },
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>
