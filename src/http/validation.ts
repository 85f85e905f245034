import { Ajv, type Options } from 'ajv'
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

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  httpPart === 'body' ? bodyAjv.compile(schema) : textAjv.compile(schema)
