/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the header is a Structured Field
 * string, `"8e03978e-…"`; the bare form most clients send (Stripe's) is accepted too and names the
 * same key. 1 to 255 visible ASCII characters, without quotes or backslashes inside.
 */
export const IDEMPOTENCY_KEY_PATTERN = '^(?:"[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,255}"|[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,255})$'

/** The longest header the pattern admits: 255 characters and the two quotes. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 257

/** The key a header names, quotes removed. */
export function idempotencyKeyOf(header: string): string {
  return header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header
}
