import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startService } from './service.js'

const ROOT = new URL('../../', import.meta.url).pathname
t.setTimeout(300_000)

/** Runs a built entry point to its end: exit code and output. */
async function run(script: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [join(ROOT, script), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

t.test('tollgate --help prints the usage and exits 0', async (t) => {
  const { code, stdout } = await run('dist/cli.js', ['--help'])
  t.equal(code, 0)
  t.match(stdout, /usage: tollgate/)
})

t.test('./.env is read at start, the environment wins over it, and every bad variable is reported at once (exit 78)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-dotenv-'))
  writeFileSync(join(dir, '.env'), 'PORT=eighty\nSIGNING_ALG=HS256\nLOG_LEVEL=loud\n')
  const { code, stderr } = await run('dist/server.js', [], { cwd: dir, env: { LOG_LEVEL: 'info' } })
  t.equal(code, 78)
  t.match(stderr, /PORT must be a whole number/)
  t.match(stderr, /SIGNING_ALG must be one of: ES256, RS256, EdDSA/)
  t.notMatch(stderr, /LOG_LEVEL/, 'the environment overrides the file')
})

t.test('production refuses to start without ISSUER', async (t) => {
  const { code, stderr } = await run('dist/server.js', [], {
    env: { NODE_ENV: 'production', DATABASE_URL: 'postgresql://127.0.0.1:1/none', KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') },
  })
  t.equal(code, 78)
  t.match(stderr, /ISSUER is required when NODE_ENV=production/)
})

t.test('METRICS_PORT: /metrics is served on the internal listener and not on the public port; GET / points to the docs and discovery', async (t) => {
  const service = await startService({ METRICS_PORT: '0' })
  t.teardown(() => service.kill())
  const line = service.logs().find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('Metrics listening at '))
  t.ok(line, 'the metrics listener logs its address')
  const metricsUrl = (line!.msg as string).replace('Metrics listening at ', '')
  t.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)

  const internal = await fetch(metricsUrl)
  t.equal(internal.status, 200)
  t.match(await internal.text(), /http_request_duration_seconds/)
  t.equal((await fetch(`${service.baseUrl}/metrics`)).status, 404, 'not on the public port')

  const index = await fetch(`${service.baseUrl}/`)
  t.equal(index.status, 200)
  const links = (await index.json()) as Record<string, string>
  t.match(links.documentation, /\/docs$/)
  t.match(links.authorization_server_metadata, /\/\.well-known\/oauth-authorization-server$/)
  t.match(links.jwks_uri, /\/\.well-known\/jwks\.json$/)

  const { code } = await service.stop('SIGTERM')
  t.equal(code, 0)
})

t.test('a KEY_ENCRYPTION_KEY that cannot open the stored signing keys stops the start with exit 78 and names the fix', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-kek-'))
  const first = await startService({ DATA_DIR: dataDir, DATABASE_URL: '', TEST_DATABASE_URL: '' })
  await first.stop('SIGTERM')
  const { code, stderr } = await run('dist/server.js', [], {
    env: { NODE_ENV: 'test', PORT: '0', DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') },
  })
  t.equal(code, 78)
  t.match(stderr, /KEY_ENCRYPTION_KEY_PREVIOUS/)
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
})
