/**
 * The benchmark suite (a script, not a test): tollgate beside its baselines, in one run, read as
 * ratios. Needs a PostgreSQL server (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres),
 * where it creates a database of its own and drops it at the end.
 *
 *   npm run bench                                  # every case but memory (about 7 minutes)
 *   npm run bench:memory                           # the memory and growth case (about 3 minutes)
 *   npm run bench -- --only cart-get,jwt-pg        # some cases (names: npm run bench -- --list)
 *   BENCH_SECONDS=3 BENCH_RUNS=1 npm run bench -- --only refresh
 *   BENCH_SCALE=0.01 npm run bench -- --scale      # on a production-sized dataset beside an empty one (bench/scale.ts)
 *   npm run bench -- --embedded                    # start-to-ready and throughput on the embedded PGlite (bench/embedded.ts)
 *
 * BENCH_SECONDS (4) per run after BENCH_WARMUP_SECONDS (1), BENCH_RUNS (5) rounds, BENCH_CONNECTIONS (50),
 * BENCH_VERIFY_SECONDS (2) per in-process verifier run, BENCH_MARKDOWN=1 also prints Markdown tables,
 * TOLLGATE_<SETTING>=value overrides a tollgate setting (TOLLGATE_DATABASE_POOL_SIZE=20),
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers under test, --no-save
 * skips the JSON. Prints the table and the targets of issues 8 and 18 (PASS/FAIL), and writes
 * bench/results/<time>.json. Exit code 1 when a case failed (any non-2xx answer), 2 when refused.
 */
import { CASES, MEMORY_CASE } from './cases.js'
import { runCases } from './lib/main.js'

if (process.argv.includes('--scale')) {
  await import('./scale.js')
} else if (process.argv.includes('--embedded')) {
  await import('./embedded.js')
} else if (process.argv.includes('--list')) {
  for (const c of CASES) console.log(`${c.name.padEnd(20)} ${c.title}`)
  console.log(`${MEMORY_CASE.padEnd(20)} RSS after 10,000 sessions, 100,000 rotations and 5,000 idle connections; table sizes with the purge`)
} else {
  await runCases()
}
