import fc, { type Arbitrary } from 'fast-check'

/** The JSON Schema subset the routes' TypeBox schemas emit. */
export interface JsonSchema {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
}

export type Resolve = (ref: string) => JsonSchema

const FORMATS: Record<string, () => Arbitrary<string>> = {
  email: () => fc.emailAddress(),
  uuid: () => fc.uuid(),
  'date-time': () => fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  uri: () => fc.webUrl(),
}

/**
 * What a field's name says its values look like: schemas rarely spell out that an email is an
 * email, and without this nearly every generated request would stop at the first business check.
 */
const NAME_HINTS: Record<string, () => Arbitrary<unknown>> = {
  email: () => fc.emailAddress(),
  password: () => fc.constantFrom('correct horse battery staple', 'another long passphrase 42'),
  currentPassword: () => fc.constant('correct horse battery staple'),
  newPassword: () => fc.constant('a brand new passphrase 42'), // PASSWORD_AFTER_CHANGE in the fuzz test
  grant_type: () => fc.constantFrom('client_credentials', 'refresh_token', 'password', 'authorization_code'),
  token_type_hint: () => fc.constantFrom('access_token', 'refresh_token'),
  scope: () => fc.constantFrom('orders:read', 'cart', 'orders:read orders:write'),
  client_id: () => fc.constantFrom('tollgate-web', 'unknown-client'),
}

// Strings that parsers and databases have tripped over: keep them among the valid ones.
const AWKWARD_STRINGS = ['', ' ', '\u0000', '__proto__', 'constructor', "'; DROP TABLE users; --", '\u202e', '😀', 'é', '%00', '../..']

/** Values valid against `schema` (as far as the subset goes: patterns and formats are honoured). */
export function validValue(schema: JsonSchema, resolve: Resolve, depth = 0, realistic = false): Arbitrary<unknown> {
  if (schema.$ref) return validValue(resolve(schema.$ref), resolve, depth, realistic)
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  if (schema.anyOf ?? schema.oneOf) return fc.oneof(...(schema.anyOf ?? schema.oneOf)!.map((s) => validValue(s, resolve, depth)))
  if (schema.allOf) return validValue(Object.assign({}, ...schema.allOf) as JsonSchema, resolve, depth)
  const type = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : undefined
  if (type && type.length > 1) return fc.oneof(...type.map((t) => validValue({ ...schema, type: t }, resolve, depth)))
  switch (type?.[0]) {
    case 'string': {
      const { minLength = 0, maxLength = Math.max(minLength, 64) } = schema
      const base = schema.pattern
        ? fc.stringMatching(new RegExp(schema.pattern))
        : schema.format && FORMATS[schema.format]
          ? FORMATS[schema.format]!()
          : fc.oneof(
              { weight: 4, arbitrary: fc.string({ minLength, maxLength: Math.min(maxLength, 80), unit: 'grapheme' }) },
              { weight: 1, arbitrary: fc.constantFrom(...AWKWARD_STRINGS) },
            )
      return base.filter((value) => value.length >= minLength && value.length <= maxLength)
    }
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(schema.items ? validValue(schema.items, resolve, depth + 1) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      })
    case 'object':
    case undefined: {
      if (!schema.properties) return depth > 2 ? fc.constant({}) : fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
      const required = new Set(schema.required ?? [])
      const entries = Object.entries(schema.properties).map(([name, property]) => {
        const generic = validValue(property, resolve, depth + 1)
        const hint = NAME_HINTS[name]
        if (!hint) return [name, generic] as const
        return [name, realistic ? hint() : fc.oneof({ weight: 3, arbitrary: hint() }, { weight: 1, arbitrary: generic })] as const
      })
      return fc.record(Object.fromEntries(entries), { requiredKeys: [...required] })
    }
    default:
      return fc.jsonValue()
  }
}

/** Values of the wrong type for `schema`, and near-misses: one field wrong, missing or added. */
export function invalidValue(schema: JsonSchema, resolve: Resolve): Arbitrary<unknown> {
  if (schema.$ref) return invalidValue(resolve(schema.$ref), resolve)
  const anyJson = fc.jsonValue({ maxDepth: 3 })
  if (!schema.properties) return anyJson
  const valid = validValue(schema, resolve) as Arbitrary<Record<string, unknown>>
  const names = Object.keys(schema.properties)
  const mutations: Arbitrary<unknown>[] = [
    anyJson,
    // One field replaced by any JSON value (a number for a string, an object, null, ...).
    fc.tuple(valid, fc.constantFrom(...names), anyJson).map(([value, name, wrong]) => ({ ...value, [name]: wrong })),
    // One field dropped.
    fc.tuple(valid, fc.constantFrom(...names)).map(([value, name]) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== name))),
    // A string field past its maximum length, or under its minimum.
    fc.tuple(valid, fc.constantFrom(...names)).map(([value, name]) => {
      const property = schema.properties![name]!
      return { ...value, [name]: 'x'.repeat((property.maxLength ?? 300) + 1) }
    }),
  ]
  return fc.oneof(...mutations)
}
