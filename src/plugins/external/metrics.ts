import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import { createRequestDurations } from '../../http/request-durations.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry
      /** Requests whose client left before their expensive step, which was skipped (src/http/client-gone.ts). */
      abandoned: Counter<'method' | 'route'>
    }
  }
}

/**
 * Prometheus metrics with prom-client: request counts and latency histograms by route template
 * and status, plus process metrics. One registry per app so that tests can build many apps.
 * With METRICS_PORT set (the default in production) /metrics is not a route of the public app:
 * {@link listenForMetrics} serves it on an internal listener instead.
 */
export default fp(
  async (app) => {
    const { config } = app
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    const durations = createRequestDurations(registry, {
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    })
    // The request count is the histogram's own count, copied at scrape time: one observation per
    // request instead of two, on every route.
    new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers: [registry],
      collect() {
        this.reset()
        for (const { labels, count } of durations.counts()) this.inc({ ...labels }, count)
      },
    })
    // Not in http_requests_total: no response is written for them, and onResponse never runs.
    const abandoned = new Counter({
      name: 'http_requests_abandoned_total',
      help: 'Requests whose client had gone before their password hash, which was skipped',
      labelNames: ['method', 'route'] as const,
      registers: [registry],
    })
    app.decorate('metrics', { registry, abandoned })

    // Callback style: an async hook costs a promise per request, on every route.
    app.addHook('onResponse', (request, reply, done) => {
      // The route template, never the raw URL: ids and tokens must not become label values.
      durations.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
      done()
    })

    if (config.METRICS_PORT !== undefined) return
    app.get(
      '/metrics',
      {
        schema: {
          operationId: 'metrics',
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description:
            'Prometheus text exposition format: `http_requests_total` and `http_request_duration_seconds` by route template ' +
            'and status, security events, rate-limit rejections, and process metrics. Keep it off the public internet.',
          security: [],
          response: {
            200: {
              description: 'The metrics, in the Prometheus text format',
              content: {
                'text/plain': {
                  schema: {
                    type: 'string',
                    examples: ['# HELP http_requests_total HTTP requests by route and status\n# TYPE http_requests_total counter\n'],
                  },
                },
              },
            },
          },
        },
      },
      async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    )
  },
  { name: 'metrics' },
)

/**
 * The internal listener for /metrics (METRICS_HOST:METRICS_PORT), apart from the public port so
 * that scrapers reach it and the edge does not. The caller closes it after the app: the app is
 * ready by now and takes no more hooks.
 */
export async function listenForMetrics(app: FastifyInstance, options: { host: string; port: number }): Promise<FastifyInstance> {
  const { registry } = app.metrics
  // Scrapes every few seconds would drown the log: the listener logs warnings and errors only.
  const internal = Fastify({ loggerInstance: app.log.child({ listener: 'metrics' }, { level: 'warn' }) })
  internal.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))
  const address = await internal.listen({ host: options.host, port: options.port })
  app.log.info(`Metrics listening at ${address}/metrics`)
  return internal
}
