import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ProblemError } from '../../errors.js'
import { problemResponses } from '../../http/schemas.js'

const StatusSchema = Type.Object({ status: Type.Literal('ok') })

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/live',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        description: 'Answers 200 while the process runs; touches nothing else.',
        response: { 200: StatusSchema },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness',
        description: 'Answers 200 when the database answers, 503 otherwise.',
        response: { 200: StatusSchema, ...problemResponses(503) },
      },
    },
    async () => {
      try {
        await app.db.ping()
      } catch {
        throw new ProblemError('service_unavailable', 'The database does not answer')
      }
      return { status: 'ok' as const }
    },
  )
}

export default healthRoutes
