import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { startService } from './service.js'

const run = promisify(execFile)
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname

t.test('`tollgate clients` manages clients that the running service then authenticates', async (t) => {
  // The CLI and then the service on one embedded database under one data directory, with one
  // key-encryption key: the secret hash the CLI stores is the one the service checks.
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-clients-')),
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    DATABASE_URL: '',
  }
  const cli = (...args: string[]) => run(process.execPath, [CLI, 'clients', ...args], { env })

  const created = await cli('create', '--name', 'e2e', '--scopes', 'orders:read orders:write', '--json')
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string }
  t.match(clientId, /^[0-9a-f]{32}$/)
  t.match(clientSecret, /^[A-Za-z0-9_-]{43}$/)

  const listed = await cli('list')
  t.match(listed.stdout, clientId)
  t.notMatch(listed.stdout, clientSecret, 'list never shows a secret')

  const service = await startService(env)
  t.teardown(() => service.kill())
  const authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
  const token = await fetch(`${service.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: 'grant_type=client_credentials&scope=orders%3Aread',
  })
  t.equal(token.status, 200)
  const body = (await token.json()) as { access_token: string; scope: string }
  t.equal(body.scope, 'orders:read')

  const introspection = await fetch(`${service.baseUrl}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: new URLSearchParams({ token: body.access_token }),
  })
  t.match(await introspection.json(), { active: true, sub: clientId, client_id: clientId })
  await service.stop()

  const deleted = await cli('delete', clientId)
  t.match(deleted.stdout, `deleted client ${clientId}`)
})

t.test('the CLI works beside a running service on the embedded database, through its socket', async (t) => {
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-clients-beside-')),
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    DATABASE_URL: '',
  }
  const service = await startService(env)
  t.teardown(() => service.kill())
  const cli = (...args: string[]) => run(process.execPath, [CLI, 'clients', ...args], { env })

  // No restart: the client the CLI creates is one the running service authenticates at once.
  const created = await cli('create', '--name', 'beside', '--scopes', 'orders:read', '--json')
  t.match(created.stderr, /embedded database is open in process \d+: working through its socket/)
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string }
  const token = await fetch(`${service.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=orders%3Aread',
  })
  t.equal(token.status, 200, 'the running service issues a token to the new client')
  t.match((await cli('list')).stdout, clientId)
  t.equal((await fetch(`${service.baseUrl}/health/ready`)).status, 200, 'the service is unaffected')
  await service.stop()
})
