import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { declaredStatements } from '../../../src/db/sql.js'
// The modules that declare the one-statement hot paths (each registers its statements on import).
import '../../../src/repositories/carts.js'
import '../../../src/repositories/code-redemption.js'
import '../../../src/repositories/fast-paths.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'

// The hot paths run as named prepared statements on pooled connections: after five executions
// PostgreSQL may switch a connection to the statement's generic plan (made without the
// parameters' values) and keep it for as long as the connection lives. On a new database, before
// its first ANALYZE, the planner knows nothing of the tables, and a live-session count written
// `revoked_at IS NULL` was planned through sessions_revoked_at_idx: every live session's entry
// read on each call once the table had grown (seen on the code redemption, commit 1ca481c, and on
// the login's one-statement start). Each statement's generic plan is checked here on such a
// database (a migrated clone that was never analyzed).
let db: TestDatabase
let client: pg.Client
beforeAll(async () => {
  db = await createTestDatabase()
  client = new pg.Client({ connectionString: db.url })
  await client.connect()
  await client.query('SET plan_cache_mode = force_generic_plan')
})
afterAll(async () => {
  await client?.end()
  await db?.drop()
})

async function genericPlan(name: string, text: string): Promise<string> {
  await client.query(`PREPARE ${name} AS ${text}`)
  try {
    // Every parameter is cast in the statement's text, so PREPARE infers the types; NULLs are not
    // looked at (EXPLAIN without ANALYZE plans and never executes).
    const { rows } = await client.query<{ count: number }>('SELECT cardinality(parameter_types) AS count FROM pg_prepared_statements WHERE name = $1', [name])
    const values = Array.from({ length: rows[0]!.count }, () => 'NULL').join(', ')
    const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) EXECUTE ${name}${values ? `(${values})` : ''}`)
    return plan.rows.map((row) => row['QUERY PLAN']).join('\n')
  } finally {
    await client.query(`DEALLOCATE ${name}`)
  }
}

describe('generic plans of the hot statements, on a database that was never analyzed', () => {
  const statements = declaredStatements()

  it('covers the login, the rotation, the code redemption and the cart', () => {
    expect(statements.map((s) => s.name).sort()).toEqual(
      expect.arrayContaining(['hot_add_to_existing_cart', 'hot_find_cart', 'hot_redeem_authorization_code', 'hot_rotate_live_refresh_tokens', 'hot_start_uncontended_session']),
    )
  })

  for (const statement of statements) {
    it(`${statement.name} never reads sessions through sessions_revoked_at_idx`, async () => {
      const plan = await genericPlan(statement.name, statement.text)
      expect(plan).not.toContain('sessions_revoked_at_idx')
    })
  }
})
