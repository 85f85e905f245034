import { Type } from 'typebox'
import { CART_LIMITS, SKU_PATTERN } from '../../../domain/cart/cart.js'
import { IDEMPOTENCY_RETENTION_SECONDS } from '../../../domain/idempotency/idempotency-key.js'
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN } from '../../../http/idempotency-key.js'
import { IfMatchSchema, IfNoneMatchSchema, MAX_PARAM_LENGTH, PathIdSchema } from '../../../http/schemas.js'

const QuantitySchema = Type.Integer({
  format: 'int32',
  minimum: CART_LIMITS.minQuantity,
  maximum: CART_LIMITS.maxQuantity,
  description: `An integer from ${CART_LIMITS.minQuantity} to ${CART_LIMITS.maxQuantity}.`,
})

// Dates leave the service as Date objects; the serializer writes them as ISO 8601 strings.
const DateTimeSchema = Type.Unsafe<Date>({ type: 'string', format: 'date-time' })

const EXAMPLE_ITEM = {
  id: '5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a',
  sku: 'TEA-EARL-GREY-250G',
  quantity: 2,
  createdAt: '2025-03-14T09:30:00.000Z',
  updatedAt: '2025-03-14T09:31:12.500Z',
}

export const CartItemSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The item id, for PATCH and DELETE /v1/cart/items/{id}.' }),
    sku: Type.String({ description: 'The product\'s stock-keeping unit.' }),
    quantity: Type.Integer({ minimum: CART_LIMITS.minQuantity, maximum: CART_LIMITS.maxQuantity }),
    createdAt: DateTimeSchema,
    updatedAt: DateTimeSchema,
  },
  { title: 'CartItem', description: 'One sku in your cart, with its quantity.', examples: [EXAMPLE_ITEM] },
)

export const CartSchema = Type.Object(
  {
    items: Type.Array(CartItemSchema, { description: 'Oldest first (by createdAt, then id).' }),
    version: Type.Integer({ minimum: 0, description: 'Bumped by every change; the same value as the ETag, unquoted.' }),
  },
  { title: 'Cart', examples: [{ items: [EXAMPLE_ITEM], version: 7 }] },
)

export const AddItemBodySchema = Type.Object(
  {
    sku: Type.String({
      minLength: 1,
      maxLength: CART_LIMITS.skuMaxLength,
      pattern: SKU_PATTERN,
      description: `1 to ${CART_LIMITS.skuMaxLength} characters of A-Z a-z 0-9 - _ .`,
    }),
    quantity: QuantitySchema,
  },
  { examples: [{ sku: EXAMPLE_ITEM.sku, quantity: 2 }] },
)

export const SetQuantityBodySchema = Type.Object({ quantity: QuantitySchema }, { examples: [{ quantity: 3 }] })

export const ItemParamsSchema = Type.Object({
  id: PathIdSchema('The item id. Anything that is not the id of an item in your cart, a malformed one included, is 404.', [EXAMPLE_ITEM.id], MAX_PARAM_LENGTH),
})

export const ConditionalWriteHeadersSchema = Type.Object({
  'if-match': Type.Optional(
    IfMatchSchema('The ETag of the cart as last read (or `*`): the write is refused with 412 if the cart changed since. A malformed value is 400.'),
  ),
})

export const AddItemHeadersSchema = Type.Object({
  ...ConditionalWriteHeadersSchema.properties,
  'idempotency-key': Type.Optional(
    Type.String({
      maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description: `Makes the add safe to retry (draft-ietf-httpapi-idempotency-key-header): a retry with the same key and the same body, by the same user, within ${IDEMPOTENCY_RETENTION_SECONDS / 3600} h, gets the first answer and adds nothing; the same key with another body is 422 \`idempotency_key_reused\`. 1 to 255 visible ASCII characters, as a structured-field string (\`"…"\`) or bare; a random UUID per add is the usual choice. A malformed value is 400.`,
      examples: ['"4c8a2d6e-3f1b-4a9e-8d7c-2b5e9f0a1c3d"'],
    }),
  ),
})

export const ConditionalReadHeadersSchema = Type.Object({
  'if-none-match': Type.Optional(IfNoneMatchSchema('The ETag last read: 304 if the cart has not changed since. A malformed value is 400.')),
})

export const EntityTagHeader = { type: 'string', description: 'The cart version as a strong entity tag, e.g. "7".' } as const
