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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID.test(value)
}

/** The strong entity tag of a cart version: `"7"`. */
export function entityTagOf(version: number): string {
  return `"${version}"`
}

// RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7E\x80-\xFF]*"`

/** `*` or a comma-separated list of entity tags, as If-Match and If-None-Match carry (RFC 9110 §13.1). */
export const ENTITY_TAG_LIST_PATTERN = String.raw`^\s*(?:\*|${ENTITY_TAG}(?:\s*,\s*${ENTITY_TAG})*)\s*$`

const ENTITY_TAG_LIST = new RegExp(ENTITY_TAG_LIST_PATTERN)
const ENTITY_TAG_GLOBAL = /(W\/)?"([^"]*)"/g

interface EntityTag {
  weak: boolean
  opaque: string
}

/** `'*'`, the tags of a well-formed list, or `null` for a header that is not one. */
export function parseEntityTags(header: string): '*' | EntityTag[] | null {
  if (!ENTITY_TAG_LIST.test(header)) return null
  if (header.trim() === '*') return '*'
  return [...header.matchAll(ENTITY_TAG_GLOBAL)].map((match) => ({ weak: match[1] !== undefined, opaque: match[2]! }))
}

/**
 * If-Match uses the strong comparison (RFC 9110 §13.1.1): a weak tag never matches. No header
 * means the write is unconditional. A cart always exists (possibly empty), so `*` always matches.
 */
export function ifMatchSatisfied(header: string | undefined, version: number): boolean {
  if (header === undefined) return true
  const tags = parseEntityTags(header)
  if (tags === null) return false
  if (tags === '*') return true
  return tags.some((tag) => !tag.weak && tag.opaque === String(version))
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): true means "not modified". */
export function ifNoneMatchHit(header: string | undefined, version: number): boolean {
  if (header === undefined) return false
  const tags = parseEntityTags(header)
  if (tags === null) return false
  if (tags === '*') return true
  return tags.some((tag) => tag.opaque === String(version))
}
