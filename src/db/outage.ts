import { databaseFailureOf, type DatabaseFailureKind } from './unavailable.js'

export interface OutageLog {
  error(object: Record<string, unknown>, message: string): void
  info(object: Record<string, unknown>, message: string): void
}

export interface OutageMonitor {
  /** False from the first failure seen until a ping answers again. */
  readonly up: boolean
  /**
   * Tells the monitor about an error met while serving a request or running a background job:
   * true when it is a database failure (counted, and logged only when it starts an outage), false
   * for anything else, which the caller reports as it would.
   */
  report(error: unknown, source?: 'request' | 'background'): boolean
  /** Readiness: false at once during a known outage, else the answer of a bounded ping. */
  check(): Promise<boolean>
  /** Stops the re-pings; database failures reported after this are expected (the app is closing) and not logged. */
  close(): void
}

/**
 * What an operator sees of a database outage: one "database unreachable" line when the first
 * failure is seen (a request's or a ping's), nothing per failed request, and one "database back"
 * line with the number of requests that failed meanwhile when a ping answers again. While the
 * database is down it is pinged every `recheckMs`, so readiness and the log follow its return
 * even when no request comes. `onFailure` counts every failure by kind (the metric).
 */
export function createOutageMonitor(deps: {
  ping: () => Promise<void>
  log: OutageLog
  onFailure?: (kind: DatabaseFailureKind) => void
  /** Called when an outage starts and when it ends (the pool drops its idle connections). */
  onChange?: (up: boolean) => void
  recheckMs?: number
  /**
   * How long after an outage a query sent during it may still time out (the connect and query
   * timeouts): such a late failure is the outage's tail, counted but not a new outage. A failed
   * ping always is.
   */
  settleMs?: number
  now?: () => number
}): OutageMonitor {
  const now = deps.now ?? Date.now
  const recheckMs = deps.recheckMs ?? 1000
  let outage: { since: number; failedRequests: number; kind: DatabaseFailureKind } | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let backAt = -Infinity

  function failed(kind: DatabaseFailureKind, source: 'request' | 'background' | 'ping', error: unknown) {
    deps.onFailure?.(kind)
    const tail = source !== 'ping' && (kind === 'timeout' || kind === 'pool_exhausted') && now() - backAt < (deps.settleMs ?? 0)
    if (!outage && tail) return
    if (!outage) {
      outage = { since: now(), failedRequests: 0, kind }
      const message = error instanceof Error ? error.message.trim().split('\n').at(-1) : undefined
      deps.log.error({ kind, source, error: message }, 'database unreachable')
      deps.onChange?.(false)
      schedule()
    }
    if (source === 'request') outage.failedRequests++
  }

  function recovered() {
    if (!outage) return
    const { since, failedRequests } = outage
    outage = undefined
    backAt = now()
    clearTimeout(timer)
    timer = undefined
    deps.log.info({ failedRequests, outageSeconds: Math.round((now() - since) / 100) / 10 }, 'database back')
    deps.onChange?.(true)
  }

  async function ping(): Promise<boolean> {
    try {
      await deps.ping()
      recovered()
      return true
    } catch (error) {
      failed(databaseFailureOf(error) ?? 'timeout', 'ping', error)
      return false
    }
  }

  function schedule() {
    if (closed || timer) return
    timer = setTimeout(() => {
      timer = undefined
      void ping().then((up) => {
        if (!up) schedule()
      })
    }, recheckMs)
    timer.unref()
  }

  return {
    get up() {
      return outage === undefined
    },
    report(error, source = 'request') {
      const kind = databaseFailureOf(error)
      if (!kind) return false
      // Closing the app closes the database under the background jobs still running: no outage.
      if (!closed) failed(kind, source, error)
      return true
    },
    async check() {
      if (outage) return false
      return ping()
    },
    close() {
      closed = true
      clearTimeout(timer)
      timer = undefined
    },
  }
}
