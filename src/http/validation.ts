import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// ajv-formats ships CommonJS whose default export is the function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

const shared: Options = { allErrors: false, removeAdditional: true, useDefaults: true, strict: false }

function makeAjv(options: Options) {
  const ajv = new Ajv({ ...shared, ...options })
  addFormats(ajv)
  return ajv
}

// Bodies are JSON or form fields with a declared type: a quantity of `true` or "5" is a 400,
// not silently coerced. Query strings and path parameters are always text, so they are coerced.
const bodyAjv = makeAjv({ coerceTypes: false })
const textAjv = makeAjv({ coerceTypes: 'array' })

const containsNul = (value: unknown): boolean =>
  typeof value === 'string' ? value.includes('\u0000') : typeof value === 'object' && value !== null && Object.values(value).some(containsNul)

/**
 * PostgreSQL text cannot hold U+0000: a NUL that reached a query would be a 500, so every
 * validated part of a request refuses it as a 400, whatever the route's schema says.
 */
function refusingNul(validate: ValidateFunction) {
  const check = (data: unknown) => {
    if (!validate(data)) {
      check.errors = validate.errors
      return false
    }
    check.errors = containsNul(data) ? [{ instancePath: '', schemaPath: '#', keyword: 'nul', params: {}, message: 'must not contain U+0000' }] : null
    return check.errors === null
  }
  check.errors = null as ValidateFunction['errors']
  return check
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  refusingNul(httpPart === 'body' ? bodyAjv.compile(schema) : textAjv.compile(schema))
