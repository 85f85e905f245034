import { COMMON_PASSWORDS } from './common-passwords.js'

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 256

const COMMON = new Set(COMMON_PASSWORDS)

export type PasswordWeakness = 'too_short' | 'too_long' | 'common'

/** Length counts characters (code points), not UTF-16 units or bytes. */
export function passwordLength(password: string): number {
  return [...password].length
}

/** Why a password may not be chosen, or null when it may. */
export function passwordWeakness(password: string): PasswordWeakness | null {
  const length = passwordLength(password)
  if (length < PASSWORD_MIN_LENGTH) return 'too_short'
  if (length > PASSWORD_MAX_LENGTH) return 'too_long'
  if (COMMON.has(password.toLowerCase())) return 'common'
  return null
}

export const WEAKNESS_DETAIL = {
  too_short: `The password must be at least ${PASSWORD_MIN_LENGTH} characters long`,
  too_long: `The password must be at most ${PASSWORD_MAX_LENGTH} characters long`,
  common: 'The password is on a list of commonly used passwords; choose another',
} as const satisfies Record<PasswordWeakness, string>
