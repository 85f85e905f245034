import type { AuthorizationCode } from '../generated/prisma/client.js'
import type { Db } from './users.js'

export type AuthorizationCodeRecord = AuthorizationCode

export type NewAuthorizationCode = Omit<AuthorizationCodeRecord, 'consumedAt' | 'sessionId'>

export function createAuthorizationCodesRepository(db: Db) {
  return {
    async insert(code: NewAuthorizationCode): Promise<void> {
      await db.authorizationCode.create({ data: code })
    },

    /** The code row, locked until the transaction ends: two redemptions of one code queue here. */
    async lock(codeHash: string): Promise<AuthorizationCodeRecord | null> {
      const rows = await db.$queryRaw<Array<{ code_hash: string }>>`SELECT code_hash FROM authorization_codes WHERE code_hash = ${codeHash} FOR UPDATE`
      return rows.length === 0 ? null : db.authorizationCode.findUnique({ where: { codeHash } })
    },

    async markConsumed(codeHash: string, at: Date, sessionId: string): Promise<void> {
      await db.authorizationCode.update({ where: { codeHash }, data: { consumedAt: at, sessionId } })
    },
  }
}

export type AuthorizationCodesRepository = ReturnType<typeof createAuthorizationCodesRepository>
