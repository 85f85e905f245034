import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaPg } from '@prisma/adapter-pg'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'
import { PrismaClient } from '../../src/generated/prisma/client.js'
import { buildTestApp, testConfig, type TestApp } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/database.js'

describe('operations endpoints', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('GET /health/live answers 200', async () => {
    const res = await t.app.inject('/health/live')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('GET /health/ready answers 200 while the database answers', async () => {
    const res = await t.app.inject('/health/ready')
    expect(res.statusCode).toBe(200)
  })

  it('GET /metrics serves Prometheus text with request counts and latency by route and status', async () => {
    await t.app.inject('/health/live')
    const res = await t.app.inject('/metrics')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/health\/live",status_code="200"\} \d+/)
    expect(res.body).toContain('http_request_duration_seconds_bucket{')
    expect(res.body).toContain('process_cpu_seconds_total')
  })

  it('GET /openapi.json serves an OpenAPI 3.1 document of the routes', async () => {
    const res = await t.app.inject('/openapi.json')
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']))
  })

  it('GET /docs serves an HTML API reference', async () => {
    const res = await t.app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
  })

  it('an unknown route is a problem+json 404', async () => {
    const res = await t.app.inject('/no/such/route')
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ status: 404, code: 'not_found', type: 'urn:tollgate:problem:not_found' })
  })
})

describe('readiness when the database does not answer', () => {
  it('GET /health/ready answers 503 problem+json while /health/live stays 200', async () => {
    const database = await createTestDatabase()
    const config = testConfig({ DATABASE_URL: database.url })
    const real = await openDatabase({ config })
    // The same client code against a port where nothing listens: a real failing query, without
    // killing the connections the app's background work is using.
    const unreachable = new PrismaClient({
      adapter: new PrismaPg({ connectionString: 'postgresql://postgres@127.0.0.1:9/none', connectionTimeoutMillis: 1000 }),
    })
    const app = await buildApp(config, {
      logger: false,
      database: { ...real, ping: async () => void (await unreachable.$queryRaw`SELECT 1`) },
    })
    try {
      const ready = await app.inject('/health/ready')
      expect(ready.statusCode).toBe(503)
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(ready.json()).toMatchObject({ code: 'service_unavailable', status: 503 })
      expect((await app.inject('/health/live')).statusCode).toBe(200)
    } finally {
      await app.close()
      await unreachable.$disconnect()
      await real.close()
      await database.drop()
    }
  })
})
