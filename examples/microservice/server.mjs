// An orders service that trusts tollgate only through its JWKS and its signed revocations feed:
// no shared secret, no database, no call to tollgate per request. It takes Bearer tokens and
// DPoP-bound tokens with their proofs (RFC 9449); a bound token sent as Bearer is refused.
//
//   npm run build   # tollgate/verifier resolves to dist/verifier
//   TOLLGATE_ISSUER=http://localhost:3000 \
//   JWKS_URL=http://localhost:3000/.well-known/jwks.json \
//   REVOCATIONS_URL=http://localhost:3000/v1/revocations \
//   node examples/microservice/server.mjs
// Optional: PUBLIC_URL (the origin clients use, which DPoP proofs name; default: the request's
// own Host, which the client chooses: set it in production), REDIS_URL (a DPoP replay cache
// shared by several instances of this service).
import Fastify from 'fastify'
import { createRedisReplayCache, tollgateAuth } from 'tollgate/verifier'

const env = process.env
for (const name of ['TOLLGATE_ISSUER', 'JWKS_URL', 'REVOCATIONS_URL']) {
  if (!env[name]) {
    console.error(`${name} is required`)
    process.exit(78)
  }
}

const app = Fastify({ logger: { level: env.LOG_LEVEL ?? 'info' } })

// One instance remembers DPoP proofs in memory (the default); several share Redis, or a proof
// replayed to another instance would pass.
let replayCache
if (env.REDIS_URL) {
  const { Redis } = await import('ioredis')
  const redis = new Redis(env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  redis.on('error', (error) => app.log.warn({ err: error }, 'DPoP replay cache (Redis) unreachable'))
  app.addHook('onClose', async () => redis.quit())
  replayCache = createRedisReplayCache(redis, { prefix: 'orders:dpop:' })
}

await app.register(tollgateAuth, {
  ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
  verifierOptions: {
    issuer: env.TOLLGATE_ISSUER,
    audience: env.AUDIENCE ?? 'tollgate',
    jwksUrl: env.JWKS_URL,
    revocationsUrl: env.REVOCATIONS_URL,
    revocationsInterval: Number(env.REVOCATIONS_INTERVAL_SECONDS ?? 5),
    onError: (error) => app.log.warn({ err: error }, 'revocations feed poll failed; keeping the last list'),
    ...(replayCache ? { dpop: { replayCache } } : {}),
  },
})

app.get('/health', async () => ({ status: 'ok' }))

// Any valid token: who is calling?
app.get('/whoami', { preHandler: app.tollgate.authenticate }, async (request) => ({
  subject: request.auth.subject,
  clientId: request.auth.clientId,
  scopes: request.auth.scopes,
  scheme: request.auth.scheme,
}))

// Only tokens with the `cart` scope.
app.get('/orders', { preHandler: app.tollgate.requireScope('cart') }, async (request) => ({
  owner: request.auth.subject,
  orders: [],
}))

const close = async () => {
  await app.close()
  process.exit(0)
}
process.once('SIGTERM', close)
process.once('SIGINT', close)

await app.listen({ port: Number(env.PORT ?? 4000), host: env.HOST ?? '127.0.0.1' })
