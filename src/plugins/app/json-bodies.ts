import fp from 'fastify-plugin'
import { ProblemError } from '../../errors.js'

/**
 * Request bodies are JSON. An HTML form on any site can send form-encoded, multipart or
 * text/plain bodies without a CORS preflight, never application/json, so refusing every other
 * type (415, before the body is read) keeps cross-site forms away from the /v1 routes. The /oauth
 * routes add form-encoded bodies in their own scope, as RFC 6749 requires.
 */
export default fp(
  async (app) => {
    app.removeContentTypeParser('text/plain')
    app.addContentTypeParser('*', (_request, _payload, done) => {
      done(new ProblemError('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json)'), undefined)
    })
  },
  { name: 'json-bodies' },
)
