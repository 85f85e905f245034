import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createRequestDurations } from '../../../src/http/request-durations.js'

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const OPTIONS = { name: 'http_request_duration_seconds', help: 'HTTP request latency by route and status', buckets: BUCKETS }

// On a bound, between bounds, past the last one, zero: each lands where prom-client puts it.
const OBSERVATIONS: Array<[string, string, number, number]> = [
  ['GET', '/.well-known/jwks.json', 200, 0.0004],
  ['GET', '/.well-known/jwks.json', 200, 0.001],
  ['GET', '/.well-known/jwks.json', 304, 0.0011],
  ['POST', '/v1/auth/refresh', 200, 0.03],
  ['POST', '/v1/auth/refresh', 401, 5],
  ['POST', '/v1/auth/refresh', 200, 7.5],
  ['GET', 'unmatched', 404, 0],
  ['GET', '/.well-known/jwks.json', 200, 0.26],
]

describe('request durations histogram', () => {
  it('exposes exactly what prom-client Histogram exposes for the same observations', async () => {
    const reference = new Registry()
    const histogram = new Histogram({ ...OPTIONS, labelNames: ['method', 'route', 'status_code'], registers: [reference] })
    const ours = new Registry()
    const durations = createRequestDurations(ours, OPTIONS)
    for (const [method, route, status, seconds] of OBSERVATIONS) {
      histogram.observe({ method, route, status_code: String(status) }, seconds)
      durations.observe(method, route, status, seconds)
    }
    expect(await ours.metrics()).toBe(await reference.metrics())
    expect(await ours.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON())
  })

  it('counts requests per label set', () => {
    const durations = createRequestDurations(new Registry(), OPTIONS)
    for (const [method, route, status, seconds] of OBSERVATIONS) durations.observe(method, route, status, seconds)
    const counts = [...durations.counts()].map(({ labels, count }) => `${labels.method} ${labels.route} ${labels.status_code} ${count}`)
    expect(counts).toEqual([
      'GET /.well-known/jwks.json 200 3',
      'GET /.well-known/jwks.json 304 1',
      'POST /v1/auth/refresh 200 2',
      'POST /v1/auth/refresh 401 1',
      'GET unmatched 404 1',
    ])
  })

  it('forgets every series on reset, as prom-client metrics do', async () => {
    const registry = new Registry()
    const durations = createRequestDurations(registry, OPTIONS)
    durations.observe('GET', '/health/live', 200, 0.002)
    registry.resetMetrics()
    expect([...durations.counts()]).toEqual([])
    expect(await registry.metrics()).not.toContain('/health/live')
  })
})
