import { randomUUID } from 'node:crypto'
import type { FaultMode, FaultProxy } from '../helpers/fault-proxy.js'

/**
 * A client load for outage tests and bench/db-recovery.ts: users who log in, refresh, add to
 * their carts and read their profile, following the client rules README states (a refresh that
 * failed with a 503 or a network error is retried with the same token; a cart add is sent with an
 * Idempotency-Key and retried with it), while a prober polls /health/ready. Every answer is kept.
 */

export type Kind = 'register' | 'login' | 'refresh' | 'cart' | 'me' | 'ready'

export interface Sample {
  kind: Kind
  /** The HTTP status, or 'network' when no answer came (a reset, a hang cut by the client's timeout). */
  status: number | 'network'
  /** When it was sent, in ms since the load started, and how long it took. */
  at: number
  ms: number
  retryAfter: string | null
  body: string
}

export interface Answer {
  status: number | 'network'
  json: Record<string, unknown>
  headers: Headers | undefined
}

/** No request may take longer than this: a hung one is cut here and counted as 'network'. */
export const CLIENT_TIMEOUT_MS = 15_000
const PASSWORD = 'correct horse battery staple'
const USER_AGENT = 'outage-load/1.0'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function createClient(baseUrl: string, samples: Sample[], started = performance.now()) {
  return async function call(kind: Kind, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const at = performance.now()
    let status: number | 'network' = 'network'
    let text: string
    let headers: Headers | undefined
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { 'user-agent': USER_AGENT, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      })
      status = response.status
      headers = response.headers
      text = await response.text()
    } catch (error) {
      text = (error as Error).message
    }
    samples.push({ kind, status, at: at - started, ms: performance.now() - at, retryAfter: headers?.get('retry-after') ?? null, body: text.slice(0, 300) })
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // not JSON: a network error's message, or an empty 204
    }
    return { status, json, headers }
  }
}

export type Call = ReturnType<typeof createClient>

const retriable = (status: number | 'network') => status === 503 || status === 'network'

export interface LoadUser {
  email: string
  accessToken: string
  refreshToken: string
  /** Every sku whose add was acknowledged (201), each added once with quantity 1. */
  acknowledged: Set<string>
  /** Every sku an add was attempted for. */
  attempted: Set<string>
  /** Set when the user lost their session (a refresh answered 401): the thing that must not happen. */
  loggedOut: boolean
}

export async function createUser(call: Call, prefix: string): Promise<LoadUser> {
  const email = `${prefix}-${randomUUID()}@example.test`
  const registered = await call('register', 'POST', '/v1/auth/register', { body: { email, password: PASSWORD } })
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`)
  const login = await call('login', 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } })
  if (login.status !== 200) throw new Error(`login answered ${login.status}`)
  return {
    email,
    accessToken: login.json.access_token as string,
    refreshToken: login.json.refresh_token as string,
    acknowledged: new Set(),
    attempted: new Set(),
    loggedOut: false,
  }
}

/** The client rule: retry a refresh that failed with 503 or a network error, same token, inside the window. */
export async function refreshWithRetry(call: Call, user: LoadUser, graceMs: number): Promise<void> {
  const firstAttempt = performance.now()
  for (;;) {
    const answer = await call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: user.refreshToken } })
    if (answer.status === 200) {
      user.refreshToken = answer.json.refresh_token as string
      user.accessToken = answer.json.access_token as string
      return
    }
    if (answer.status === 401) {
      user.loggedOut = true
      return
    }
    // Past the window a retry would be reuse: a client then logs in again (counted as logged out).
    if (!retriable(answer.status) || performance.now() - firstAttempt > graceMs - 1_500) {
      user.loggedOut = true
      return
    }
    await sleep(Number(answer.headers?.get('retry-after') ?? 1) * 1000)
  }
}

/** A cart add with an Idempotency-Key, retried with that key until it is acknowledged. */
export async function addWithRetry(call: Call, user: LoadUser, sku: string, giveUpMs = 60_000): Promise<void> {
  const key = randomUUID()
  user.attempted.add(sku)
  const started = performance.now()
  while (performance.now() - started < giveUpMs) {
    const answer = await call('cart', 'POST', '/v1/cart/items', {
      body: { sku, quantity: 1 },
      headers: { authorization: `Bearer ${user.accessToken}`, 'idempotency-key': key },
    })
    if (answer.status === 201) {
      user.acknowledged.add(sku)
      return
    }
    if (!retriable(answer.status)) return
    await sleep(Number(answer.headers?.get('retry-after') ?? 1) * 1000)
  }
}

export interface Load {
  call: Call
  samples: Sample[]
  users: LoadUser[]
  /** ms since the load started. */
  now(): number
  stop(): Promise<void>
}

/** `users` users working in a loop, and a readiness prober every 100 ms. */
export async function startLoad(baseUrl: string, options: { users: number; graceMs: number }): Promise<Load> {
  const started = performance.now()
  const samples: Sample[] = []
  const call = createClient(baseUrl, samples, started)
  const users = await Promise.all(Array.from({ length: options.users }, (_, i) => createUser(call, `load${i}`)))
  let running = true
  const workers = users.map(async (user, index) => {
    for (let n = 0; running && !user.loggedOut; n++) {
      await addWithRetry(call, user, `L${index}-${n}`)
      await refreshWithRetry(call, user, options.graceMs)
      await call('me', 'GET', '/v1/me', { headers: { authorization: `Bearer ${user.accessToken}` } })
      await sleep(50)
    }
  })
  const prober = (async () => {
    while (running) {
      await call('ready', 'GET', '/health/ready')
      await sleep(100)
    }
  })()
  return {
    call,
    samples,
    users,
    now: () => performance.now() - started,
    async stop() {
      running = false
      await Promise.all([...workers, prober])
    },
  }
}

export interface OutageFigures {
  mode: FaultMode
  seconds: number
  /** From the database's return until a login, a refresh, a cart add and a read all succeed. */
  recoveryMs: number
  /** From the fault until readiness answered 503, and from the return until it answered 200. */
  readinessDownMs: number | undefined
  readinessUpMs: number | undefined
  /** The longest request in flight during the outage or the recovery. */
  longestMs: number
  /** Answers during the outage and the recovery, by status. */
  statuses: Record<string, number>
}

/** Puts the proxy in `mode` for `seconds`, back to `pass`, and measures what the clients saw. */
export async function outage(proxy: FaultProxy, load: Load, mode: FaultMode, seconds: number, probe: LoadUser): Promise<OutageFigures> {
  const from = load.now()
  await proxy.set(mode)
  await sleep(seconds * 1000)
  const healed = load.now()
  await proxy.set('pass')
  let recoveredAt: number | undefined
  while (recoveredAt === undefined && load.now() - healed < 60_000) {
    const login = await load.call('login', 'POST', '/v1/auth/login', { body: { email: probe.email, password: PASSWORD } })
    if (login.status === 200) {
      probe.accessToken = login.json.access_token as string
      probe.refreshToken = login.json.refresh_token as string
      const bearer = { authorization: `Bearer ${probe.accessToken}` }
      const [refresh, cart, me] = await Promise.all([
        load.call('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: probe.refreshToken } }),
        load.call('cart', 'POST', '/v1/cart/items', { body: { sku: 'PROBE', quantity: 1 }, headers: bearer }),
        load.call('me', 'GET', '/v1/me', { headers: bearer }),
      ])
      if (refresh.status === 200 && cart.status === 201 && me.status === 200) recoveredAt = load.now()
      // The probe's cart must not reach the 999 limit.
      await load.call('cart', 'DELETE', '/v1/cart', { headers: bearer })
    }
    if (recoveredAt === undefined) await sleep(100)
  }
  // Let readiness catch up before the next phase reads it.
  while (load.now() - (recoveredAt ?? healed) < 1_500) await sleep(100)
  // Every request in flight at some point between the fault and the recovery.
  const during = load.samples.filter((sample) => sample.at + sample.ms >= from && sample.at <= (recoveredAt ?? load.now()))
  const ready = load.samples.filter((sample) => sample.kind === 'ready')
  const firstDown = ready.find((sample) => sample.at >= from && sample.status === 503)
  const firstUp = ready.find((sample) => sample.at >= healed && sample.status === 200)
  const statuses: Record<string, number> = {}
  for (const sample of during) statuses[String(sample.status)] = (statuses[String(sample.status)] ?? 0) + 1
  return {
    mode,
    seconds,
    recoveryMs: recoveredAt === undefined ? Infinity : recoveredAt - healed,
    readinessDownMs: firstDown && firstDown.at + firstDown.ms - from,
    readinessUpMs: firstUp && firstUp.at + firstUp.ms - healed,
    longestMs: Math.max(0, ...during.map((sample) => sample.ms)),
    statuses,
  }
}
