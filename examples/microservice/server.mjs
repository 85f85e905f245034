// An orders service that trusts tollgate only through its JWKS and its signed revocations feed:
// no shared secret, no database, no call to tollgate per request.
//
//   npm run build   # tollgate/verifier resolves to dist/verifier
//   TOLLGATE_ISSUER=http://localhost:3000 \
//   JWKS_URL=http://localhost:3000/.well-known/jwks.json \
//   REVOCATIONS_URL=http://localhost:3000/v1/revocations \
//   node examples/microservice/server.mjs
import Fastify from 'fastify'
import { tollgateAuth } from 'tollgate/verifier'

const env = process.env
for (const name of ['TOLLGATE_ISSUER', 'JWKS_URL', 'REVOCATIONS_URL']) {
  if (!env[name]) {
    console.error(`${name} is required`)
    process.exit(78)
  }
}

const app = Fastify({ logger: { level: env.LOG_LEVEL ?? 'info' } })

await app.register(tollgateAuth, {
  verifierOptions: {
    issuer: env.TOLLGATE_ISSUER,
    audience: env.AUDIENCE ?? 'tollgate',
    jwksUrl: env.JWKS_URL,
    revocationsUrl: env.REVOCATIONS_URL,
    revocationsInterval: Number(env.REVOCATIONS_INTERVAL_SECONDS ?? 5),
    onError: (error) => app.log.warn({ err: error }, 'revocations feed poll failed; keeping the last list'),
  },
})

app.get('/health', async () => ({ status: 'ok' }))

// Any valid token: who is calling?
app.get('/whoami', { preHandler: app.tollgate.authenticate }, async (request) => ({
  subject: request.auth.subject,
  clientId: request.auth.clientId,
  scopes: request.auth.scopes,
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
