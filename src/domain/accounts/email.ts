export const EMAIL_MAX_LENGTH = 254

// Deliberately modest: one @, a non-empty local part without spaces, a dotted domain of DNS-ish
// labels. Whether the mailbox exists is not something a regular expression can tell.
const EMAIL = /^[^\s@"(),:;<>[\\\]]{1,64}@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])$/

/**
 * Emails are one account whatever their case, surrounding spaces or Unicode composition: `café`
 * typed precomposed (U+00E9) or decomposed (e + U+0301) is one address (NFC).
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase().normalize('NFC')
}

// Characters that render as nothing, or reorder or disguise the text around them: controls and
// format characters (zero-width spaces and joiners, bidi overrides), unassigned and private-use
// code points, default-ignorable ones (the Hangul fillers) and every separator but the plain space.
// An address containing one could pass for another account's in a list or an email.
const INVISIBLE = /(?! )[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}]/u

/** True when a (normalized) email holds a character that cannot be seen: refused outright. */
export function hasInvisibleCharacters(normalized: string): boolean {
  return INVISIBLE.test(normalized)
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
