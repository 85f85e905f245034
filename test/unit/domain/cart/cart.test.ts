import { describe, expect, it } from 'vitest'
import { SKU_PATTERN } from '../../../../src/domain/cart/cart.js'
import { isUuid } from '../../../../src/domain/ids.js'

describe('sku pattern', () => {
  const sku = new RegExp(SKU_PATTERN, 'u')
  it.each(['a', 'A-1', 'x_y.z', '0'.repeat(64), 'ABCxyz019-_.'])('accepts %j', (value) => {
    expect(sku.test(value)).toBe(true)
  })
  it.each(['', 'a'.repeat(65), 'a b', 'a/b', 'é', 'a\n', 'a+b', 'a:b'])('refuses %j', (value) => {
    expect(sku.test(value)).toBe(false)
  })
})

describe('isUuid', () => {
  it.each([
    ['0b5e6f4e-9c1a-4d2b-8f3e-1a2b3c4d5e6f', true],
    ['0B5E6F4E-9C1A-4D2B-8F3E-1A2B3C4D5E6F', true],
    ['0b5e6f4e9c1a4d2b8f3e1a2b3c4d5e6f', false],
    ['{0b5e6f4e-9c1a-4d2b-8f3e-1a2b3c4d5e6f}', false],
    ['not-a-uuid', false],
    ['', false],
  ])('%j → %s', (value, expected) => {
    expect(isUuid(value)).toBe(expected)
  })
})
