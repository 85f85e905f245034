import type { Prisma } from '../generated/prisma/client.js'
import type { Db } from './users.js'

export interface SecurityEventInput {
  type: string
  at: Date
  userId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  details?: Record<string, unknown> | undefined
}

export interface SecurityEventRecord {
  type: string
  at: Date
  ip: string | null
  userAgent: string | null
  sessionId: string | null
  details: unknown
}

export function createSecurityEventsRepository(db: Db) {
  return {
    async insert(event: SecurityEventInput): Promise<void> {
      await db.securityEvent.create({
        data: {
          type: event.type,
          at: event.at,
          userId: event.userId,
          sessionId: event.sessionId,
          ip: event.ip,
          userAgent: event.userAgent,
          ...(event.details ? { details: event.details as Prisma.InputJsonObject } : {}),
        },
      })
    },

    /** The user's latest events, newest first. */
    listForUser(userId: string, limit: number): Promise<SecurityEventRecord[]> {
      return db.securityEvent.findMany({
        where: { userId },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: limit,
        select: { type: true, at: true, ip: true, userAgent: true, sessionId: true, details: true },
      })
    },
  }
}

export type SecurityEventsRepository = ReturnType<typeof createSecurityEventsRepository>
