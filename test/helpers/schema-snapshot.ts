import pg from 'pg'

/**
 * What a schema is made of, read from the catalogue: tables and columns (type, nullability,
 * default), indexes, and constraints. Prisma's bookkeeping table is left out.
 */
export async function schemaSnapshot(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const columns = await client.query(`
      SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
             character_maximum_length, numeric_precision, datetime_precision
      FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
      ORDER BY table_name, column_name`)
    const indexes = await client.query(`
      SELECT tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
      ORDER BY tablename, indexname`)
    const constraints = await client.query(`
      SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype, pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> '"_prisma_migrations"' AND c.conrelid::regclass::text <> '_prisma_migrations'
      ORDER BY 1, 2`)
    return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows }
  } finally {
    await client.end()
  }
}

export async function execute(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
