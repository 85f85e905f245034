import cors from '@fastify/cors'
import fp from 'fastify-plugin'

/**
 * CORS for the browser origins listed in CORS_ORIGINS, exactly (no patterns, no wildcard), with
 * credentials so that the refresh cookie flow works. With none listed the plugin is not
 * registered at all: no CORS headers, and preflights are 404.
 */
export default fp(
  async (app) => {
    const { config } = app
    if (config.CORS_ORIGINS.length === 0) return
    await app.register(cors, {
      origin: config.CORS_ORIGINS,
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'DPoP'],
      exposedHeaders: [
        'ETag',
        'Location',
        'Retry-After',
        'WWW-Authenticate',
        'DPoP-Nonce',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
      ],
      maxAge: 600,
      strictPreflight: true,
    })
  },
  { name: 'cors' },
)
