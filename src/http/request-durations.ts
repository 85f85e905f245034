import type { Metric, Registry } from 'prom-client'

export interface RequestLabels {
  method: string
  route: string
  status_code: string
}

interface Series {
  labels: RequestLabels
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array
  sum: number
  count: number
}

export interface RequestDurations {
  /** Records one answered request: `seconds` from its arrival to its last byte handed to the socket. */
  observe(method: string, route: string, statusCode: number, seconds: number): void
  /** Every label set seen, with its request count: what http_requests_total reads at scrape time. */
  counts(): Iterable<{ labels: RequestLabels; count: number }>
}

/**
 * A Prometheus histogram of request durations (the exposition of prom-client's Histogram, label
 * names method, route and status_code), registered in `registry`. prom-client's own observe
 * validates, converts and hashes the label object on every call, about a microsecond a request;
 * here a request finds its series in three small maps keyed by the values themselves and bumps
 * one bucket, and the cumulative buckets are worked out only when Prometheus scrapes.
 */
export function createRequestDurations(
  registry: Registry,
  options: { name: string; help: string; buckets: readonly number[] },
): RequestDurations {
  const { name, help } = options
  const bounds = Float64Array.from(options.buckets)
  const routes = new Map<string, Map<string, Map<number, Series>>>()
  const all: Series[] = []

  const seriesOf = (method: string, route: string, statusCode: number): Series => {
    let byMethod = routes.get(route)
    if (byMethod === undefined) routes.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()))
    let series = byStatus.get(statusCode)
    if (series === undefined) {
      series = { labels: { method, route, status_code: String(statusCode) }, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }
      byStatus.set(statusCode, series)
      all.push(series)
    }
    return series
  }

  const values = () =>
    all.flatMap((series) => {
      let cumulative = 0
      const buckets = Array.from(bounds, (bound, i) => {
        cumulative += series.counts[i]!
        return { labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${name}_bucket`, exemplar: null }
      })
      return [
        ...buckets,
        { labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${name}_bucket`, exemplar: null },
        { labels: series.labels, value: series.sum, metricName: `${name}_sum` },
        { labels: series.labels, value: series.count, metricName: `${name}_count` },
      ]
    })

  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
    reset() {
      routes.clear()
      all.length = 0
    },
  }
  registry.registerMetric(metric as unknown as Metric)

  return {
    observe(method, route, statusCode, seconds) {
      const series = seriesOf(method, route, statusCode)
      let i = 0
      while (i < bounds.length && seconds > bounds[i]!) i++
      series.counts[i] = series.counts[i]! + 1
      series.sum += seconds
      series.count++
    },
    *counts() {
      for (const series of all) yield { labels: series.labels, count: series.count }
    },
  }
}
