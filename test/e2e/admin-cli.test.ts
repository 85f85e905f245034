import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import t from 'tap'
import { startService } from './service.js'

const ROOT = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)
const serverDatabase = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

t.test(
  'an operator at the command line signs a user out of a running tollgate, disables, enables and erases them',
  {
    skip: serverDatabase
      ? false
      : 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL): the CLI must reach the running service’s database, which the embedded PGlite does not share',
  },
  async (t) => {
    const kek = randomBytes(32).toString('base64url')
    const tollgate = await startService({ KEY_ENCRYPTION_KEY: kek })
    t.teardown(() => tollgate.kill())
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: tollgate.databaseUrl!, KEY_ENCRYPTION_KEY: kek }
    const cli = async (...args: string[]) => JSON.parse((await run(process.execPath, [`${ROOT}dist/cli.js`, ...args, '--json'], { cwd: ROOT, env })).stdout)
    const api = (path: string, init: RequestInit = {}) => fetch(`${tollgate.baseUrl}${path}`, init)
    const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    const email = `e2e-${randomUUID()}@example.test`
    const password = 'correct horse battery staple'
    t.equal((await post('/v1/auth/register', { email, password })).status, 201)
    const session = (await (await post('/v1/auth/login', { email, password })).json()) as { access_token: string; refresh_token: string }
    const cart = () => api('/v1/cart/items', { headers: { authorization: `Bearer ${session.access_token}` } }).then((response) => response.status)
    t.equal(await cart(), 200)

    const found = await cli('users', 'find', '--email', email)
    t.equal(found.users.length, 1, 'users find finds the account')
    const userId = found.users[0].id as string

    t.same(await cli('sessions', 'revoke', '--user', userId), { user: userId, revoked: 1 })
    t.equal(await until(cart, (status) => status === 401, 10_000), 401, 'the running service refuses the access token within seconds')
    t.equal((await post('/v1/auth/refresh', { refresh_token: session.refresh_token })).status, 401, 'and the refresh token')

    t.match(await cli('users', 'disable', userId, '--reason', 'e2e'), { disabled: true })
    t.equal((await post('/v1/auth/login', { email, password })).status, 401, 'a disabled user cannot log in')
    t.match(await cli('users', 'enable', userId), { disabled: false })
    t.equal((await post('/v1/auth/login', { email, password })).status, 200, 'enabled, they can again')

    t.same(await cli('users', 'erase', userId, '--yes'), { erased: userId })
    t.equal((await post('/v1/auth/login', { email, password })).status, 401, 'an erased user is gone')
    t.same((await cli('users', 'find', '--id', userId)).users, [])
    await tollgate.stop()
  },
)
