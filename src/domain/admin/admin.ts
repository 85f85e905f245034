import { isUuid } from '../ids.js'

/**
 * The operator's side of tollgate: the scopes an admin token carries, who acted, and the cursor of
 * the users list. Pure: no Fastify, no database.
 */

/** Separate read and write scopes, granted only to clients (client_credentials), never to users. */
export const ADMIN_SCOPES = { read: 'admin:read', write: 'admin:write' } as const

export type AdminScope = (typeof ADMIN_SCOPES)[keyof typeof ADMIN_SCOPES]

export const ADMIN_SCOPE_LIST: readonly string[] = Object.values(ADMIN_SCOPES)

export function isAdminScope(scope: string): boolean {
  return ADMIN_SCOPE_LIST.includes(scope)
}

/**
 * Who performed an operator action, as its security event records it: an OAuth client through
 * the admin API (with the address it called from), or the `tollgate` command (with the OS user).
 */
export type Actor = { kind: 'client'; id: string; ip?: string | null | undefined } | { kind: 'cli'; id: string }

/** The users list is ordered by creation, then id; a cursor is the last row's position, opaque to clients. */
export interface UserCursor {
  createdAt: Date
  id: string
}

export function encodeUserCursor(cursor: UserCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`, 'utf8').toString('base64url')
}

/** The position a cursor names, or undefined for anything this service did not hand out. */
export function decodeUserCursor(value: string): UserCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) return undefined
  const [at, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|')
  if (rest.length > 0 || at === undefined || id === undefined || !isUuid(id)) return undefined
  const createdAt = new Date(at)
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) return undefined
  return { createdAt, id }
}
