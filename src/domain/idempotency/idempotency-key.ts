import { createHash } from 'node:crypto'

/** How long a key is remembered: a retry after this is a new request. */
export const IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600

/**
 * What makes two requests "the same request" for one key: a SHA-256 of the body's fields in a
 * fixed order, so property order and whitespace in the JSON do not matter.
 */
export function requestFingerprint(fields: readonly (string | number)[]): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64url')
}

/** Records created before this are forgotten: their key is free again. */
export function idempotencyCutoff(now: Date): Date {
  return new Date(now.getTime() - IDEMPOTENCY_RETENTION_SECONDS * 1000)
}
