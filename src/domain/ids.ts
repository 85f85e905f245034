const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Ids come from tokens and URLs; anything that is not a UUID names no row (and must not reach a uuid cast). */
export function isUuid(value: string): boolean {
  return UUID.test(value)
}
