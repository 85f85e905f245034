import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicyApp } from './policy-app.js'

const hasRedis = spawnSync('redis-server', ['--version']).status === 0

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
  })
  return child
}

const LIMITS = { RATE_LIMIT_LOGIN_PER_ACCOUNT: '3', RATE_LIMIT_LOGIN_PER_IP: '100', RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: '100' }

describe.skipIf(!hasRedis)('rate-limit counters in Redis', () => {
  let redis: ChildProcess | undefined
  let url: string
  const apps: FastifyInstance[] = []

  beforeAll(async () => {
    const port = await freePort()
    redis = await startRedis(port)
    url = `redis://127.0.0.1:${port}`
  })
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()))
    redis?.kill()
  })

  const login = (app: FastifyInstance, email: string, ip = '10.0.0.1') =>
    app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong' }, remoteAddress: ip })

  it('are shared by every instance, and back off progressively', async () => {
    const [a, b] = await Promise.all([buildPolicyApp({ ...LIMITS, REDIS_URL: url }), buildPolicyApp({ ...LIMITS, REDIS_URL: url })])
    apps.push(a!.app, b!.app)
    expect((await login(a!.app, 'shared@example.com')).statusCode).toBe(401)
    expect((await login(b!.app, 'shared@example.com')).statusCode).toBe(401)
    expect((await login(a!.app, 'shared@example.com')).statusCode).toBe(401)
    const waits: number[] = []
    for (const app of [b!.app, a!.app, b!.app]) {
      const res = await login(app, 'shared@example.com')
      expect(res.statusCode).toBe(429)
      expect(res.json()).toMatchObject({ code: 'rate_limited' })
      waits.push(Number(res.headers['retry-after']))
    }
    expect(waits).toEqual([60, 120, 240])
    expect((await login(b!.app, 'shared@example.com', '10.0.0.2')).statusCode).toBe(401)
  })

  it('give successes back, and cap a parallel burst of failures across instances', async () => {
    const [a, b] = await Promise.all([buildPolicyApp({ ...LIMITS, REDIS_URL: url }), buildPolicyApp({ ...LIMITS, REDIS_URL: url })])
    apps.push(a!.app, b!.app)
    const attempt = (app: FastifyInstance, password: string) =>
      app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'refunds@example.com', password }, remoteAddress: '10.0.0.30' })
    for (let i = 0; i < 10; i++) expect((await attempt(i % 2 ? a!.app : b!.app, 'correct')).statusCode).toBe(200)
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? a!.app : b!.app, 'wrong')))
    expect(burst.filter((res) => res.statusCode === 401)).toHaveLength(3)
    expect(burst.filter((res) => res.statusCode === 429)).toHaveLength(17)
  })

  it('keep every key under REDIS_KEY_PREFIX, named by rule', async () => {
    const { app } = await buildPolicyApp({ ...LIMITS, REDIS_URL: url, REDIS_KEY_PREFIX: 'test-prefix:' })
    apps.push(app)
    expect((await login(app, 'keys@example.com', '10.0.0.9')).statusCode).toBe(401)
    const client = new Redis(url)
    try {
      const keys = (await client.keys('*')).filter((key) => !key.startsWith('tollgate:')).sort()
      // The account is a keyed hash, never the email itself.
      expect(keys).toHaveLength(3)
      expect(keys[0]).toMatch(/^test-prefix:rate-limit:login-account-ip:[\w-]+:10\.0\.0\.9$/)
      expect(keys[1]).toMatch(/^test-prefix:rate-limit:login-account:[\w-]+$/)
      expect(keys[2]).toBe('test-prefix:rate-limit:login-ip:10.0.0.9')
      expect(keys.join()).not.toContain('keys@example.com')
      // The default prefix, written by the first test: no route placeholders in it either.
      expect((await client.keys('tollgate:*')).every((key) => key.startsWith('tollgate:rate-limit:login-') && !key.includes('undefined'))).toBe(true)
    } finally {
      client.disconnect()
    }
  })

  it('fail open with a warning when Redis goes away, and close cleanly', async () => {
    const { app } = await buildPolicyApp({ ...LIMITS, REDIS_URL: url })
    apps.push(app)
    redis!.kill()
    await once(redis!, 'exit')
    redis = undefined
    for (let i = 0; i < 6; i++) expect((await login(app, 'while-down@example.com')).statusCode).toBe(401)
    const metrics = await app.inject('/metrics')
    expect(metrics.body).toMatch(/^rate_limit_store_errors_total [1-9]\d*$/m)
  })
})
