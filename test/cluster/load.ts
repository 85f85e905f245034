import { randomUUID } from 'node:crypto'
import { call, refresh, registerAndLogin, type Answer, type Tokens } from './client.js'

export interface LoadOptions {
  /** Where the clients send everything: nginx. */
  base: string
  users: number
  /**
   * Retry a request that got no answer or a 502/503/504, as a careful client does: a refresh with
   * the same token (inside the grace window it gets the same successor), a cart add with the same
   * Idempotency-Key, a login again. Off: every failure is a client-visible error.
   */
  retry: boolean
  /**
   * With retry off: send again, on a new connection, a request that got no answer at all because
   * nginx closed the keep-alive connection under it (a reload closes its idle client connections;
   * a request written at that moment was never read, so never forwarded). Browsers and curl do
   * this on a reused connection; Node's fetch does not. Any HTTP answer (a 502 included) is still
   * final, and a timeout is not resent.
   */
  resendUnanswered?: boolean
  /** Each round also reads the cart (GET: nginx may pass it to another instance after an error). */
  reads?: boolean
  /** Every this many rounds a user logs in again (a new session), besides refreshing and adding. */
  loginEvery?: number
  /** Pause between a user's rounds, which bounds the load. */
  pauseMs?: number
}

export interface ClientError {
  op: string
  status: number
  body: unknown
}

export interface User {
  email: string
  password: string
  tokens: Tokens
  /** Skus whose add was acknowledged (201): each must be in the cart, exactly once. */
  acknowledged: string[]
}

export interface LoadReport {
  /** Requests that got their success answer. */
  succeeded: number
  /** Failures the client saw (with retry off), or gave up on (with retry on). */
  errors: ClientError[]
  /** Failures followed by a retry, by status (0: no answer). */
  retried: Record<number, number>
  /** Requests sent again because nginx closed their connection unanswered (resendUnanswered). */
  resent: number
  users: User[]
}

const RETRYABLE = new Set([0, 502, 503, 504])
const MAX_ATTEMPTS = 50
/** What fetch reports when the connection closed before any answer (not a timeout). */
const UNANSWERED = /^SocketError|ECONNRESET|EPIPE/
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A bounded load of logins, refreshes and keyed cart adds by `users` clients until stop(). */
export async function startLoad(options: LoadOptions) {
  const report: LoadReport = { succeeded: 0, errors: [], retried: {}, resent: 0, users: [] }
  let stopped = false
  const loginEvery = options.loginEvery ?? 5
  const pauseMs = options.pauseMs ?? 20

  async function attempt(op: string, send: () => Promise<Answer>, ok: number): Promise<Answer | undefined> {
    for (let attempts = 1; ; attempts++) {
      const answer = await send()
      if (answer.status === ok) {
        report.succeeded++
        return answer
      }
      if (options.retry && RETRYABLE.has(answer.status) && attempts < MAX_ATTEMPTS) {
        report.retried[answer.status] = (report.retried[answer.status] ?? 0) + 1
        await sleep(100)
        continue
      }
      if (options.resendUnanswered && answer.status === 0 && UNANSWERED.test(String(answer.body)) && attempts < 3) {
        report.resent++
        continue
      }
      report.errors.push({ op, status: answer.status, body: answer.body })
      return undefined
    }
  }

  const agent = 'cluster-load/1'
  for (let i = 0; i < options.users; i++) {
    const { email, password, tokens } = await registerAndLogin(options.base, agent)
    report.users.push({ email, password, tokens, acknowledged: [] })
  }

  async function run(user: User, index: number) {
    for (let round = 1; !stopped; round++) {
      if (round % loginEvery === 0) {
        const login = await attempt('login', () => call(options.base, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password }, headers: { 'user-agent': agent } }), 200)
        if (login) user.tokens = login.body as Tokens
      }
      const presented = user.tokens.refresh_token
      const rotated = await attempt('refresh', () => refresh(options.base, presented, agent), 200)
      if (rotated) user.tokens = rotated.body as Tokens
      const sku = `u${index}-r${round}`
      const key = randomUUID()
      const added = await attempt(
        'cart add',
        () => call(options.base, 'POST', '/v1/cart/items', { token: user.tokens.access_token, body: { sku, quantity: 1 }, headers: { 'idempotency-key': key } }),
        201,
      )
      if (added) user.acknowledged.push(sku)
      if (options.reads) await attempt('cart read', () => call(options.base, 'GET', '/v1/cart/items', { token: user.tokens.access_token }), 200)
      await sleep(pauseMs)
    }
  }
  const running = Promise.all(report.users.map((user, index) => run(user, index)))

  return {
    report,
    async stop(): Promise<LoadReport> {
      stopped = true
      await running
      return report
    },
  }
}

/**
 * What the database must show after a load: every acknowledged add in the user's cart exactly
 * once (quantity 1), and the user still able to refresh and read their cart. Returns problems.
 */
export async function checkUsers(base: string, users: User[]): Promise<string[]> {
  const problems: string[] = []
  for (const user of users) {
    const rotated = await refresh(base, user.tokens.refresh_token, 'cluster-load/1')
    if (rotated.status !== 200) {
      problems.push(`${user.email}: refresh after the load answered ${rotated.status} ${JSON.stringify(rotated.body)}`)
      continue
    }
    user.tokens = rotated.body as Tokens
    const cart = await call(base, 'GET', '/v1/cart/items', { token: user.tokens.access_token })
    if (cart.status !== 200) {
      problems.push(`${user.email}: cart read answered ${cart.status}`)
      continue
    }
    const items = new Map((cart.body.items as Array<{ sku: string; quantity: number }>).map((item) => [item.sku, item.quantity]))
    for (const sku of user.acknowledged) {
      if (!items.has(sku)) problems.push(`${user.email}: acknowledged add ${sku} is missing`)
      else if (items.get(sku) !== 1) problems.push(`${user.email}: ${sku} was added ${items.get(sku)} times`)
    }
  }
  return problems
}
