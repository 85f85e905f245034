import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'

/**
 * Structured pino logs. Credentials never reach a log line: headers that carry them and any
 * body field that could hold a password or token are redacted wherever they appear.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refresh_token',
  '*.access_token',
  '*.client_secret',
  '*.token',
  '*.passwordHash',
]

const CENSOR = '[redacted]'
// A parameter name worth keeping for debugging; anything else (a bare value such as `?<token>`) goes too.
const PARAMETER_NAME = /^[A-Za-z0-9_.\-[\]]{1,40}$/

/**
 * A URL as it is logged: the path, and the names of its query parameters with every value
 * redacted. Clients do put `?access_token=` or `?password=` in URLs, and a log is the wrong
 * place for either.
 */
export function redactQuery(url: string): string {
  const start = url.indexOf('?')
  if (start < 0) return url
  const names = url
    .slice(start + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const name = pair.split('=', 1)[0]!
      return pair.includes('=') && PARAMETER_NAME.test(name) ? `${name}=${CENSOR}` : CENSOR
    })
  return `${url.slice(0, start)}?${names.join('&')}`
}

/** Fastify's own request serializer, with the query redacted. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactQuery(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  }
}

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>): FastifyServerOptions['logger'] {
  if (config.LOG_LEVEL === 'silent') return false
  return {
    level: config.LOG_LEVEL,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: { req: serializeRequest },
  }
}
