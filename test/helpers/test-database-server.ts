/** The PostgreSQL server tests use: TEST_DATABASE_URL, else DATABASE_URL; none means embedded PGlite. */
export function testServerUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
  return url && url.trim() !== '' ? url : undefined
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
