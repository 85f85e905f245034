import { readdirSync } from 'node:fs'
import t from 'tap'
import pg from 'pg'
import { call } from './client.js'
import { missing, startCluster } from './cluster.js'

// Three instances started at the same moment on an empty database: the migrations are applied
// once, one key becomes active, and every instance publishes the same key set.
const skip = missing()
if (skip) t.plan(0, skip)
else {
  t.test('three instances started at once on an empty database', async (t) => {
    const cluster = await startCluster({ instances: 3, start: false })
    t.teardown(() => cluster.close())
    await Promise.all(cluster.instances.map((instance) => instance.start()))

    const db = new pg.Client({ connectionString: cluster.databaseUrl })
    await db.connect()
    t.teardown(() => db.end())
    const migrations = readdirSync(new URL('../../prisma/migrations/', import.meta.url), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()
    const applied = await db.query<{ migration_name: string; n: number }>(
      'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL GROUP BY migration_name ORDER BY migration_name',
    )
    t.same(applied.rows, migrations.map((name) => ({ migration_name: name, n: 1 })), 'each migration applied exactly once')

    // The production default is two algorithms (SIGNING_ALGORITHMS=ES256,RS256), each with its own keys.
    const keys = await db.query<{ alg: string; status: string; n: number }>(
      'SELECT alg, status, count(*)::int AS n FROM signing_keys GROUP BY alg, status ORDER BY alg, status',
    )
    t.same(
      keys.rows,
      ['ES256', 'RS256'].flatMap((alg) => [
        { alg, status: 'active', n: 1 },
        { alg, status: 'next', n: 1 },
      ]),
      'one active key and one next key of each algorithm',
    )

    const sets = await Promise.all(cluster.instances.map(async (instance) => (await call(instance.url, 'GET', '/.well-known/jwks.json')).body))
    t.ok(sets.every((set) => JSON.stringify(set) === JSON.stringify(sets[0])), 'every instance publishes the same JWKS')
    t.equal(sets[0].keys.length, 4, 'the active key and the next one of each algorithm')

    const errors = cluster.instances.flatMap((instance) => instance.logs().filter((line) => line.level >= 50))
    t.same(errors, [], 'no instance logged an error')
  })
}
