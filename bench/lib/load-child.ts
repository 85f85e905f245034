import autocannon, { type AutocannonRequest } from 'autocannon'

/**
 * Runs autocannon in a process of its own, so the load generator never competes with the server
 * under test for an event loop. The parent (bench/*.ts) sends one LoadSpec over IPC and receives
 * one LoadResult.
 */
export interface LoadSpec {
  url: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  connections: number
  durationSeconds: number
  warmupSeconds: number
  /** Rotated so consecutive requests act as different users. */
  authorizations?: string[]
  /** JSON bodies; request i uses body floor(i / authorizations.length) % bodies.length, spreading every (user, body) pair evenly. */
  bodies?: string[]
}

export interface LoadResult {
  requestsPerSecond: number
  p50: number
  p99: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
}

function requestFor(spec: LoadSpec): AutocannonRequest {
  const authorizations = spec.authorizations ?? []
  const bodies = spec.bodies ?? []
  let sent = 0
  return {
    method: spec.method,
    path: spec.path,
    headers: bodies.length > 0 ? { 'content-type': 'application/json' } : {},
    setupRequest(request) {
      const i = sent++
      const users = Math.max(authorizations.length, 1)
      const headers = { ...request.headers }
      if (authorizations.length > 0) headers.authorization = authorizations[i % users]!
      const next: AutocannonRequest = { ...request, headers }
      if (bodies.length > 0) next.body = bodies[Math.floor(i / users) % bodies.length]!
      return next
    },
  }
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds > 0) {
    await autocannon({ url: spec.url, connections: spec.connections, duration: spec.warmupSeconds, requests: [requestFor(spec)] })
  }
  const result = await autocannon({ url: spec.url, connections: spec.connections, duration: spec.durationSeconds, requests: [requestFor(spec)] })
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  }
}

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
})
