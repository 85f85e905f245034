import { connect, type Socket } from 'node:net'
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon'
import { serve, startChild } from './child.js'
import type { LoadResult, LoadSpec } from './load.js'

/**
 * The load generator: a long-lived process of its own (autocannon in the same process as a server
 * would steal its CPU), running one LoadSpec per `run` call. A second one measures latency probes.
 */
const MAX_SAMPLE_ERRORS = 3

function requestFor(spec: LoadSpec, sampleErrors: string[], pool: string[]): AutocannonRequest {
  const variants = spec.variants ?? []
  let sent = 0
  // A response's onResponse and the next setupRequest of the same connection run synchronously one
  // after the other (autocannon, pipelining 1), so a token handed over here never crosses connections.
  let handoff: string | undefined
  // The same for a conditional poll's ETag (autocannon clears its per-connection context after
  // every request of a one-request list, so it cannot hold it).
  let etagHandoff: string | undefined
  const chain = spec.chain
  return {
    method: spec.method,
    path: spec.path,
    headers: {
      ...(spec.body !== undefined || spec.chain || spec.consume || variants.some((v) => v.body !== undefined) ? { 'content-type': 'application/json' } : {}),
      ...spec.headers,
    },
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    setupRequest(request) {
      let next = request
      if (spec.conditional) {
        const etag = etagHandoff
        etagHandoff = undefined
        if (etag !== undefined) next = { ...next, headers: { ...next.headers, 'if-none-match': etag } }
      }
      if (variants.length > 0) {
        const variant = variants[sent++ % variants.length]!
        next = { ...request, headers: { ...request.headers, ...variant.headers }, ...(variant.body !== undefined ? { body: variant.body } : {}) }
      }
      if (chain) {
        const token = handoff ?? pool.shift() ?? 'chain-pool-exhausted'
        handoff = undefined
        next = { ...next, body: chain.body.replace('{token}', token) }
      } else if (spec.consume) {
        next = { ...next, body: spec.consume.body.replace('{value}', pool.shift() ?? 'single-use-pool-exhausted') }
      }
      return next
    },
    onResponse(status, body, _context, headers) {
      // Both a 200 and a 304 carry the current ETag: what the poller sends next (a 304 leaves its copy as it was).
      if (spec.conditional && (status === 200 || status === 304)) etagHandoff = headers.etag
      if (status >= 300 && !(spec.conditional && status === 304) && sampleErrors.length < MAX_SAMPLE_ERRORS) sampleErrors.push(`${status} ${body.slice(0, 300)}`)
      if (chain && status >= 200 && status < 300) {
        try {
          handoff = (JSON.parse(body) as Record<string, string>)[chain.field]
        } catch {
          handoff = undefined
        }
      }
    },
  }
}

/**
 * Requests still queued in the server when autocannon stops are abandoned, not cancelled: the
 * server keeps working on them. Wait until it is through, so the next run starts on an idle
 * server (a login flood leaves seconds of argon2 work behind; hello-world, microseconds).
 */
function drain(result: AutocannonResult, connections: number): Promise<void> {
  const perSecond = Math.max(result['2xx'] + result.non2xx, 1) / Math.max(result.duration, 0.001)
  const ms = Math.min(5000, (connections / perSecond) * 1200 + 50)
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function statusCodes(result: AutocannonResult): Record<string, number> {
  return Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]))
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const sampleErrors: string[] = []
  // One pool for the warm-up and the run: a chain or a single-use value is never handed out twice.
  const pool = [...(spec.chain?.tokens ?? spec.consume?.values ?? [])]
  const base = { url: spec.url, connections: spec.connections, pipelining: 1, timeout: 20 }
  let warmup: AutocannonResult | undefined
  if (spec.warmupSeconds > 0) {
    // The probe warms up too (its process, its connection), its figures dropped.
    const warming = spec.probe && prober ? prober.request('probe', { url: spec.url, ...spec.probe, seconds: spec.warmupSeconds }) : undefined
    ;[warmup] = await Promise.all([autocannon({ ...base, duration: spec.warmupSeconds, requests: [requestFor(spec, sampleErrors, pool)] }), warming])
    await drain(warmup, spec.connections)
  }
  const probing = spec.probe && prober
    ? prober.request<NonNullable<LoadResult['probe']>>('probe', { url: spec.url, ...spec.probe, seconds: spec.durationSeconds })
    : undefined
  const [result, probed] = await Promise.all([
    autocannon({ ...base, duration: spec.durationSeconds, requests: [requestFor(spec, sampleErrors, pool)] }),
    probing,
  ])
  await drain(result, spec.connections)
  // A conditional poll's 304 is an answer (autocannon counts it as non-2xx).
  const notModified = spec.conditional ? (result.statusCodeStats?.['304']?.count ?? 0) : 0
  const warmupNotModified = spec.conditional ? (warmup?.statusCodeStats?.['304']?.count ?? 0) : 0
  return {
    requestsPerSecond: (result['2xx'] + notModified) / result.duration,
    ok: result['2xx'] + notModified,
    ...(spec.conditional ? { notModified } : {}),
    total: result.requests.total,
    non2xx: result.non2xx - notModified,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: statusCodes(result),
    durationSeconds: result.duration,
    connections: spec.connections,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
    warmupOk: (warmup?.['2xx'] ?? 0) + warmupNotModified,
    warmupNon2xx: (warmup?.non2xx ?? 0) - warmupNotModified + (warmup?.errors ?? 0),
    sampleErrors,
    ...(probed ? { probe: probed } : {}),
  }
}

/**
 * A path's latency at a low rate on one connection, for `seconds`: the load's own process is not
 * where to measure it, as a probe there waits on that process's event loop (during a login flood
 * it read 50 ms where a process of its own read 8).
 */
async function probe(params: { url: string; path: string; ratePerSecond: number; seconds: number }): Promise<NonNullable<LoadResult['probe']>> {
  const probed = await autocannon({
    url: params.url,
    connections: 1,
    overallRate: params.ratePerSecond,
    duration: params.seconds,
    requests: [{ method: 'GET', path: params.path }],
  })
  return {
    count: probed.requests.total,
    non2xx: probed.non2xx,
    errors: probed.errors + probed.timeouts,
    p50: probed.latency.p50,
    p90: probed.latency.p90,
    p99: probed.latency.p99,
    max: probed.latency.max,
    mean: probed.latency.mean,
  }
}

// The prober is this same program, started by the load generator with --prober.
const isProber = process.argv.includes('--prober')
const prober = isProber ? undefined : await startChild(new URL(import.meta.url), { args: ['--prober'] })

const idle: Socket[] = []

/**
 * Opens `count` keep-alive connections, each sending one request (so the server has parsed
 * something on it), and leaves them open and silent until `connections.close`.
 */
async function openIdle(params: { url: string; count: number; path: string }): Promise<{ open: number; failed: number; firstError?: string }> {
  const { hostname, port } = new URL(params.url)
  const request = `GET ${params.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: keep-alive\r\n\r\n`
  let failed = 0
  let firstError: string | undefined
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname)
      const fail = (error: Error) => {
        failed++
        firstError ??= error.message
        socket.destroy()
        resolve()
      }
      socket.once('error', fail)
      socket.once('connect', () => socket.write(request))
      socket.once('data', () => {
        socket.removeListener('error', fail)
        socket.on('error', () => {})
        idle.push(socket)
        resolve()
      })
    })
  for (let i = 0; i < params.count; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, params.count - i) }, openOne))
  }
  return { open: idle.filter((socket) => !socket.destroyed).length, failed, ...(firstError ? { firstError } : {}) }
}

serve(
  { pid: process.pid },
  {
    run: (spec) => run(spec as LoadSpec),
    probe: (params) => probe(params as { url: string; path: string; ratePerSecond: number; seconds: number }),
    'connections.open': (params) => openIdle(params as { url: string; count: number; path: string }),
    'connections.close': () => {
      for (const socket of idle.splice(0)) socket.destroy()
    },
    close: () => prober?.close(),
  },
)
