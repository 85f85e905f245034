import { describe, expect, it } from 'vitest'
import { COMMON_PASSWORDS } from '../../../../src/domain/passwords/common-passwords.js'
import { passwordWeakness, type PasswordWeakness } from '../../../../src/domain/passwords/password-policy.js'

describe('password policy', () => {
  it('ships a few thousand lower-case common passwords of at least 8 characters', () => {
    expect(COMMON_PASSWORDS.length).toBeGreaterThanOrEqual(2000)
    expect(new Set(COMMON_PASSWORDS).size).toBe(COMMON_PASSWORDS.length)
    for (const password of COMMON_PASSWORDS) {
      expect(password).toBe(password.toLowerCase())
      expect(password.length).toBeGreaterThanOrEqual(8)
    }
  })

  const cases: [string, string, PasswordWeakness | null][] = [
    ['7 characters', 'abcdefg', 'too_short'],
    ['empty', '', 'too_short'],
    ['7 characters of astral plane (14 UTF-16 units)', '😀'.repeat(7), 'too_short'],
    ['8 unusual characters', 'xq7!Lz0#', null],
    ['256 characters', 'a1'.repeat(128), null],
    ['257 characters', `${'a1'.repeat(128)}b`, 'too_long'],
    ['a common one', 'password', 'common'],
    ['a common one in another case', 'PassWord1', 'common'],
    ['another common one', 'iloveyou', 'common'],
    ['a passphrase', 'correct horse battery staple', null],
  ]

  it.each(cases)('%s', (_name, password, expected) => {
    expect(passwordWeakness(password)).toBe(expected)
  })
})
