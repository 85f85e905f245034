/** What a case asks the load generator to send, as the server under test prepared it. */
export interface LoadRequest {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
  /** Spread over requests in turn: request i uses variants[i % length] (its headers merged, its body). */
  variants?: Array<{ headers?: Record<string, string>; body?: string }>
  /**
   * Refresh-token rotation: each connection presents a token, and the next request on that
   * connection presents the token its response returned (`field` of the JSON body), so every
   * request is a real rotation, never a replay. `body` contains `{token}`. A connection takes a
   * fresh chain from `tokens` when it starts (or reconnects).
   */
  chain?: { tokens: string[]; body: string; field: string }
  /**
   * Single-use credentials (authorization codes): every request, on any connection, takes the next
   * unused value into `body` (which contains `{value}`), so none is presented twice. A run that
   * uses them all up fails on the requests past the end.
   */
  consume?: { values: string[]; body: string }
  /** Also measures this path's latency at a low rate, on a connection of its own, during the run. */
  probe?: { path: string; ratePerSecond: number }
  /**
   * A poller's conditional GET, as packages/verifier polls the revocations feed: each connection
   * sends If-None-Match with the ETag of the last 200 it got, and a 304 counts as an answer.
   */
  conditional?: boolean
  /** Fewer than the default connections (e.g. a case limited by a lock). */
  connections?: number
}

export interface LoadSpec extends LoadRequest {
  url: string
  connections: number
  durationSeconds: number
  warmupSeconds: number
}

export interface Latency {
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export interface LoadResult extends Latency {
  /** 2xx answers per second of the measured run (warm-up excluded). */
  requestsPerSecond: number
  ok: number
  total: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  durationSeconds: number
  connections: number
  /** Of `ok`, the 304s of a conditional run (LoadRequest.conditional). */
  notModified?: number
  /** 2xx answers during the warm-up (chains and fixtures count them). */
  warmupOk: number
  warmupNon2xx: number
  /** First non-2xx bodies seen, to say why a case failed. */
  sampleErrors: string[]
  probe?: Latency & { count: number; non2xx: number; errors: number }
}
