import { describe, expect, it } from 'vitest'
import {
  ENTITY_TAG_LIST_PATTERN,
  SKU_PATTERN,
  entityTagOf,
  ifMatchSatisfied,
  ifNoneMatchHit,
  isUuid,
  parseEntityTags,
} from '../../../src/domain/cart/cart.js'

describe('entity tags', () => {
  it('serves a version as a strong, quoted tag', () => {
    expect(entityTagOf(0)).toBe('"0"')
    expect(entityTagOf(42)).toBe('"42"')
  })

  it.each([
    ['"1"', [{ weak: false, opaque: '1' }]],
    ['W/"1"', [{ weak: true, opaque: '1' }]],
    ['  "1" ,W/"2",  "x y"  ', null],
    ['"1" ,W/"2",  "x-y"', [{ weak: false, opaque: '1' }, { weak: true, opaque: '2' }, { weak: false, opaque: 'x-y' }]],
    ['""', [{ weak: false, opaque: '' }]],
    ['*', '*'],
    [' * ', '*'],
    ['1', null],
    ['"1', null],
    ['w/"1"', null],
    ['*, "1"', null],
    ['"1" "2"', null],
    ['', null],
  ])('parses %j', (header, expected) => {
    expect(parseEntityTags(header)).toEqual(expected)
  })

  it('the schema pattern accepts exactly what the parser accepts', () => {
    const pattern = new RegExp(ENTITY_TAG_LIST_PATTERN, 'u')
    for (const header of ['"1"', 'W/"1", "2"', '*', '1', '"1', '', 'W/ "1"']) {
      expect(pattern.test(header), header).toBe(parseEntityTags(header) !== null)
    }
  })
})

describe('If-Match (strong comparison)', () => {
  it.each([
    [undefined, 3, true],
    ['"3"', 3, true],
    ['"2", "3"', 3, true],
    ['*', 3, true],
    ['*', 0, true],
    ['"2"', 3, false],
    ['W/"3"', 3, false],
    ['"03"', 3, false],
    ['3', 3, false],
  ])('%j against version %i → %s', (header, version, expected) => {
    expect(ifMatchSatisfied(header, version)).toBe(expected)
  })
})

describe('If-None-Match (weak comparison)', () => {
  it.each([
    [undefined, 3, false],
    ['"3"', 3, true],
    ['W/"3"', 3, true],
    ['"1", "3"', 3, true],
    ['*', 3, true],
    ['"2"', 3, false],
    ['garbage', 3, false],
  ])('%j against version %i → %s', (header, version, expected) => {
    expect(ifNoneMatchHit(header, version)).toBe(expected)
  })
})

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
