import { describe, expect, it } from 'vitest'
import { hasInvisibleCharacters, isValidEmail, normalizeEmail, normalizeName } from '../../../../src/domain/accounts/email.js'

describe('emails', () => {
  it.each([
    ['  Ada@Example.COM ', 'ada@example.com'],
    ['ada@example.com', 'ada@example.com'],
    ['\tBOB+tag@Sub.Example.org\n', 'bob+tag@sub.example.org'],
    ['Cafe\u0301@example.com', 'caf\u00e9@example.com'],
    ['CAF\u00c9@example.com', 'caf\u00e9@example.com'],
  ])('%j normalises to %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected)
  })

  it.each([
    ['ada@example.com', true],
    ['first.last+tag@mail.example.co.uk', true],
    ['o\'brien@example.ie', true],
    ['ada@xn--80ak6aa92e.com', true],
    ['ada@example.xn--p1ai', true],
    ['', false],
    ['ada', false],
    ['ada@', false],
    ['@example.com', false],
    ['ada@example', false],
    ['ada@@example.com', false],
    ['ada lovelace@example.com', false],
    ['ada@exa mple.com', false],
    ['ada@-example.com', false],
    ['ada@example..com', false],
    ['ada@example.c', false],
    ['<ada@example.com>', false],
    [`${'a'.repeat(65)}@example.com`, false],
    [`ada@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}.com`, false],
  ])('%j valid: %s', (email, expected) => {
    expect(isValidEmail(email)).toBe(expected)
  })
})

describe('invisible characters', () => {
  it.each(['ada@example.com', 'caf\u00e9@example.com', 'ada lovelace@example.com', '\u00e5sa@example.com'])('%j has none', (email) => {
    expect(hasInvisibleCharacters(email)).toBe(false)
  })

  const invisible = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u2066', '\u3164', '\u115f', '\ufe0f', '\u00a0', '\u2028', '\u0000', '\u001b', '\u007f', '\ue000', '\u0378']
  it.each(invisible.map((character) => [character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0'), character]))('U+%s is refused', (_code, character) => {
    expect(hasInvisibleCharacters(`ada${character}@example.com`)).toBe(true)
  })
})

describe('names', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['', null],
    ['   ', null],
    ['  Ada Lovelace ', 'Ada Lovelace'],
  ])('%j becomes %j', (input, expected) => {
    expect(normalizeName(input)).toBe(expected)
  })
})
