import { readFileSync } from 'node:fs'
import pg from 'pg'

const TICK_MICROS = 1e6 / 100 // USER_HZ: Linux reports process times in 1/100 s

/**
 * The CPU time (user + system, µs) spent so far by each PostgreSQL backend connected to the
 * database at `url`, by pid, read from /proc: what the server's own queries cost PostgreSQL. Only
 * when PostgreSQL runs on this machine and /proc is readable (undefined otherwise); the WAL writer,
 * checkpointer and other shared processes are not counted.
 */
export async function databaseCpuMicros(url: string | undefined): Promise<Map<number, number> | undefined> {
  if (!url || process.platform !== 'linux') return undefined
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
    const micros = new Map<number, number>()
    for (const { pid } of rows) {
      try {
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        micros.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MICROS)
      } catch {
        return undefined // not ours to read (another machine or user): no figure rather than a wrong one
      }
    }
    return micros
  } catch {
    return undefined
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * The backends' CPU between two readings: each backend's growth, a backend opened in between
 * counted from zero (one that closed in between is lost: the pools keep theirs open).
 */
export function databaseCpuBetween(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
  if (!before || !after) return undefined
  let total = 0
  for (const [pid, micros] of after) total += Math.max(0, micros - (before.get(pid) ?? 0))
  return total
}
