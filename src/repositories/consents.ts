import type { Db } from './users.js'

export function createConsentsRepository(db: Db) {
  return {
    /** The scopes the user let this client have, none when never asked. */
    async granted(userId: string, clientId: string): Promise<string[]> {
      const row = await db.oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId } } })
      return row?.scopes ?? []
    },

    /** Adds scopes to what the user let the client have. */
    async grant(userId: string, clientId: string, scopes: readonly string[], now: Date): Promise<void> {
      const existing = await db.oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId } } })
      const all = [...new Set([...(existing?.scopes ?? []), ...scopes])]
      await db.oAuthConsent.upsert({
        where: { userId_clientId: { userId, clientId } },
        create: { userId, clientId, scopes: all, grantedAt: now },
        update: { scopes: all, grantedAt: now },
      })
    },
  }
}

export type ConsentsRepository = ReturnType<typeof createConsentsRepository>
