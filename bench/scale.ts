/**
 * Data at scale (issue 18): the hot operations on a production-sized database beside the same
 * operations on an empty one, in one run, read as ratios.
 *
 *   npm run bench -- --scale                        # SCALE 1: 1M users, 2M live sessions, ~21M refresh tokens, 5M events
 *   BENCH_SCALE=0.01 npm run bench -- --scale       # 1 %: a quick run
 *   BENCH_SCALE=1 npm run bench -- --scale --load-only      # load, print sizes, keep the database (EXPLAIN, later runs)
 *   BENCH_SCALE=1 BENCH_SCALE_DATABASE=<name> npm run bench -- --scale   # run on a kept database, no load
 *   BENCH_SCALE=0.05 npm run bench -- --scale --only revocations   # some of the cases (no purge rounds without refresh)
 *
 * Two databases of its own on DATABASE_URL's server (default the local one): one migrated and
 * empty, one migrated and filled by bench/lib/scale-data.ts (set-based SQL inside PostgreSQL,
 * one shared argon2 digest). A tollgate server process on each; every round runs each case on
 * both, one after the other, and a target is the median over the rounds of the ratio within a
 * round. Then the purge: refresh on the scaled database alone and while the purge works through
 * its backlog, and how long the whole backlog takes. Table and index sizes (pg_total_relation_size)
 * are printed. BENCH_SECONDS, BENCH_RUNS (3 here), BENCH_CONNECTIONS as for npm run bench;
 * BENCH_KEEP_DATABASE=1 keeps the scaled database. A kept database is migrated, then made current
 * before the run (freshenScaleData: the feed's rows relative to now, the purge's backlog, what
 * autovacuum would have vacuumed or analyzed by now). The figures are ratios from one machine: on
 * a shared or loaded one they are indicative only.
 */
import { loadavg } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { startChild, type Child } from './lib/child.js'
import { BenchRefusal, openBenchDatabase, openKeptDatabase, type BenchDatabase } from './lib/database.js'
import { integer, median, oneDecimal, table } from './lib/format.js'
import { machine } from './lib/machine.js'
import { freshenScaleData, loadScaleData, markedScale, markScaleData, relationSizes, scaleCounts, type LoadReport, type RelationSize } from './lib/scale-data.js'
import { runHttp, suiteOptions, type RunRecord } from './lib/suite.js'
import { argon2Parameters, createPasswordHasher } from '../src/services/password-hasher.js'
import { benchConfig, PASSWORD } from './servers/tollgate.js'

/** The cases run on both databases, in this order within a round. */
const SCALE_CASES = ['refresh', 'login', 'cart-get', 'cart-post', 'introspect', 'revocations'] as const
type ScaleCase = (typeof SCALE_CASES)[number]
const DATABASES = ['empty', 'scaled'] as const
type Which = (typeof DATABASES)[number]

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1)

interface PurgeFigures {
  batches: number
  sessions: number
  refreshTokens: number
  securityEvents: number
  idempotencyRecords: number
  seconds: number
  deleted: number
}

export async function runScale(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1)
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BENCH_SCALE must be a positive number (got ${process.env.BENCH_SCALE})`)
  const loadOnly = argv.includes('--load-only')
  let keep = false
  const base = suiteOptions(argv.filter((arg) => arg !== '--scale' && arg !== '--load-only'))
  const options = { ...base, runs: process.env.BENCH_RUNS ? base.runs : 3 }
  const counts = scaleCounts(scale)
  const host = machine()
  const cases = SCALE_CASES.filter((name) => !options.only || options.only.includes(name))
  if (cases.length === 0) throw new Error(`--only names none of the scale cases: ${SCALE_CASES.join(', ')}`)

  const databases: Partial<Record<Which, BenchDatabase>> = {}
  const children: Child[] = []
  const cleanup = async () => {
    await Promise.allSettled(children.map((child) => child.close()))
    await databases.empty?.drop()
    if (!keep) await databases.scaled?.drop()
  }
  const onSignal = () => void cleanup().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const reuse = process.env.BENCH_SCALE_DATABASE?.trim() || undefined
  try {
    if (reuse) {
      // A database a previous run kept: migrated to the current schema, never dropped, not loaded again.
      keep = true
      databases.scaled = await openKeptDatabase(reuse)
      const marked = await markedScale(databases.scaled.url!)
      if (marked !== undefined && marked !== scale) throw new BenchRefusal(`${reuse} holds the dataset of BENCH_SCALE=${marked}, not ${scale}: run with BENCH_SCALE=${marked}`)
    } else {
      databases.scaled = await openBenchDatabase('tollgate_bench_scale')
    }
    console.log(`tollgate at scale: ${host.cpus} CPUs (${host.cpuModel}), Node ${host.node}, ${databases.scaled.label}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log(
      `SCALE ${scale}: ${integer(counts.users)} users, ${integer(counts.liveSessions)} live sessions x ${counts.refreshTokensPerSession} refresh tokens, ` +
        `${integer(counts.securityEvents)} security events, ${integer(counts.idempotencyRecords)} idempotency records, ${integer(counts.carts)} carts\n`,
    )
    let load: LoadReport | undefined
    if (!reuse) {
      const { config, cleanup: removeDataDir } = benchConfig()
      const digest = await createPasswordHasher(argon2Parameters(config)).hash(PASSWORD)
      removeDataDir()
      load = await loadScaleData(databases.scaled.url!, scale, digest, console.log)
      await markScaleData(databases.scaled.url!, scale)
      console.log(`  loaded in ${load.seconds.toFixed(1)} s\n`)
    }
    keep = keep || loadOnly || process.env.BENCH_KEEP_DATABASE === '1'
    if (loadOnly) {
      printSizes(await relationSizes(databases.scaled.url!))
      const name = new URL(databases.scaled.url!).pathname.slice(1)
      console.log(`\nkept: ${databases.scaled.url}`)
      console.log(`  run on it:  BENCH_SCALE=${scale} BENCH_SCALE_DATABASE=${name} npm run bench -- --scale`)
      console.log(`  drop it:    psql ${databases.scaled.url!.replace(/\/[^/]*$/, '/postgres')} -c 'DROP DATABASE "${name}"'`)
      return
    }
    // The feed's rows and the purge's backlog, relative to now (the load outlasts the feed's window).
    console.log(`making the dataset current (the feed's rows, the purge's backlog, autovacuum's due work):`)
    const freshened = await freshenScaleData(databases.scaled.url!, scale, console.log)
    console.log(`  done in ${freshened.seconds.toFixed(1)} s\n`)
    const sizes = await relationSizes(databases.scaled.url!)
    printSizes(sizes)
    databases.empty = await openBenchDatabase('tollgate_bench_empty')

    const servers = {} as Record<Which, Child<{ url: string }>>
    for (const which of DATABASES) {
      const env = {
        BENCH_DATABASE_URL: databases[which]!.url!,
        BENCH_EMBEDDED: '0',
        BENCH_SCALE_USERS: which === 'scaled' ? String(counts.users) : '0',
        TOLLGATE_PURGE_INTERVAL_SECONDS: '0',
      }
      const child = await startChild<{ url: string }>(new URL('./lib/server-child.ts', import.meta.url), { args: ['tollgate'], env })
      children.push(child)
      servers[which] = child
    }
    const loadGenerator = await startChild(new URL('./lib/load-child.ts', import.meta.url))
    children.push(loadGenerator)
    console.log(
      `\n${options.runs} rounds; each runs every case on the empty, then the scaled database: ${options.seconds} s per run after ${options.warmupSeconds} s of warm-up, ${options.connections} connections`,
    )

    const records = Object.fromEntries(cases.map((name) => [name, { empty: [] as RunRecord[], scaled: [] as RunRecord[] }])) as Record<ScaleCase, Record<Which, RunRecord[]>>
    for (let round = 0; round < options.runs; round++) {
      for (const name of cases) {
        for (const which of DATABASES) {
          const record = await runHttp(name, servers[which], loadGenerator, round, options, databases[which]!.url)
          records[name][which].push(record)
          const cpu = record.serverCpuMicros === undefined ? '' : `  CPU µs/req: server ${integer(record.serverCpuMicros)}${record.databaseCpuMicros === undefined ? '' : `, PostgreSQL ${integer(record.databaseCpuMicros)}`}`
          const notModified = record.http!.notModified === undefined ? '' : `  304s ${((100 * record.http!.notModified) / Math.max(record.http!.ok, 1)).toFixed(1)}%`
          console.log(`  [${round + 1}/${options.runs}] ${name.padEnd(12)} ${which.padEnd(7)} ${integer(record.value).padStart(7)} req/s  p99 ${oneDecimal(record.http!.p99)} ms${notModified}${cpu}${problems(record)}`)
        }
      }
    }

    // The purge: refresh on the scaled database alone, then while the purge works through the backlog.
    if (cases.includes('refresh')) console.log(`\npurge: refresh on the scaled database alone, then with the purge running back to back`)
    const withPurge: Array<{ alone: RunRecord; during: RunRecord; purged: PurgeFigures }> = []
    for (let round = 0; round < (cases.includes('refresh') ? options.runs : 0); round++) {
      const alone = await runHttp('refresh', servers.scaled, loadGenerator, options.runs + 2 * round, options)
      await servers.scaled.request('scale.purgeStart')
      const during = await runHttp('refresh', servers.scaled, loadGenerator, options.runs + 2 * round + 1, options)
      const purged = (await servers.scaled.request<PurgeFigures | null>('scale.purgeStop'))!
      withPurge.push({ alone, during, purged })
      console.log(
        `  [${round + 1}/${options.runs}] refresh alone ${integer(alone.value)} req/s, during the purge ${integer(during.value)} req/s (p99 ${oneDecimal(during.http!.p99)} ms); ` +
          `the purge deleted ${integer(purged.deleted)} rows in ${purged.seconds.toFixed(1)} s${problems(alone)}${problems(during)}`,
      )
    }
    const rest = cases.includes('refresh')
      ? await servers.scaled.request<PurgeFigures>('scale.purge', { maxSeconds: 900 })
      : { batches: 0, sessions: 0, refreshTokens: 0, securityEvents: 0, idempotencyRecords: 0, seconds: 0, deleted: 0 }
    const purgedRows = rest.deleted + withPurge.reduce((sum, { purged }) => sum + purged.deleted, 0)
    const purgeSeconds = rest.seconds + withPurge.reduce((sum, { purged }) => sum + purged.seconds, 0)
    console.log(
      `  the rest of the backlog: ${integer(rest.deleted)} rows in ${rest.seconds.toFixed(1)} s; ` +
        `the whole backlog: ${integer(purgedRows)} rows in ${purgeSeconds.toFixed(1)} s (${integer(purgedRows / Math.max(purgeSeconds, 0.001))} rows/s)`,
    )

    const result = report(records, withPurge)
    const after = await relationSizes(databases.scaled.url!)
    console.log(`\nafter the run:`)
    printSizes(after)
    console.log(
      `\nLoad average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${host.cpus} CPUs. Ratios from a shared, loaded machine are indicative only: ` +
        'each pair runs seconds apart, which cancels slow drift, not a neighbour\'s burst.',
    )
    if (options.writeResults) {
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
      const file = new URL(`./results/scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url)
      writeFileSync(file, `${JSON.stringify({ options, scale, counts, machine: host, reused: reuse ?? null, load: load ?? null, freshened, sizes, after, ...result, records, withPurge, rest }, null, 2)}\n`)
      console.log(`results: ${file.pathname}`)
    }
    if (result.failed) process.exitCode = 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cleanup()
  }
}

function problems(record: RunRecord): string {
  const http = record.http!
  const bad = http.non2xx + http.errors + http.timeouts + http.warmupNon2xx + (record.check?.failures?.length ?? 0)
  return bad > 0 ? `  FAILED: ${http.non2xx} non-2xx, ${http.errors} errors ${[...http.sampleErrors, ...(record.check?.failures ?? [])].join(' | ')}` : ''
}

function report(
  records: Partial<Record<ScaleCase, Record<Which, RunRecord[]>>>,
  withPurge: Array<{ alone: RunRecord; during: RunRecord }>,
) {
  const rows: string[][] = []
  const targets: Array<{ name: string; value: string; required: string; result: 'PASS' | 'FAIL'; rounds: string }> = []
  let failed = false
  for (const name of SCALE_CASES) {
    if (!records[name]) continue
    const { empty, scaled } = records[name]
    const ratios = empty.map((run, i) => scaled[i]!.value / run.value)
    const ratio = median(ratios)
    if ([...empty, ...scaled].some((record) => problems(record) !== '')) failed = true
    rows.push([
      name,
      integer(median(empty.map((r) => r.value))),
      integer(median(scaled.map((r) => r.value))),
      `${ratio.toFixed(2)}x`,
      oneDecimal(median(empty.map((r) => r.http!.p99))),
      oneDecimal(median(scaled.map((r) => r.http!.p99))),
      ratios.map((r) => r.toFixed(2)).join(' / '),
    ])
    targets.push({ name: `${name} scaled vs empty`, value: `${ratio.toFixed(2)}x`, required: '>= 0.90x', result: ratio >= 0.9 ? 'PASS' : 'FAIL', rounds: ratios.map((r) => r.toFixed(2)).join(' / ') })
  }
  console.log(`\n${table(['case', 'empty req/s', 'scaled req/s', 'scaled/empty', 'p99 empty ms', 'p99 scaled ms', 'each round'], rows)}`)

  if (!records.refresh) {
    console.log(`\n${table(['target (median of the rounds)', 'measured', 'required', '', 'each round'], targets.map((t) => [t.name, t.value, t.required, t.result, t.rounds]))}`)
    return { targets, failed }
  }
  const p99s = records.refresh.scaled.map((r) => r.http!.p99)
  const p99 = median(p99s)
  targets.push({ name: 'refresh p99 on the scaled database', value: `${oneDecimal(p99)} ms`, required: '< 50 ms', result: p99 < 50 ? 'PASS' : 'FAIL', rounds: p99s.map(oneDecimal).join(' / ') })
  const purgeRatios = withPurge.map(({ alone, during }) => during.value / alone.value)
  const purgeRatio = median(purgeRatios)
  targets.push({
    name: 'refresh during the purge vs alone (scaled)',
    value: `${purgeRatio.toFixed(2)}x`,
    required: '>= 0.90x',
    result: purgeRatio >= 0.9 ? 'PASS' : 'FAIL',
    rounds: purgeRatios.map((r) => r.toFixed(2)).join(' / '),
  })
  console.log(`\n${table(['target (median of the rounds)', 'measured', 'required', '', 'each round'], targets.map((t) => [t.name, t.value, t.required, t.result, t.rounds]))}`)
  return { targets, failed }
}

function printSizes(sizes: RelationSize[]) {
  const total = sizes.reduce((sum, s) => sum + s.total, 0)
  console.log(`table and index sizes (pg_total_relation_size; ${mib(total)} MiB in all):`)
  console.log(
    table(
      ['table', 'rows (est.)', 'heap MiB', 'indexes MiB', 'total MiB', 'largest indexes'],
      sizes.map((s) => [s.name, integer(s.rows), mib(s.table), mib(s.indexes), mib(s.total), s.indexSizes.slice(0, 3).map((i) => `${i.name} ${mib(i.bytes)}`).join(', ')]),
    ).replace(/^/gm, '  '),
  )
}

try {
  await runScale()
} catch (error) {
  if (!(error instanceof BenchRefusal)) throw error
  console.error(error.message)
  process.exitCode = 2
}
