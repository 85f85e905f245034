import type pg from 'pg'
import { isStalePlan } from './unavailable.js'

type QueryArguments = Parameters<pg.Client['query']>
type Callback = (error: Error | null, result?: pg.QueryResult) => void

/** What pg keeps of the statements it prepared on a connection (not in its types). */
interface PreparedState {
  connection: { parsedStatements: Record<string, string>; submittedNamedStatements: Record<string, string> }
}

/** A query config with a statement name (pg's Query objects, which pg runs as they are, excepted). */
function isNamedQuery(config: unknown): boolean {
  if (typeof config !== 'object' || config === null) return false
  const { name, submit } = config as { name?: unknown; submit?: unknown }
  return typeof name === 'string' && name !== '' && typeof submit !== 'function'
}

/**
 * A migration run while the instance serves (a rolling deploy) may change what a statement it
 * prepared returns: a column's type, or a new column under a top-level `*`. PostgreSQL then refuses
 * that statement on every connection that prepared it before, every time, with 0A000 "cached plan
 * must not change result type" (isStalePlan). It does so when binding the statement, before
 * executing anything, so nothing of it happened.
 *
 * The first such refusal tells the pool that its prepared statements may all be stale: every
 * connection connected before it drops its statements (`DEALLOCATE ALL`, and pg forgets them)
 * before its next named statement, which pg then prepares again from the new schema. A statement
 * refused outside a transaction block (a hot statement or a Prisma query on the pool: its own
 * implicit transaction, which the error ended) is sent again at once on the same connection, so
 * the caller sees only its result. One refused inside a transaction block has lost the
 * transaction: the error goes to the caller (the account store tries its transactions again, the
 * error renderer answers 503 with Retry-After), and the connection is renewed before its next use.
 *
 * The retry assumes what the app does: a connection outside a transaction block runs one query at
 * a time (pool.query), so sending the statement again cannot reorder it with others.
 */
export function renewStaleStatements(pool: pg.Pool, log?: { warn(message: string): void }): void {
  // Bumped when a statement is refused on a connection renewed since the last bump: a new migration.
  let epoch = 0
  const renewedAt = new WeakMap<pg.Client, number>()

  pool.on('connect', (client) => {
    renewedAt.set(client, epoch)
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    const state = client as unknown as PreparedState

    const stale = () => renewedAt.get(client) !== epoch && client.getTransactionStatus() !== 'E'

    /**
     * Drops the connection's statements, then calls `next`. Not in a failed transaction block,
     * where PostgreSQL refuses anything but its end; a failed DEALLOCATE dropped nothing, and the
     * connection tries again before its next statement.
     */
    function renew(next: () => void) {
      const renewing = epoch
      renewedAt.set(client, renewing)
      query('DEALLOCATE ALL', (error: Error | null) => {
        if (error) renewedAt.set(client, renewing - 1)
        else {
          state.connection.parsedStatements = {}
          state.connection.submittedNamedStatements = {}
        }
        next()
      })
    }
    const renewed = () => new Promise<void>((resolve) => renew(resolve))

    /** True when `error` is a stale statement that may be sent again now: outside a transaction block. */
    function refusedAsStale(error: unknown): boolean {
      if (!isStalePlan(error)) return false
      if (renewedAt.get(client) === epoch) {
        epoch++
        log?.warn('a prepared statement met a changed schema (0A000 cached plan must not change result type): every connection prepares its statements again')
      }
      return client.getTransactionStatus() === 'I'
    }

    client.query = ((...args: QueryArguments) => {
      if (!isNamedQuery(args[0])) return query(...args)
      const last = args.length > 1 ? args[args.length - 1] : undefined
      const callback = typeof last === 'function' ? (last as Callback) : undefined
      const rest = callback ? args.slice(0, -1) : args
      if (callback) {
        const send = () =>
          query(...rest, (error: Error | null, result?: pg.QueryResult) => {
            if (error && refusedAsStale(error)) renew(() => query(...rest, callback))
            else callback(error, result)
          })
        if (stale()) renew(send)
        else send()
        return undefined
      }
      const send = () =>
        (query(...rest) as Promise<pg.QueryResult>).catch(async (error: unknown) => {
          if (!refusedAsStale(error)) throw error
          await renewed()
          return query(...rest) as Promise<pg.QueryResult>
        })
      return stale() ? renewed().then(send) : send()
    }) as pg.Client['query']
  })
}
