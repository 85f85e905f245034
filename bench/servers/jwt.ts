import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { baselinePool } from '../lib/pg-baseline.js'
import type { BenchServer } from '../lib/server.js'

const ISSUER = 'http://127.0.0.1'
const AUDIENCE = 'tollgate'
const USERS = 100

/**
 * What any stateless-token service must at least do per authenticated request: verify an EdDSA
 * access token with jose (`/jwt`), and that plus one indexed SELECT (`/jwt-pg`, the floor of an
 * authenticated read). Same token shape and pool size as tollgate.
 */
export async function start(): Promise<BenchServer> {
  const { pool, close } = await baselinePool()
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor_users (id uuid PRIMARY KEY, email text NOT NULL)')
  const ids = Array.from({ length: USERS }, () => randomUUID())
  await pool.query('INSERT INTO bench_floor_users (id, email) SELECT id, id::text || \'@bench.example\' FROM unnest($1::uuid[]) AS id', [ids])

  const { privateKey, publicKey } = await generateKeyPair('EdDSA')
  const kid = randomUUID()
  const keySet = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] })
  const options = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['EdDSA'] }
  const now = Math.floor(Date.now() / 1000)
  const tokens = await Promise.all(
    ids.map((sub) =>
      new SignJWT({ sub, client_id: 'tollgate-web', scope: 'cart', sid: randomUUID(), jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey),
    ),
  )

  const app = Fastify({ logger: false })
  const verify = async (authorization: string | undefined) => {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined
    if (!token) return null
    try {
      return (await jwtVerify(token, keySet, options)).payload
    } catch {
      return null
    }
  }
  app.get('/jwt', async (request, reply) => {
    const claims = await verify(request.headers.authorization)
    if (!claims) return reply.code(401).send({ error: 'invalid_token' })
    return { sub: claims.sub, scope: claims.scope }
  })
  app.get('/jwt-pg', async (request, reply) => {
    const claims = await verify(request.headers.authorization)
    if (!claims) return reply.code(401).send({ error: 'invalid_token' })
    const { rows } = await pool.query('SELECT id, email FROM bench_floor_users WHERE id = $1', [claims.sub])
    if (rows.length === 0) return reply.code(404).send({ error: 'not_found' })
    return rows[0]
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const variants = tokens.map((token) => ({ headers: { authorization: `Bearer ${token}` } }))
  return {
    url,
    async prepare(caseName) {
      return { method: 'GET', path: caseName === 'jwt' ? '/jwt' : '/jwt-pg', variants }
    },
    async close() {
      await app.close()
      await close()
    },
  }
}
