import type { Cart, CartItem } from '../domain/cart/cart.js'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import { statement, type SqlRunner } from '../db/sql.js'
import { isTransientConflict } from './database-errors.js'

interface NullableItem {
  id: string | null
  sku: string | null
  quantity: number | null
  createdAt: Date | null
  updatedAt: Date | null
}

interface CartRow extends NullableItem {
  version: number
}

/** A cart add as stored for its idempotency key (JSON: dates as strings). */
interface StoredAdd {
  item: Omit<CartItem, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string }
  version: number
}

/** The first answer to a cart add sent with an idempotency key, and what its request looked like. */
export interface IdempotentAdd {
  fingerprint: string
  result: { item: CartItem; version: number }
}

/**
 * Statements that change a cart, for use inside one transaction. Every one of them runs on the
 * transaction's own client: the embedded PGlite is a single multiplexed session, so awaiting
 * another connection while a transaction is open would wait forever.
 */
function cartWriter(tx: Prisma.TransactionClient) {
  return {
    /**
     * Bumps the cart's version, creating the cart (at version 1) if needed, and returns the new
     * version. The row lock it takes serializes every write to one cart. `null` when the user
     * does not exist.
     */
    async bumpOrCreate(userId: string, now: Date): Promise<number | null> {
      const at = now.toISOString()
      const rows = await tx.$queryRaw<{ version: number }[]>`
        INSERT INTO carts (user_id, version, updated_at)
        SELECT id, 1, ${at}::timestamptz FROM users WHERE id = ${userId}::uuid
        ON CONFLICT (user_id) DO UPDATE SET version = carts.version + 1, updated_at = EXCLUDED.updated_at
        RETURNING version`
      return rows[0]?.version ?? null
    },

    /** Bumps the version of an existing cart and returns it; `null` when the user has no cart. */
    async bump(userId: string, now: Date): Promise<number | null> {
      const rows = await tx.$queryRaw<{ version: number }[]>`
        UPDATE carts SET version = version + 1, updated_at = ${now.toISOString()}::timestamptz
        WHERE user_id = ${userId}::uuid
        RETURNING version`
      return rows[0]?.version ?? null
    },

    /**
     * Adds to the quantity of a sku, or inserts it, in one statement, so concurrent adds never
     * lose an update. `null` (and nothing written) when the total would exceed `max`.
     */
    async add(userId: string, item: { sku: string; quantity: number }, max: number, now: Date): Promise<CartItem | null> {
      const at = now.toISOString()
      const rows = await tx.$queryRaw<CartItem[]>`
        INSERT INTO cart_items (user_id, sku, quantity, created_at, updated_at)
        VALUES (${userId}::uuid, ${item.sku}, ${item.quantity}, ${at}::timestamptz, ${at}::timestamptz)
        ON CONFLICT (user_id, sku) DO UPDATE
          SET quantity = cart_items.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
          WHERE cart_items.quantity + EXCLUDED.quantity <= ${max}
        RETURNING id, sku, quantity, created_at AS "createdAt", updated_at AS "updatedAt"`
      return rows[0] ?? null
    },

    /** `null` when the user has no such item. */
    async setQuantity(userId: string, itemId: string, quantity: number, now: Date): Promise<CartItem | null> {
      const rows = await tx.$queryRaw<CartItem[]>`
        UPDATE cart_items SET quantity = ${quantity}, updated_at = ${now.toISOString()}::timestamptz
        WHERE id = ${itemId}::uuid AND user_id = ${userId}::uuid
        RETURNING id, sku, quantity, created_at AS "createdAt", updated_at AS "updatedAt"`
      return rows[0] ?? null
    },

    /** False when the user has no such item. */
    async remove(userId: string, itemId: string): Promise<boolean> {
      const count = await tx.$executeRaw`DELETE FROM cart_items WHERE id = ${itemId}::uuid AND user_id = ${userId}::uuid`
      return count > 0
    },

    async removeAll(userId: string): Promise<void> {
      await tx.$executeRaw`DELETE FROM cart_items WHERE user_id = ${userId}::uuid`
    },

    /**
     * Claims an idempotency key for this transaction (null), or returns the record that holds it.
     * A concurrent claim of the same key waits on the insert until its transaction ends, then sees
     * the committed record (or claims the key itself if that transaction rolled back), so two
     * duplicates sent at once still add once. A record created before `forgetBefore` is dropped
     * first: its key is free again. Also null when the user does not exist (nothing claimed).
     */
    async claimIdempotencyKey(userId: string, key: string, fingerprint: string, now: Date, forgetBefore: Date): Promise<IdempotentAdd | null> {
      await tx.$executeRaw`
        DELETE FROM idempotency_records
         WHERE user_id = ${userId}::uuid AND key = ${key} AND created_at < ${forgetBefore.toISOString()}::timestamptz`
      const claimed = await tx.$executeRaw`
        INSERT INTO idempotency_records (user_id, key, fingerprint, created_at)
        SELECT id, ${key}, ${fingerprint}, ${now.toISOString()}::timestamptz FROM users WHERE id = ${userId}::uuid
        ON CONFLICT (user_id, key) DO NOTHING`
      if (claimed > 0) return null
      const [record] = await tx.$queryRaw<Array<{ fingerprint: string; response: StoredAdd | null }>>`
        SELECT fingerprint, response FROM idempotency_records WHERE user_id = ${userId}::uuid AND key = ${key}`
      if (!record?.response) return null
      const { item, version } = record.response
      return {
        fingerprint: record.fingerprint,
        result: { item: { ...item, createdAt: new Date(item.createdAt), updatedAt: new Date(item.updatedAt) }, version },
      }
    },

    /** The answer to give every retry of the key this transaction claimed. */
    async recordIdempotentAdd(userId: string, key: string, result: { item: CartItem; version: number }): Promise<void> {
      await tx.$executeRaw`
        UPDATE idempotency_records SET response = ${JSON.stringify(result)}::jsonb
         WHERE user_id = ${userId}::uuid AND key = ${key}`
    },
  }
}

export type CartWriter = ReturnType<typeof cartWriter>

const FIND_CART = statement(
  'find_cart',
  `SELECT c.version, i.id, i.sku, i.quantity, i.created_at AS "createdAt", i.updated_at AS "updatedAt"
     FROM carts c LEFT JOIN cart_items i ON i.user_id = c.user_id
    WHERE c.user_id = $1::uuid
    ORDER BY i.created_at, i.id`,
)

// $1 user, $2 sku, $3 quantity, $4 now, $5 the most of one sku.
const ADD_TO_EXISTING_CART = statement(
  'add_to_existing_cart',
  `WITH locked AS (
     SELECT user_id FROM carts WHERE user_id = $1::uuid FOR UPDATE
   ), item AS (
     INSERT INTO cart_items (user_id, sku, quantity, created_at, updated_at)
     SELECT user_id, $2::text, $3::int, $4::timestamptz, $4::timestamptz FROM locked
     ON CONFLICT (user_id, sku) DO UPDATE
       SET quantity = cart_items.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
       WHERE cart_items.quantity + EXCLUDED.quantity <= $5::int
     RETURNING id, user_id, sku, quantity, created_at, updated_at
   ), cart AS (
     UPDATE carts SET version = carts.version + 1, updated_at = $4::timestamptz
       FROM item WHERE carts.user_id = item.user_id
     RETURNING carts.version
   )
   SELECT (SELECT count(*) FROM locked)::int AS carts, cart.version,
          item.id, item.sku, item.quantity, item.created_at AS "createdAt", item.updated_at AS "updatedAt"
     FROM (SELECT 1) AS one LEFT JOIN item ON true LEFT JOIN cart ON true`,
)

/** The cart reads and writes; the read and the common add are single statements sent through pg (db/sql.ts). */
export function createCartRepository(prisma: PrismaClient, sql: SqlRunner) {
  return {
    /** The items and the version in one statement, so they are read from one snapshot. */
    async find(userId: string): Promise<Cart> {
      const rows = await sql<CartRow>(FIND_CART, [userId])
      const items: CartItem[] = []
      for (const row of rows) {
        if (row.id !== null) {
          items.push({ id: row.id, sku: row.sku!, quantity: row.quantity!, createdAt: row.createdAt!, updatedAt: row.updatedAt! })
        }
      }
      return { items, version: rows[0]?.version ?? 0 }
    },

    /**
     * An add without preconditions to an existing cart in one statement (one round trip, no
     * explicit transaction), with the effect and the lock order of a transaction of bump and add:
     * the cart row is locked first, then the item is upserted, and only if it was is the version
     * bumped. `refused` when the total would exceed `max`, nothing written. Null, nothing written,
     * when there is no cart yet (the first write creates it in a transaction) or the statement
     * lost a deadlock: the caller then uses the transaction.
     */
    async addToExisting(
      userId: string,
      item: { sku: string; quantity: number },
      max: number,
      now: Date,
    ): Promise<{ item: CartItem; version: number } | 'refused' | null> {
      try {
        const [row] = await sql<{ carts: number; version: number | null } & NullableItem>(ADD_TO_EXISTING_CART, [userId, item.sku, item.quantity, now.toISOString(), max])
        if (!row || row.carts === 0) return null
        if (row.version === null || row.id === null) return 'refused'
        return { item: { id: row.id, sku: row.sku!, quantity: row.quantity!, createdAt: row.createdAt!, updatedAt: row.updatedAt! }, version: row.version }
      } catch (error) {
        if (isTransientConflict(error)) return null
        throw error
      }
    },

    /** Runs `work` in one transaction; it commits when `work` resolves and rolls back when it throws. */
    transaction<T>(work: (carts: CartWriter) => Promise<T>): Promise<T> {
      return prisma.$transaction((tx) => work(cartWriter(tx)), { maxWait: 5_000, timeout: 10_000 })
    },
  }
}

export type CartRepository = ReturnType<typeof createCartRepository>
