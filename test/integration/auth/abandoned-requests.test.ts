import http from 'node:http'
import type { AddressInfo } from 'node:net'
import argon2 from 'argon2'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { argon2Concurrency } from '../../../src/services/password-hasher.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, register, uniqueEmail } from '../../helpers/accounts.js'

// Over a real socket: inject has no connection a client could close.
let t: TestApp
let port: number
beforeAll(async () => {
  t = await buildTestApp()
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  port = (t.app.server.address() as AddressInfo).port
})
afterAll(async () => t?.close())
afterEach(() => vi.restoreAllMocks())

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

/** A JSON POST on a connection of its own; `answer` settles with the status, or 'gone' once destroyed. */
function post(path: string, body: unknown) {
  const request = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json' } })
  const answer = new Promise<{ status: number; body: string } | 'gone'>((resolve) => {
    request.on('response', (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, body: text }))
    })
    request.on('error', () => resolve('gone'))
    request.on('close', () => resolve('gone'))
  })
  request.end(JSON.stringify(body))
  return { answer, destroy: () => request.destroy() }
}

const connections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))))

async function until(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('a password request whose client has gone away', () => {
  it('costs no argon2 work: only the connected clients are hashed, and they get their usual answers', async () => {
    const { email } = await register(t.app)
    const users = t.app.accountStore.users

    // Every argon2 verification waits at the gate, so the connected logins hold every slot of the
    // hasher while the others queue behind them.
    const gate = deferred()
    const realVerify = argon2.verify.bind(argon2)
    const verify = vi.spyOn(argon2, 'verify').mockImplementation(async (digest, password) => {
      await gate.promise
      return realVerify(digest, password)
    })
    const hash = vi.spyOn(argon2, 'hash')
    const realFind = users.findByEmail.bind(users)
    let lookedUp = 0
    vi.spyOn(users, 'findByEmail').mockImplementation(async (address) => {
      const user = await realFind(address)
      lookedUp++
      return user
    })

    // As many connected logins as the hasher lets in at once, the real account's and an unknown one's.
    const slots = argon2Concurrency()
    const connected = Array.from({ length: slots }, (_, i) =>
      i % 2 === 0 ? { expected: 200, ...post('/v1/auth/login', { email, password: GOOD_PASSWORD }) } : { expected: 401, ...post('/v1/auth/login', { email: uniqueEmail('nobody'), password: 'not the password' }) },
    )
    await until(() => verify.mock.calls.length === slots, 'the connected logins to reach argon2')

    // Then a flood that queues behind them: the real account (right and wrong password), unknown
    // emails (the dummy hash), and a registration (a hash of its own).
    const newcomer = uniqueEmail('newcomer')
    const abandoned = [
      post('/v1/auth/login', { email, password: GOOD_PASSWORD }),
      post('/v1/auth/login', { email, password: 'wrong password' }),
      post('/v1/auth/login', { email: uniqueEmail('nobody'), password: 'guess one' }),
      post('/v1/auth/login', { email: uniqueEmail('nobody'), password: 'guess two' }),
      post('/v1/auth/login', { email, password: 'wrong again' }),
      post('/v1/auth/register', { email: newcomer, password: GOOD_PASSWORD }),
    ]
    await until(() => lookedUp === slots + abandoned.length - 1, 'the queued logins to look their accounts up')
    await until(async () => (await connections()) === slots + abandoned.length, 'the server to hold every connection')
    await new Promise((resolve) => setImmediate(resolve))
    expect(verify).toHaveBeenCalledTimes(slots)

    // Their clients give up before any of them reaches the hasher.
    for (const request of abandoned) request.destroy()
    await until(async () => (await connections()) === slots, 'the server to see the clients go')

    gate.resolve()
    const answers = await Promise.all(connected.map((request) => request.answer))
    expect(answers.map((answer) => (answer === 'gone' ? 'gone' : answer.status))).toEqual(connected.map((request) => request.expected))

    // Whatever the queue still had to do, it has had time to do: no more hashes, no account made.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(verify).toHaveBeenCalledTimes(slots)
    expect(hash).not.toHaveBeenCalled()
    expect(await t.app.db.prisma.user.count({ where: { email: newcomer } })).toBe(0)
    // Failed logins of gone clients are not recorded either: nothing was written for them.
    const unknownAccountEvents = await t.app.db.prisma.securityEvent.count({ where: { type: 'login_failed', userId: null } })
    expect(unknownAccountEvents).toBe(Math.floor(slots / 2))

    const metrics = await t.app.metrics.registry.getSingleMetricAsString('http_requests_abandoned_total')
    expect(metrics).toContain(`http_requests_abandoned_total{method="POST",route="/v1/auth/login"} 5`)
    expect(metrics).toContain(`http_requests_abandoned_total{method="POST",route="/v1/auth/register"} 1`)

    // The server is unharmed: a connected login still answers as before.
    verify.mockRestore()
    const after = await post('/v1/auth/login', { email, password: GOOD_PASSWORD }).answer
    expect(after === 'gone' ? 'gone' : after.status).toBe(200)
  })
})
