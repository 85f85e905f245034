import { describe, expect, it } from 'vitest'
import { ENTITY_TAG_LIST_PATTERN, entityTag, expectedVersions, ifNoneMatchHits, parseEntityTags } from '../../../src/http/conditional-requests.js'

describe('entity tags', () => {
  it('serves a version as a strong, quoted tag', () => {
    expect(entityTag(0)).toBe('"0"')
    expect(entityTag(42)).toBe('"42"')
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

describe('If-Match (strong comparison): the versions a write expects', () => {
  const satisfied = (header: string | undefined, version: number) => {
    const expected = expectedVersions(header)
    return expected === undefined || expected.includes(version)
  }

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
    expect(satisfied(header, version)).toBe(expected)
  })

  it('no header and `*` are unconditional; anything else lists what it expects', () => {
    expect(expectedVersions(undefined)).toBeUndefined()
    expect(expectedVersions('*')).toBeUndefined()
    expect(expectedVersions('"1", W/"2", "x", "3"')).toEqual([1, 3])
    expect(expectedVersions('garbage')).toEqual([])
  })
})

describe('If-None-Match (weak comparison)', () => {
  it.each([
    [undefined, '"3"', false],
    ['"3"', '"3"', true],
    ['W/"3"', '"3"', true],
    ['"1", "3"', '"3"', true],
    ['*', '"3"', true],
    ['"2"', '"3"', false],
    ['garbage', '"3"', false],
    ['"abc"', 'W/"abc"', true],
  ])('%j against %s → %s', (header, etag, expected) => {
    expect(ifNoneMatchHits(header, etag)).toBe(expected)
  })
})
