/** The cart's rules, shared by the HTTP schemas and the service. */
export const CART_LIMITS = {
  minQuantity: 1,
  maxQuantity: 999,
  skuMaxLength: 64,
} as const

export const SKU_PATTERN = '^[A-Za-z0-9._-]{1,64}$'

export interface CartItem {
  id: string
  sku: string
  quantity: number
  createdAt: Date
  updatedAt: Date
}

/**
 * A user's cart. `version` counts the changes made to it (0 for a cart never written) and is
 * served as the ETag, so clients can make a write conditional on what they last read.
 */
export interface Cart {
  items: CartItem[]
  version: number
}
