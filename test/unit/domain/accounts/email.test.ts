import { describe, expect, it } from 'vitest'
import { isValidEmail, normalizeEmail, normalizeName } from '../../../../src/domain/accounts/email.js'

describe('emails', () => {
  it.each([
    ['  Ada@Example.COM ', 'ada@example.com'],
    ['ada@example.com', 'ada@example.com'],
    ['\tBOB+tag@Sub.Example.org\n', 'bob+tag@sub.example.org'],
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
