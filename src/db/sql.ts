import type pg from 'pg'

/** SQL with $1… placeholders, and the name it is prepared under on each connection. */
export interface Statement {
  readonly name: string
  readonly text: string
}

/** Runs a statement outside any transaction and returns its rows (pg's types: timestamptz is a Date, bigint a string). */
export type SqlRunner = <Row>(statement: Statement, values: readonly unknown[]) => Promise<Row[]>

const declared: Statement[] = []

/** A statement of the hot paths; names start with `hot_` so they never meet Prisma's own. */
export function statement(name: string, text: string): Statement {
  const declaredStatement = { name: `hot_${name}`, text }
  declared.push(declaredStatement)
  return declaredStatement
}

/**
 * Every statement declared so far (by the modules imported so far): the tests check their generic
 * plans, which a pooled connection keeps once PostgreSQL prefers it (after five executions).
 */
export function declaredStatements(): readonly Statement[] {
  return declared
}

/**
 * The few one-statement hot paths (a cart add and read, a refresh rotation, a login) go to pg
 * directly, on the pool Prisma uses, because there Prisma's raw-query layer costs more CPU than
 * everything else together: about 50 to 70 µs a query on top of pg's 20 to 30 (measured on the
 * project's machine), a quarter of a cart write. The SQL was hand-written for $queryRaw anyway.
 *
 * It takes its own connection from the pool: inside a Prisma transaction it would neither see
 * the transaction's writes nor, on the single-connection embedded database, ever get one.
 */
export function createSqlRunner(pool: pg.Pool, prepared: () => boolean): SqlRunner {
  return async <Row>(statement: Statement, values: readonly unknown[]) => {
    const config = prepared() ? { name: statement.name, text: statement.text, values: [...values] } : { text: statement.text, values: [...values] }
    return (await pool.query(config)).rows as Row[]
  }
}
