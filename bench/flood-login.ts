/**
 * Flood demonstration (not a test): starts tollgate listening on loopback, registers one user,
 * floods POST /v1/auth/login with wrong passwords for a bounded time, and prints how many
 * attempts reached the password check and how many the rate limits refused. Three floods:
 *
 *   1. one account from one address (online guessing),
 *   2. many accounts from one address (credential stuffing),
 *   3. one account from many addresses (a distributed guess, X-Forwarded-For with TRUST_PROXY),
 *
 * then checks that the real owner, from an address of their own, logs in: at once after floods 1
 * and 2, and after at most one window after flood 3.
 *
 *   npx tsx bench/flood-login.ts     # a scratch database on DATABASE_URL's server (default: local PostgreSQL), dropped after
 *
 * FLOOD_SECONDS (default 10) bounds each flood, FLOOD_CONCURRENCY (default 32) the requests in
 * flight. The RATE_LIMIT_* variables apply as in the service, except RATE_LIMIT_WINDOW_SECONDS,
 * 10 here unless set, so that the wait after flood 3 stays short.
 */
import { randomBytes } from 'node:crypto'
import { buildServer } from '../src/server.js'
import { openBenchDatabase } from './lib/database.js'
import { benchConfig } from './servers/tollgate.js'

const SECONDS = Number(process.env.FLOOD_SECONDS ?? 10)
const CONCURRENCY = Number(process.env.FLOOD_CONCURRENCY ?? 32)
const PASSWORD = 'the owner knows this passphrase'

interface Tally {
  attempts: number
  checked: number
  limited: number
  other: Record<number, number>
}

async function flood(baseUrl: string, attempt: (i: number) => { email: string; ip?: string }): Promise<Tally> {
  const tally: Tally = { attempts: 0, checked: 0, limited: 0, other: {} }
  const until = Date.now() + SECONDS * 1000
  let next = 0
  const worker = async () => {
    while (Date.now() < until) {
      const { email, ip } = attempt(next++)
      const res = await fetch(`${baseUrl}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) },
        body: JSON.stringify({ email, password: `wrong guess ${next}` }),
      })
      await res.arrayBuffer()
      tally.attempts++
      if (res.status === 401) tally.checked++
      else if (res.status === 429) tally.limited++
      else tally.other[res.status] = (tally.other[res.status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return tally
}

async function ownerLogin(baseUrl: string, email: string, ip: string) {
  const res = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  await res.arrayBuffer()
  return { status: res.status, retryAfter: Number(res.headers.get('retry-after') ?? 0) }
}

function report(name: string, tally: Tally) {
  const perSecond = Math.round(tally.attempts / SECONDS)
  const other = Object.keys(tally.other).length > 0 ? `, other ${JSON.stringify(tally.other)}` : ''
  console.log(
    `${name.padEnd(44)} ${String(tally.attempts).padStart(7)} attempts (${perSecond}/s): ` +
      `${String(tally.checked).padStart(4)} reached the password check, ${tally.limited} refused with 429${other}`,
  )
}

async function main() {
  const database = await openBenchDatabase('tollgate_flood')
  process.env.BENCH_DATABASE_URL = database.url ?? ''
  process.env.BENCH_EMBEDDED = database.embedded ? '1' : '0'
  const { config, cleanup } = benchConfig({
    RATE_LIMIT_WINDOW_SECONDS: process.env.RATE_LIMIT_WINDOW_SECONDS ?? '10',
    ...Object.fromEntries(Object.entries(process.env).filter(([name, value]) => name.startsWith('RATE_LIMIT_') && value !== undefined)) as Record<string, string>,
    RATE_LIMIT_ENABLED: 'true',
    TRUST_PROXY: 'true',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  })
  const app = await buildServer(config, { logger: false })
  try {
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    const email = `owner-${randomBytes(4).toString('hex')}@example.com`
    const registered = await fetch(`${baseUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.1' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`)

    console.log(`tollgate on ${baseUrl}; ${SECONDS} s per flood, ${CONCURRENCY} requests in flight; ${config.embeddedDatabase ? 'embedded PGlite' : 'PostgreSQL'}`)
    console.log(
      `limits per ${config.RATE_LIMIT_WINDOW_SECONDS} s window: login per address ${config.RATE_LIMIT_LOGIN_PER_IP}, ` +
        `per account and address ${config.RATE_LIMIT_LOGIN_PER_ACCOUNT} (then doubling backoff), ` +
        `per account from all addresses ${config.RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP}\n`,
    )

    report('1. one account, one address', await flood(baseUrl, () => ({ email })))
    let owner = await ownerLogin(baseUrl, email, '198.51.100.7')
    console.log(`   the owner from 198.51.100.7 right after: ${owner.status}\n`)

    report('2. many accounts, one address', await flood(baseUrl, (i) => ({ email: `victim${i}@example.com`, ip: '203.0.113.9' })))
    owner = await ownerLogin(baseUrl, email, '198.51.100.8')
    console.log(`   the owner from 198.51.100.8 right after: ${owner.status}\n`)

    report('3. one account, 1000 addresses', await flood(baseUrl, (i) => ({ email, ip: `10.${(i >> 8) & 3}.${i & 255}.${(i % 997) + 1}` })))
    owner = await ownerLogin(baseUrl, email, '198.51.100.9')
    console.log(`   the owner from 198.51.100.9 right after: ${owner.status}${owner.status === 429 ? ` (Retry-After ${owner.retryAfter} s)` : ''}`)
    if (owner.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, owner.retryAfter * 1000 + 200))
      owner = await ownerLogin(baseUrl, email, '198.51.100.9')
      console.log(`   the owner from 198.51.100.9 after waiting:  ${owner.status}`)
    }
    const ok = owner.status === 200
    console.log(ok ? '\nthe owner got in: the limits held without locking them out' : '\nthe owner did NOT get in')
    process.exitCode = ok ? 0 : 1
  } finally {
    await app.close()
    await database.drop()
    cleanup()
  }
}

await main()
