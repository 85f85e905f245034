import { readFileSync } from 'node:fs'
import addFormatsModule from 'ajv-formats'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { parse } from 'yaml'

/**
 * Checks every response the app sends in the tests against openapi.yaml: the operation (path
 * template and method) must be documented, the status listed, the content type one of the
 * documented media types, and the body valid against its schema. A path the document does not
 * know may only get a problem+json refusal (404, 405, or one of its body). The document cannot lie
 * without a test failing.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020

type Schema = Record<string, unknown>
interface MediaType {
  schema?: Schema
}
interface ResponseObject {
  content?: Record<string, MediaType>
}
interface OperationObject {
  operationId?: string
  responses?: Record<string, ResponseObject>
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>
  components?: { schemas?: Record<string, Schema> }
}

/** What the validator needs of a response: light-my-request's Response has all of it. */
export interface InjectedResponse {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

const DOCUMENT_FILE = new URL('../../openapi.yaml', import.meta.url)
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])
const PROBLEM = 'application/problem+json'
// What a request outside the document may get: 404 or 405 from the router, or, since Fastify reads
// the body before its not-found handler runs, the refusal of that body (400, 413, 415); 503 when
// the service sheds load.
const UNDOCUMENTED_STATUSES = new Set([400, 404, 405, 413, 415, 503])
// The API reference at /docs is HTML and JavaScript served from the package, not an API operation.
// The API reference and the login pages' stylesheet: static assets, not operations of the API.
const REFERENCE_PAGES = /^\/docs(?:\/|$)|^\/oauth\/assets\//

let cached: OpenApiDocument | undefined
export function loadOpenApiDocument(): OpenApiDocument {
  cached ??= parse(readFileSync(DOCUMENT_FILE, 'utf8')) as OpenApiDocument
  return cached
}

interface Template {
  path: string
  segments: string[]
  params: number
}

const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json')

export function createResponseValidator(document: OpenApiDocument = loadOpenApiDocument()) {
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }))
  const validators = new Map<string, ValidateFunction>()
  const templates: Template[] = Object.keys(document.paths)
    .map((path) => {
      const segments = path.split('/').slice(1)
      return { path, segments, params: segments.filter((segment) => segment.startsWith('{')).length }
    })
    // Literal segments win over parameters, as in the router: /sessions before /sessions/{id}.
    .sort((a, b) => a.params - b.params)

  function validatorFor(key: string, schema: Schema): ValidateFunction {
    let validate = validators.get(key)
    if (!validate) {
      // The schemas' $refs point into the document's components: compile each next to them.
      validate = ajv.compile({ ...schema, components: document.components })
      validators.set(key, validate)
    }
    return validate
  }

  function matchPath(pathname: string): string | undefined {
    const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname
    const segments = trimmed.split('/').slice(1)
    return templates.find(
      (template) =>
        template.segments.length === segments.length &&
        template.segments.every((segment, i) => (segment.startsWith('{') ? segments[i] !== '' : segment === segments[i])),
    )?.path
  }

  function checkBody(key: string, media: MediaType, mediaType: string, body: string): string | undefined {
    if (!media.schema) return undefined
    let value: unknown = body
    if (isJson(mediaType)) {
      try {
        value = JSON.parse(body)
      } catch {
        return `the body is not JSON: ${body.slice(0, 200)}`
      }
    }
    const validate = validatorFor(key, media.schema)
    if (validate(value)) return undefined
    return `the body does not match the schema: ${ajv.errorsText(validate.errors, { separator: '; ' })}\n  body: ${body.slice(0, 500)}`
  }

  function checkUndocumented(what: string, response: InjectedResponse, mediaType: string): string | undefined {
    if (UNDOCUMENTED_STATUSES.has(response.statusCode) && mediaType === PROBLEM) {
      const problem = checkBody('undocumented problem', { schema: { $ref: '#/components/schemas/Problem' } }, PROBLEM, response.body)
      return problem && `${what}, and its ${response.statusCode}: ${problem}`
    }
    return `${what}: only a problem+json ${[...UNDOCUMENTED_STATUSES].join(', ')} may answer it, not ${response.statusCode} ${mediaType || '(no content type)'}`
  }

  /** Undefined when the response is what the document says, else what is wrong with it. */
  function check(method: string, url: string, response: InjectedResponse): string | undefined {
    const pathname = url.split('?')[0] ?? url
    const contentType = String(response.headers['content-type'] ?? '')
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase()
    const verb = method.toLowerCase()
    // CORS preflights are answered by @fastify/cors for every path; the reference is not an operation.
    if (verb === 'options' || REFERENCE_PAGES.test(pathname)) return response.statusCode >= 500 ? `answered ${response.statusCode}` : undefined

    const path = matchPath(pathname)
    if (!path) return checkUndocumented(`${pathname} is not in openapi.yaml`, response, mediaType)
    const item = document.paths[path]!
    // Fastify answers HEAD for every GET route, with the GET's status and headers and no body.
    const operation = item[verb] ?? (verb === 'head' ? item.get : undefined)
    if (!operation || !METHODS.has(verb)) return checkUndocumented(`${method} ${path} is not in openapi.yaml`, response, mediaType)

    const status = String(response.statusCode)
    const responses = operation.responses ?? {}
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default
    if (!documented) {
      return `status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})\n  body: ${response.body.slice(0, 300)}`
    }
    if (verb === 'head') return undefined
    if (!documented.content || Object.keys(documented.content).length === 0) {
      return response.body === '' ? undefined : `${status} is documented without a body, but it has one: ${response.body.slice(0, 200)}`
    }
    const media = documented.content[mediaType]
    if (!media) {
      return `${status} is sent as ${contentType || '(no content type)'}, but documented as ${Object.keys(documented.content).join(', ')}\n  body: ${response.body.slice(0, 300)}`
    }
    return checkBody(`${verb} ${path} ${status} ${mediaType}`, media, mediaType, response.body)
  }

  return {
    check,
    /** Throws, naming the operation and what is wrong, when the response is not what the document says. */
    assert(method: string, url: string, response: InjectedResponse) {
      const problem = check(method, url, response)
      if (problem) throw new Error(`The response to ${method} ${url.slice(0, 200)} does not match openapi.yaml: ${problem}`)
    },
  }
}

export type ResponseValidator = ReturnType<typeof createResponseValidator>
