import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../services/security-events.js'

const USER_AGENT_MAX_LENGTH = 512

/** The caller's address and user agent, as sessions and security events record them. */
export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent']
  return { ip: request.ip || null, userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX_LENGTH) : null }
}
