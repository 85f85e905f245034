import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ProblemError } from '../../errors.js'
import { problemResponses } from '../../http/schemas.js'

const StatusSchema = Type.Object({ status: Type.Literal('ok') }, { title: 'Status', examples: [{ status: 'ok' }] })

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/live',
    {
      schema: {
        operationId: 'liveness',
        tags: ['operations'],
        summary: 'Liveness',
        description: 'Answers 200 while the process runs; touches nothing else and never sheds load.',
        security: [],
        response: { 200: { ...StatusSchema, 'x-response-description': 'The process runs' } },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        operationId: 'readiness',
        tags: ['operations'],
        summary: 'Readiness',
        description:
          'Answers 200 when the database answers within about a second, 503 otherwise (at once while an outage is known), ' +
          'and 503 from the moment the instance is asked to stop ' +
          '(it keeps serving for a drain delay): take the instance out of rotation while it is 503.',
        security: [],
        response: { 200: { ...StatusSchema, 'x-response-description': 'Ready to serve' }, ...problemResponses(503) },
      },
    },
    async () => {
      if (app.drain.active) throw new ProblemError('service_unavailable', 'The instance is shutting down')
      // A bounded ping (about a second), or at once during an outage already seen.
      if (!(await app.databaseHealth.check())) throw new ProblemError('service_unavailable', 'The database does not answer', { retryAfterSeconds: 1 })
      return { status: 'ok' as const }
    },
  )
}

export default healthRoutes
