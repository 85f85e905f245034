import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import pg from 'pg'
import { call, registerAndLogin } from './client.js'
import { databaseServer, freePort, until } from './cluster.js'

// The production install the Dockerfile performs (deploy/production-install.sh), run from a
// clean directory outside the checkout: production dependencies only, then the service starts
// from there, migrates an empty database, answers, and exits 0 on SIGTERM.
const ROOT = new URL('../../', import.meta.url).pathname
const server = databaseServer
if (!server) t.plan(0, 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL)')
else {
  t.test('the production install starts and answers', async (t) => {
    const target = mkdtempSync(join(tmpdir(), 'tollgate-production-'))
    t.teardown(() => rmSync(target, { recursive: true, force: true }))
    const install = spawnSync('sh', [join(ROOT, 'deploy/production-install.sh'), ROOT, target], { encoding: 'utf8', timeout: 300_000 })
    t.equal(install.status, 0, `install: ${install.stderr.slice(-2000)}`)
    t.ok(existsSync(join(target, 'node_modules/fastify')), 'production dependencies installed')
    t.notOk(existsSync(join(target, 'node_modules/vitest')), 'no development dependency')
    t.notOk(existsSync(join(target, 'src')) && existsSync(join(target, 'src/server.ts')), 'no sources')

    const name = `tollgate_production_${randomBytes(5).toString('hex')}`
    const admin = new pg.Client({ connectionString: Object.assign(new URL(server), { pathname: '/postgres' }).toString() })
    await admin.connect()
    await admin.query(`CREATE DATABASE "${name}"`)
    t.teardown(async () => {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await admin.end()
    })

    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const child = spawn(process.execPath, ['dist/server.js'], {
      cwd: target,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: Object.assign(new URL(server), { pathname: `/${name}` }).toString(),
        KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        ISSUER: base,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    await until('the installed service to be ready', async () => (await fetch(`${base}/health/ready`)).status === 200, 180_000)

    const { tokens } = await registerAndLogin(base)
    t.equal((await call(base, 'GET', '/v1/me', { token: tokens.access_token })).status, 200, 'a user registers, logs in and reads their profile')
    t.equal((await call(base, 'GET', '/.well-known/jwks.json')).status, 200, 'the JWKS is served')

    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code] = await exited
    t.equal(code, 0, `exits 0 on SIGTERM ${stderr}`)
  })
}
