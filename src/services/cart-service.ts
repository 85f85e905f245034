import { CART_LIMITS, type Cart, type CartItem } from '../domain/cart/cart.js'
import { isUuid } from '../domain/ids.js'
import { idempotencyCutoff, requestFingerprint } from '../domain/idempotency/idempotency-key.js'
import { bearerError, ProblemError } from '../errors.js'
import type { CartRepository, CartWriter } from '../repositories/carts.js'
import type { Clock } from './access-tokens.js'

export interface WriteConditions {
  /**
   * The cart versions the client expects (its If-Match), checked before the write; undefined
   * writes whatever the version.
   */
  expectedVersions?: readonly number[] | undefined
}

export interface AddOptions extends WriteConditions {
  /** The client's idempotency key: a retry with it within the retention gets the first answer. */
  idempotencyKey?: string | undefined
}

/**
 * The cart use cases. Every write runs in one transaction that first bumps the cart's version
 * (which locks the cart row, serializing writes to one cart), then changes the items; any refusal
 * throws, which rolls the whole transaction back, version included. An add without If-Match to
 * an existing cart, the common write, is one statement with the same effect and locks instead.
 */
export function createCartService(deps: { carts: CartRepository; clock: Clock }) {
  const { carts, clock } = deps

  function userIdOf(subject: string): string {
    // Client-credentials tokens name a client, not a user: there is no cart behind them.
    if (!isUuid(subject)) throw bearerError('insufficient_scope', 'Only a user has a cart', 'cart')
    return subject
  }

  function itemNotFound(): ProblemError {
    return new ProblemError('not_found', 'No such item in your cart')
  }

  function quantityLimitExceeded(input: { sku: string; quantity: number }): ProblemError {
    return new ProblemError('quantity_limit_exceeded', `Adding ${input.quantity} of ${input.sku} would take it above ${CART_LIMITS.maxQuantity}`)
  }

  function checkPrecondition(conditions: WriteConditions, currentVersion: number) {
    if (conditions.expectedVersions !== undefined && !conditions.expectedVersions.includes(currentVersion)) {
      throw new ProblemError('precondition_failed', `The cart is at version ${currentVersion}; read it again and retry`)
    }
  }

  /** A version bump for a cart that may not exist yet; the user behind a valid token may have been deleted. */
  async function bumpOrCreate(writer: CartWriter, userId: string, now: Date): Promise<number> {
    const version = await writer.bumpOrCreate(userId, now)
    if (version === null) throw bearerError('invalid_token', 'The user of this token no longer exists')
    return version
  }

  return {
    async get(subject: string): Promise<Cart> {
      return carts.find(userIdOf(subject))
    },

    async add(subject: string, input: { sku: string; quantity: number }, options: AddOptions = {}): Promise<{ item: CartItem; version: number }> {
      const userId = userIdOf(subject)
      const { idempotencyKey } = options
      if (options.expectedVersions === undefined && idempotencyKey === undefined) {
        const added = await carts.addToExisting(userId, input, CART_LIMITS.maxQuantity, clock())
        if (added === 'refused') throw quantityLimitExceeded(input)
        if (added) return added
      }
      return carts.transaction(async (writer) => {
        const now = clock()
        if (idempotencyKey !== undefined) {
          const fingerprint = requestFingerprint([input.sku, input.quantity])
          const first = await writer.claimIdempotencyKey(userId, idempotencyKey, fingerprint, now, idempotencyCutoff(now))
          if (first) {
            if (first.fingerprint !== fingerprint) throw new ProblemError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body')
            return first.result
          }
        }
        const version = await bumpOrCreate(writer, userId, now)
        checkPrecondition(options, version - 1)
        const item = await writer.add(userId, input, CART_LIMITS.maxQuantity, now)
        if (!item) throw quantityLimitExceeded(input)
        // A refusal above rolls the claim back with everything else: a retry is then a new attempt.
        if (idempotencyKey !== undefined) await writer.recordIdempotentAdd(userId, idempotencyKey, { item, version })
        return { item, version }
      })
    },

    async setQuantity(subject: string, itemId: string, quantity: number, conditions: WriteConditions = {}): Promise<{ item: CartItem; version: number }> {
      const userId = userIdOf(subject)
      if (!isUuid(itemId)) throw itemNotFound()
      return carts.transaction(async (writer) => {
        const now = clock()
        const version = await writer.bump(userId, now)
        if (version === null) throw itemNotFound()
        const item = await writer.setQuantity(userId, itemId, quantity, now)
        if (!item) throw itemNotFound()
        // After the existence check: RFC 9110 §13.2.1 puts a 404 before a 412.
        checkPrecondition(conditions, version - 1)
        return { item, version }
      })
    },

    async remove(subject: string, itemId: string, conditions: WriteConditions = {}): Promise<{ version: number }> {
      const userId = userIdOf(subject)
      if (!isUuid(itemId)) throw itemNotFound()
      return carts.transaction(async (writer) => {
        const version = await writer.bump(userId, clock())
        if (version === null) throw itemNotFound()
        if (!(await writer.remove(userId, itemId))) throw itemNotFound()
        checkPrecondition(conditions, version - 1)
        return { version }
      })
    },

    async clear(subject: string, conditions: WriteConditions = {}): Promise<{ version: number }> {
      const userId = userIdOf(subject)
      return carts.transaction(async (writer) => {
        const version = await bumpOrCreate(writer, userId, clock())
        checkPrecondition(conditions, version - 1)
        await writer.removeAll(userId)
        return { version }
      })
    },
  }
}

export type CartService = ReturnType<typeof createCartService>
