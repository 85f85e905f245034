import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'

const ROOT = new URL('../../', import.meta.url).pathname
/** The edge configuration compose.yaml uses, included as it is. */
export const NGINX_CONF = join(ROOT, 'deploy/nginx/tollgate.conf')

export const hasNginx = spawnSync('nginx', ['-v']).status === 0
export const databaseServer = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
export const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'

/** Why the cluster suite cannot run here, or undefined when it can. */
export function missing(): string | undefined {
  if (!hasNginx) return 'nginx is not installed (.ci/run installs the Debian package)'
  if (!databaseServer) return 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL)'
  return undefined
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

function withDatabase(server: string, name: string): string {
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: withDatabase(databaseServer!, 'postgres') })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` until it returns true, or throws after `timeoutMs`. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

export interface Instance {
  readonly name: string
  readonly port: number
  readonly url: string
  /** The running process, if any. */
  process: ChildProcess | undefined
  /** Starts the built service (dist/server.js) on its port and waits until /health/ready is 200. */
  start(): Promise<void>
  /** Sends `signal` and resolves with the exit code and signal once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Structured log lines written so far (all runs of this instance). */
  logs(): Array<{ level: number; msg?: string; [key: string]: unknown }>
}

export interface Cluster {
  /** nginx's address: what clients use. */
  url: string
  instances: Instance[]
  databaseUrl: string
  redisPrefix: string
  /** The environment every instance runs with (for the CLI). */
  env: Record<string, string>
  /** Runs the built CLI (dist/cli.js) with the instances' environment. */
  cli(...args: string[]): { status: number | null; stdout: string; stderr: string }
  /** nginx's access log lines: `status upstream_addr upstream_status method uri`. */
  accessLog(): string[]
  /** nginx's error log lines (why a request got a 502). */
  errorLog(): string[]
  /**
   * Takes an instance out of nginx's rotation, as an operator does before stopping it (README, "The
   * balancer"): marks it `down` in servers.conf, reloads nginx, and resolves once every worker of
   * the previous configuration has finished its requests and exited. From then on nothing opens a
   * connection to the instance.
   */
  withdraw(instance: Instance): Promise<void>
  /** Puts a withdrawn instance back into rotation, the same way. */
  restore(instance: Instance): Promise<void>
  close(): Promise<void>
}

export interface ClusterOptions {
  instances?: number
  env?: Record<string, string>
  /** Start the instances (default true); false leaves them to the test (e.g. to start them at once). */
  start?: boolean
}

/**
 * Several instances of the built service (dist/server.js) behind nginx, on loopback: a database
 * of their own on the PostgreSQL server (created here, dropped by close()), a Redis key prefix of
 * their own (its keys deleted by close()), one key-encryption key, production mode. nginx runs
 * with its own prefix, configuration, pid and logs in a temporary directory, on a random port,
 * and includes deploy/nginx/tollgate.conf unchanged.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.instances ?? 3
  const id = randomBytes(5).toString('hex')
  const databaseName = `tollgate_cluster_${id}`
  await adminQuery(`CREATE DATABASE "${databaseName}"`)
  const databaseUrl = withDatabase(databaseServer!, databaseName)
  const redisPrefix = `tollgate-cluster-${id}:`
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-cluster-'))
  const edgePort = await freePort()
  const url = `http://127.0.0.1:${edgePort}`

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    ISSUER: url,
    TRUST_PROXY: 'true',
    DATA_DIR: join(workDir, 'data'),
    // Many users share one address in these tests; the limits under test are set by each test.
    RATE_LIMIT_LOGIN_PER_IP: '100000',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000',
    RATE_LIMIT_LOGIN_PER_ACCOUNT_ANY_IP: '100000',
    RATE_LIMIT_REGISTER_PER_IP: '100000',
    RATE_LIMIT_REFRESH_PER_IP: '100000',
    ...options.env,
  }

  const instances: Instance[] = []
  for (let i = 0; i < count; i++) instances.push(createInstance(`tollgate-${i + 1}`, await freePort(), await freePort(), env, workDir))

  const nginx = await startNginx(workDir, edgePort, instances.map((instance) => instance.port))
  const withdrawn = new Set<number>()
  const cluster: Cluster = {
    url,
    instances,
    databaseUrl,
    redisPrefix,
    env,
    cli: (...args) => {
      const result = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })
      return { status: result.status, stdout: result.stdout, stderr: result.stderr }
    },
    accessLog: () => readFileSync(join(workDir, 'nginx', 'access.log'), 'utf8').split('\n').filter(Boolean),
    errorLog: () => readFileSync(join(workDir, 'nginx', 'error.log'), 'utf8').split('\n').filter(Boolean),
    async withdraw(instance) {
      withdrawn.add(instance.port)
      await nginx.reload(withdrawn)
    },
    async restore(instance) {
      withdrawn.delete(instance.port)
      await nginx.reload(withdrawn)
    },
    async close() {
      await Promise.all(instances.map((instance) => instance.stop('SIGKILL')))
      await nginx.stop()
      await adminQuery(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`)
      await deleteRedisKeys(redisPrefix)
      if (!process.env.CLUSTER_KEEP_LOGS) rmSync(workDir, { recursive: true, force: true })
    },
  }
  try {
    if (options.start ?? true) {
      await Promise.all(instances.map((instance) => instance.start()))
      // nginx's own start-up probe met no instance and marked every one failed for fail_timeout (2 s):
      // until that passes, a fast start's first requests would be nginx's 502, not tollgate's answer.
      await until('nginx to reach an instance', async () => (await fetch(`${url}/health/ready`)).status === 200)
    }
  } catch (error) {
    console.error(`instance logs kept in ${workDir}`)
    process.env.CLUSTER_KEEP_LOGS = '1'
    await cluster.close()
    throw error
  }
  return cluster
}

// Each instance has its own internal metrics listener: in production it is on by default (9464),
// and instances sharing one host must not share its port.
function createInstance(name: string, port: number, metricsPort: number, env: Record<string, string>, workDir: string): Instance {
  const lines: Array<{ level: number; msg?: string }> = []
  const logFile = createWriteStream(join(workDir, `${name}.log`), { flags: 'a' })
  let child: ChildProcess | undefined

  const instance: Instance = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    get process() {
      return child
    },
    async start() {
      if (child) throw new Error(`${name} is already running`)
      const started = spawn(process.execPath, [join(ROOT, 'dist/server.js')], {
        cwd: ROOT,
        env: { ...env, PORT: String(port), METRICS_PORT: String(metricsPort) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child = started
      let buffered = ''
      started.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        logFile.write(chunk)
        buffered += chunk
        let newline: number
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline)
          buffered = buffered.slice(newline + 1)
          try {
            lines.push(JSON.parse(line) as { level: number; msg?: string })
          } catch {
            lines.push({ level: 30, msg: line })
          }
        }
      })
      started.stderr!.setEncoding('utf8').on('data', (chunk: string) => logFile.write(chunk))
      started.once('exit', () => {
        if (child === started) child = undefined
      })
      const exited = once(started, 'exit').then(([code]) => {
        throw new Error(`${name} exited with ${code} before it was ready`)
      })
      exited.catch(() => {})
      await Promise.race([until(`${name} to be ready`, async () => (await fetch(`${instance.url}/health/ready`)).status === 200, 300_000), exited])
    },
    async stop(signal = 'SIGTERM') {
      const running = child
      if (!running || running.exitCode !== null || running.signalCode !== null) return { code: running?.exitCode ?? null, signal: running?.signalCode ?? null }
      const exited = once(running, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
      running.kill(signal)
      const [code, sig] = await exited
      return { code, signal: sig }
    },
    logs: () => lines,
  }
  return instance
}

/** The nginx master's worker processes (Linux: /proc), to see a reload through. */
function workerPids(master: number): number[] {
  return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
}

async function startNginx(workDir: string, port: number, upstreamPorts: number[]) {
  const prefix = join(workDir, 'nginx')
  mkdirSync(join(prefix, 'tollgate'), { recursive: true })
  mkdirSync(join(prefix, 'temp'), { recursive: true })
  const writeServers = (down: ReadonlySet<number>) =>
    writeFileSync(
      join(prefix, 'tollgate', 'servers.conf'),
      upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s${down.has(p) ? ' down' : ''};\n`).join(''),
    )
  writeServers(new Set())
  writeFileSync(join(prefix, 'tollgate', 'listen.conf'), `listen 127.0.0.1:${port};\n`)
  const temp = (name: string) => `${name}_temp_path ${join(prefix, 'temp', name)};`
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$status $upstream_addr $upstream_status $request_method $uri';
  access_log ${join(prefix, 'access.log')} upstreams;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  include ${NGINX_CONF};
}
`,
  )
  const args = ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')]
  const test = spawnSync('nginx', [...args, '-t'], { encoding: 'utf8' })
  if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`)
  const child = spawn('nginx', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`nginx exited with ${code}: ${stderr}`)
  })
  exited.catch(() => {})
  await Promise.race([
    until('nginx to listen', async () => {
      await fetch(`http://127.0.0.1:${port}/`).catch((error: Error & { cause?: { code?: string } }) => {
        if (error.cause?.code === 'ECONNREFUSED') throw error
      })
      return true
    }),
    exited,
  ])
  return {
    /**
     * Rewrites the instances' lines (`down` for those in `down`) and reloads: the master starts
     * workers with the new configuration and asks the old ones to finish their requests and exit.
     * Resolves when none of the old workers is left, so no process routes by the old lines.
     */
    async reload(down: ReadonlySet<number>) {
      const previous = workerPids(child.pid!)
      writeServers(down)
      const reload = spawnSync('nginx', [...args, '-s', 'reload'], { encoding: 'utf8' })
      if (reload.status !== 0) throw new Error(`nginx -s reload failed: ${reload.stderr}`)
      await until(
        'nginx to replace its workers',
        async () => {
          const workers = workerPids(child.pid!)
          return workers.length > 0 && !workers.some((pid) => previous.includes(pid))
        },
        30_000,
        20,
      )
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const done = once(child, 'exit')
      child.kill('SIGQUIT')
      await done
    },
  }
}

async function deleteRedisKeys(prefix: string) {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } catch {
    // Nothing was written when Redis is not there.
  } finally {
    redis.disconnect()
  }
}

/** The keys under a prefix, for assertions. */
export async function redisKeys(prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  try {
    return await redis.keys(`${prefix}*`)
  } finally {
    redis.disconnect()
  }
}
