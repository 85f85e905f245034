import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export interface LogLine {
  level: number
  msg?: string
  [key: string]: unknown
}

export interface RunningService {
  baseUrl: string
  /** The service's database on a PostgreSQL server; undefined on the embedded PGlite. */
  databaseUrl: string | undefined
  process: ChildProcess
  logs(): LogLine[]
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(): void
}

const ROOT = new URL('../../', import.meta.url).pathname

/**
 * Starts the built service (dist/server.js) as a separate process on a free port, with a
 * database of its own: a new database on TEST_DATABASE_URL/DATABASE_URL's server when one is
 * set, else the embedded PGlite in a temporary data directory.
 */
export async function startService(
  env: Record<string, string> = {},
  options: {
    /** What the service is given instead of its database's URL (a proxy's address, say). */
    databaseUrl?: (created: string) => string
  } = {},
): Promise<RunningService> {
  const server = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
  let databaseUrl: string | undefined
  let dropDatabase = async () => {}
  if (server) {
    const name = `tollgate_e2e_${randomBytes(6).toString('hex')}`
    const adminUrl = new URL(server)
    adminUrl.pathname = '/postgres'
    const admin = new pg.Client({ connectionString: adminUrl.toString() })
    await admin.connect()
    await admin.query(`CREATE DATABASE "${name}"`)
    await admin.end()
    const url = new URL(server)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: adminUrl.toString() })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await client.end()
    }
  }

  const child = spawn(process.execPath, [join(ROOT, 'dist/server.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'info',
      COOKIE_SECURE: 'false',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-e2e-')),
      ...(databaseUrl ? { DATABASE_URL: options.databaseUrl?.(databaseUrl) ?? databaseUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: LogLine[] = []
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      try {
        lines.push(JSON.parse(line) as LogLine)
      } catch {
        lines.push({ level: 30, msg: line })
      }
    }
  })
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${stderr.join('')}`)), 90_000)
    const poll = setInterval(() => {
      const listening = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1'))
      if (listening) {
        clearTimeout(timer)
        clearInterval(poll)
        resolve((listening.msg as string).replace('Server listening at ', ''))
      }
    }, 25)
    child.once('exit', (code) => {
      clearTimeout(timer)
      clearInterval(poll)
      reject(new Error(`service exited with ${code}: ${stderr.join('')}`))
    })
  })

  return {
    baseUrl,
    databaseUrl,
    process: child,
    logs: () => lines,
    async stop(signal = 'SIGTERM') {
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
      child.kill(signal)
      const [code, sig] = await exited
      await dropDatabase()
      return { code, signal: sig }
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL')
      void dropDatabase().catch(() => {})
    },
  }
}
