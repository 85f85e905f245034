import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes, randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import t from 'tap'
import { dpopKey, dpopProof } from '../helpers/dpop.js'
import { startExample } from './example.js'
import { startService } from './service.js'

const ROOT = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)
const serverDatabase = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL

const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid
const expOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

t.test(
  'a separate microservice trusts tollgate through the JWKS and the revocations feed, across a key rotation and a logout, and takes DPoP-bound tokens',
  {
    skip: serverDatabase
      ? false
      : 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL): `tollgate keys rotate` must reach the running service’s database, which the embedded PGlite does not share',
  },
  async (t) => {
    const kek = randomBytes(32).toString('base64url')
    const tollgate = await startService({ KEY_ENCRYPTION_KEY: kek, KEY_REFRESH_INTERVAL_SECONDS: '1' })
    t.teardown(() => tollgate.kill())
    const api = (path: string, init: RequestInit = {}) => fetch(`${tollgate.baseUrl}${path}`, init)
    const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    const { issuer } = (await (await api('/.well-known/oauth-authorization-server')).json()) as { issuer: string }
    const example = await startExample({
      TOLLGATE_ISSUER: issuer,
      JWKS_URL: `${tollgate.baseUrl}/.well-known/jwks.json`,
      REVOCATIONS_URL: `${tollgate.baseUrl}/v1/revocations`,
      REVOCATIONS_INTERVAL_SECONDS: '1',
    })
    t.teardown(() => void example.child.kill('SIGKILL'))
    const orders = (token?: string) => fetch(`${example.baseUrl}/orders`, token ? { headers: { authorization: `Bearer ${token}` } } : {})

    const email = `e2e-${randomUUID()}@example.test`
    const password = 'correct horse battery staple'
    t.equal((await api('/v1/auth/register', json({ email, password }))).status, 201, 'registered')
    const login = async () => (await (await api('/v1/auth/login', json({ email, password }))).json()) as { access_token: string; refresh_token: string }
    const first = await login()

    const ok = await orders(first.access_token)
    t.equal(ok.status, 200, 'the example accepts a tollgate token')
    t.match(await ok.json(), { owner: /^[0-9a-f-]{36}$/ }, 'and sees the user as the token says')
    t.equal((await orders()).status, 401, 'and refuses a request without one')

    const rotated = await run(process.execPath, [`${ROOT}dist/cli.js`, 'keys', 'rotate'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: tollgate.databaseUrl!, KEY_ENCRYPTION_KEY: kek, KEY_REFRESH_INTERVAL_SECONDS: '1' },
    })
    const newKid = /active key: (\S+)/.exec(rotated.stdout)?.[1]
    t.ok(newKid, 'tollgate keys rotate names the new active key')
    t.not(newKid, kidOf(first.access_token))

    // tollgate picks the rotation up without a restart; its feed is then signed with the new key.
    const feedKid = await until(async () => kidOf(await (await api('/v1/revocations')).text()), (kid) => kid === newKid, 10_000)
    t.equal(feedKid, newKid, 'the running tollgate signs with the new key')
    const second = await login()
    t.equal(kidOf(second.access_token), newKid, 'new tokens carry the new kid')

    t.equal((await orders(second.access_token)).status, 200, 'a token of the new key verifies without restarting the example')
    t.equal((await orders(first.access_token)).status, 200, 'a token of the old key keeps working until it expires')

    t.equal((await api('/v1/auth/logout', json({ refresh_token: first.refresh_token }))).status, 204, 'logged out')
    const status = await until(async () => (await orders(first.access_token)).status, (code) => code === 401, 15_000)
    t.equal(status, 401, 'the example rejects the logged-out session’s access token within seconds')
    t.ok(expOf(first.access_token) * 1000 > Date.now() + 60_000, 'long before that token expires')
    t.equal((await orders(second.access_token)).status, 200, 'the other session is unaffected')

    // DPoP (RFC 9449): a login with a proof gets a token bound to the client's key; the example
    // accepts it only as DPoP with a fresh proof from that key, for its own URL.
    const key = await dpopKey()
    const boundLogin = await api('/v1/auth/login', {
      ...json({ email, password }),
      headers: { 'content-type': 'application/json', dpop: await dpopProof(key, { url: `${issuer}/v1/auth/login` }) },
    })
    const bound = (await boundLogin.json()) as { access_token: string; token_type: string }
    t.equal(bound.token_type, 'DPoP', 'a login with a proof is DPoP-bound')
    const whoami = async (authorization: string, proof?: string) =>
      fetch(`${example.baseUrl}/whoami`, { headers: { authorization, ...(proof ? { dpop: proof } : {}) } })
    const proof = await dpopProof(key, { method: 'GET', url: `${example.baseUrl}/whoami`, accessToken: bound.access_token })
    const accepted = await whoami(`DPoP ${bound.access_token}`, proof)
    t.equal(accepted.status, 200, 'the example accepts a bound token as DPoP with its proof')
    t.match(await accepted.json(), { scheme: 'dpop' })
    const replayed = await whoami(`DPoP ${bound.access_token}`, proof)
    t.equal(replayed.status, 401, 'and refuses the same proof again')
    t.match(replayed.headers.get('www-authenticate'), /^DPoP realm="tollgate", error="invalid_dpop_proof"/)
    const asBearer = await whoami(`Bearer ${bound.access_token}`)
    t.equal(asBearer.status, 401, 'and refuses the bound token as Bearer (a stolen token)')
    t.match(asBearer.headers.get('www-authenticate'), /^DPoP realm="tollgate", error="invalid_token", .*algs="/)

    example.child.kill('SIGTERM')
    await once(example.child, 'exit')
    await tollgate.stop()
  },
)
