export const EMAIL_MAX_LENGTH = 254

// Deliberately modest: one @, a non-empty local part without spaces, a dotted domain of DNS-ish
// labels. Whether the mailbox exists is not something a regular expression can tell.
const EMAIL = /^[^\s@"(),:;<>[\\\]]{1,64}@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])$/

/** Emails are one account whatever their case or surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function isValidEmail(normalized: string): boolean {
  return normalized.length <= EMAIL_MAX_LENGTH && EMAIL.test(normalized)
}

export const NAME_MAX_LENGTH = 100

/** A display name: trimmed, and absent when blank. */
export function normalizeName(name: string | null | undefined): string | null {
  const trimmed = name?.trim()
  return trimmed ? trimmed : null
}
