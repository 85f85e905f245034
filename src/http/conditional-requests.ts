/**
 * Conditional requests (RFC 9110 §13): the one place entity tags are written and If-Match and
 * If-None-Match are read. Use cases take what this module parses (the versions a client expects),
 * never a header.
 */

/** The strong entity tag of a version: `"7"`. */
export function entityTag(version: number | string): string {
  return `"${version}"`
}

// RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7E\x80-\xFF]*"`

/** `*` or a comma-separated list of entity tags, as If-Match and If-None-Match carry (RFC 9110 §13.1). */
export const ENTITY_TAG_LIST_PATTERN = String.raw`^\s*(?:\*|${ENTITY_TAG}(?:\s*,\s*${ENTITY_TAG})*)\s*$`

const ENTITY_TAG_LIST = new RegExp(ENTITY_TAG_LIST_PATTERN)
const ENTITY_TAG_GLOBAL = /(W\/)?"([^"]*)"/g

export interface EntityTag {
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
 * If-None-Match uses the weak comparison (RFC 9110 §13.1.2): true means "not modified". `etag` is
 * the current representation's tag as sent in the ETag header.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const tags = parseEntityTags(header)
  if (tags === null) return false
  if (tags === '*') return true
  const current = parseEntityTags(etag)
  if (current === null || current === '*' || current.length !== 1) return false
  return tags.some((tag) => tag.opaque === current[0]!.opaque)
}

const VERSION = /^(?:0|[1-9][0-9]{0,14})$/

/**
 * If-Match against a numbered resource (RFC 9110 §13.1.1, strong comparison): the versions the
 * client expects, or undefined when the write is unconditional (no header, or `*` for a resource
 * that always exists). Weak tags never match, so they expect nothing; a malformed header expects
 * nothing either, and fails every write.
 */
export function expectedVersions(ifMatch: string | undefined): readonly number[] | undefined {
  if (ifMatch === undefined) return undefined
  const tags = parseEntityTags(ifMatch)
  if (tags === '*') return undefined
  return (tags ?? []).filter((tag) => !tag.weak && VERSION.test(tag.opaque)).map((tag) => Number(tag.opaque))
}
