import { mkdirSync, writeFileSync } from 'node:fs'
import { CASES, MEMORY_CASE, TARGETS, type BenchCase, type CaseName, type CaseSummary, type RoundFigures } from '../cases.js'
import { startChild, type Child } from './child.js'
import { openBenchDatabase, type BenchDatabase } from './database.js'
import { integer, markdownTable, median, oneDecimal, table } from './format.js'
import { databaseCpuBetween, databaseCpuMicros } from './database-cpu.js'
import { machine, type Machine } from './machine.js'
import type { LoadRequest, LoadResult, LoadSpec } from './load.js'
import type { Measurement } from './measure-child.js'
import type { RunCheck, ServerKind } from './server.js'

export interface SuiteOptions {
  /** Case names (and `memory`); all when undefined. */
  only?: readonly string[]
  seconds: number
  warmupSeconds: number
  runs: number
  connections: number
  /** Seconds per in-process verifier measurement (they are stable; short is enough). */
  verifySeconds: number
  /** Writes bench/results/<time>.json. */
  writeResults: boolean
}

export function suiteOptions(argv: readonly string[] = process.argv.slice(2)): SuiteOptions {
  const onlyIndex = argv.findIndex((arg) => arg === '--only' || arg.startsWith('--only='))
  let only: string[] | undefined
  if (onlyIndex >= 0) {
    const arg = argv[onlyIndex]!
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[onlyIndex + 1]
    only = (value ?? '').split(',').map((name) => name.trim()).filter(Boolean)
  }
  const number = (name: string, fallback: number) => {
    const raw = process.env[name]
    const value = raw === undefined || raw === '' ? fallback : Number(raw)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${raw})`)
    return value
  }
  const seconds = number('BENCH_SECONDS', 4)
  return {
    ...(only ? { only } : {}),
    seconds,
    warmupSeconds: number('BENCH_WARMUP_SECONDS', 1),
    runs: Math.round(number('BENCH_RUNS', 5)),
    connections: Math.round(number('BENCH_CONNECTIONS', 50)),
    verifySeconds: number('BENCH_VERIFY_SECONDS', Math.min(seconds, 2)),
    writeResults: !argv.includes('--no-save'),
  }
}

export interface RunRecord {
  run: number
  value: number
  http?: LoadResult
  /** The server's event-loop delay during the run (ms): tells a slow answer from a blocked loop. */
  eventLoop?: { p50: number; p99: number; max: number }
  /**
   * The server process's CPU time (user + system, all threads) per answered request, warm-up included,
   * in µs: what a request costs the server, much steadier on a shared machine than the rate. For an
   * in-process case, the measuring process's CPU per operation.
   */
  serverCpuMicros?: number
  /** The same for the PostgreSQL backends of the benchmark's database (µs per answered request), when PostgreSQL runs on this machine. */
  databaseCpuMicros?: number
  measurement?: Measurement
  check?: RunCheck
}

export interface SuiteResult {
  machine: Machine & { database: string }
  cases: Record<string, { title: string; unit: string; runs: RunRecord[]; summary: CaseSummary; failed: string[] }>
  /** Each target's median over the rounds, and its figure in each round. */
  targets: Array<{ name: string; value: string; rounds: string[]; required: string; result: 'PASS' | 'FAIL' }>
  memory?: unknown
  failed: boolean
}

/** BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the servers under test. */
function serverNodeArguments(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
}

const USES_DATABASE: Record<ServerKind, boolean> = { hello: false, tollgate: true, jwt: true, 'express-session': true, 'oidc-provider': false }

function select(only: readonly string[] | undefined): { cases: BenchCase[]; memory: boolean } {
  if (!only) return { cases: [...CASES], memory: false }
  const known = new Set<string>([...CASES.map((c) => c.name), MEMORY_CASE])
  const unknown = only.filter((name) => !known.has(name))
  if (unknown.length > 0) throw new Error(`unknown case(s) ${unknown.join(', ')}; the cases are: ${[...known].join(', ')}`)
  return { cases: CASES.filter((c) => only.includes(c.name)), memory: only.includes(MEMORY_CASE) }
}

/** Runs the selected cases in rounds, prints the table and the targets, and returns everything measured. */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const { cases, memory } = select(options.only)
  const kinds = [...new Set(cases.flatMap((c) => (c.type === 'http' ? [c.server] : [])))]
  const needsDatabase = memory || kinds.some((kind) => USES_DATABASE[kind])
  const children: Child[] = []
  let database: BenchDatabase | undefined
  const cleanup = async () => {
    await Promise.allSettled(children.map((child) => child.close()))
    await database?.drop()
  }
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    if (needsDatabase) database = await openBenchDatabase()
    const env = { BENCH_DATABASE_URL: database?.url ?? '', BENCH_EMBEDDED: database?.embedded ? '1' : '0' }
    const host = machine()
    const about = { ...host, database: database?.label ?? 'none' }
    console.log(`tollgate benchmarks: ${host.cpus} CPUs (${host.cpuModel}), Node ${host.node}, ${about.database}`)
    if (cases.length > 0) {
      console.log(
        `${options.runs} rounds of ${cases.length} case(s), ${options.seconds} s per run after ${options.warmupSeconds} s of warm-up, ` +
          `${options.connections} connections, load generator in a process of its own\n`,
      )
    }

    const servers = new Map<ServerKind, Child<{ url: string }>>()
    const started = await Promise.allSettled([
      ...kinds.map(async (kind) => {
        const child = await startChild<{ url: string }>(new URL('./server-child.ts', import.meta.url), { args: [kind], env, execArgv: serverNodeArguments() })
        children.push(child)
        servers.set(kind, child)
      }),
    ])
    const failedStart = started.find((outcome) => outcome.status === 'rejected')
    if (failedStart) throw failedStart.reason
    const load = cases.some((c) => c.type === 'http') ? await startChild(new URL('./load-child.ts', import.meta.url), { env }) : undefined
    if (load) children.push(load)
    const measure = cases.some((c) => c.type === 'in-process') ? await startChild(new URL('./measure-child.ts', import.meta.url), { env }) : undefined
    if (measure) children.push(measure)

    const records = new Map<string, RunRecord[]>(cases.map((c) => [c.name, []]))
    for (let round = 0; round < options.runs; round++) {
      for (const benchCase of cases) {
        const record = benchCase.type === 'http'
          ? await runHttp(benchCase.name, servers.get(benchCase.server)!, load!, round, options, USES_DATABASE[benchCase.server] && !database?.embedded ? database?.url : undefined)
          : await runInProcess(benchCase.name, measure!, round, options)
        records.get(benchCase.name)!.push(record)
        console.log(progressLine(benchCase, record, round, options.runs))
      }
    }

    const result: SuiteResult = { machine: about, cases: {}, targets: [], failed: false }
    for (const benchCase of cases) {
      const runs = records.get(benchCase.name)!
      const failed = runs.flatMap((r) => failures(r))
      const http = runs.flatMap((r) => (r.http ? [r.http] : []))
      const summary: CaseSummary = {
        value: median(runs.map((r) => r.value)),
        ...(http.length > 0 ? { p50: median(http.map((h) => h.p50)), p99: median(http.map((h) => h.p99)) } : {}),
        ...(runs.some((r) => r.serverCpuMicros !== undefined) ? { serverCpuMicros: median(runs.flatMap((r) => (r.serverCpuMicros === undefined ? [] : [r.serverCpuMicros]))) } : {}),
        ...(runs.some((r) => r.databaseCpuMicros !== undefined) ? { databaseCpuMicros: median(runs.flatMap((r) => (r.databaseCpuMicros === undefined ? [] : [r.databaseCpuMicros]))) } : {}),
        ...(http.some((h) => h.probe) ? { probeP99: median(http.map((h) => h.probe!.p99)), probeMax: Math.max(...http.map((h) => h.probe!.max)) } : {}),
      }
      result.cases[benchCase.name] = { title: benchCase.title, unit: benchCase.type === 'http' ? 'req/s' : benchCase.unit, runs, summary, failed }
      if (failed.length > 0) result.failed = true
    }

    if (memory) {
      const { runMemory } = await import('../memory.js')
      result.memory = await runMemory({ env, seconds: options.seconds })
    }

    printResults(result, cases)
    if (options.writeResults) {
      mkdirSync(new URL('../results/', import.meta.url), { recursive: true })
      const file = new URL(`../results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url)
      writeFileSync(file, `${JSON.stringify({ options, ...result }, null, 2)}\n`)
      console.log(`\nresults: ${file.pathname}`)
    }
    return result
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cleanup()
  }
}

/**
 * Waits (at most 15 s) until the server is idle: the load generator stops at the end of a run,
 * but the requests it left in flight are still served. After a login flood at 50 connections
 * that is some 50 argon2 hashes, two seconds of both cores, which would otherwise run into the
 * next case (raw argon2 in the suite, another database's case in the scale bench).
 */
async function settled(server: Child<{ url: string }>): Promise<void> {
  const intervalMs = 250
  const deadline = performance.now() + 15_000
  let before = await server.request<number>('cpuUsage')
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
    const now = await server.request<number>('cpuUsage')
    const busy = (now - before) / (intervalMs * 1000)
    before = now
    if (busy < 0.15) return
  }
}

/**
 * A preparation that minted single-use values (codes of the code case, sign-ins) did seconds of
 * work in the server's own process, thousands of rows through Prisma: its event loop stalled for
 * over a second, and tollgate's load shedding (@fastify/under-pressure, MAX_EVENT_LOOP_DELAY_MS
 * 1000, the mean delay of each one-second sample) then answered the whole warm-up 503 at once
 * (Retry-After: 5), for a stall of the bench's making. Waits until the server is idle and two
 * samples have passed, the one with the stall in it included.
 */
async function sheddingExpired(server: Child<{ url: string }>): Promise<void> {
  await settled(server)
  await new Promise((resolve) => setTimeout(resolve, 2_100))
}

export async function runHttp(name: string, server: Child<{ url: string }>, load: Child, round: number, options: SuiteOptions, databaseUrl?: string): Promise<RunRecord> {
  const connections = options.connections
  const request = await server.request<LoadRequest>('prepare', { caseName: name, run: { index: round, connections, seconds: options.seconds + options.warmupSeconds } })
  const spec: LoadSpec = {
    ...request,
    url: server.info.url,
    connections: request.connections ?? connections,
    durationSeconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
  }
  if (request.consume) await sheddingExpired(server)
  await server.request('eventLoopDelay')
  const cpuBefore = await server.request<number>('cpuUsage')
  const databaseBefore = await databaseCpuMicros(databaseUrl)
  const http = await load.request<LoadResult>('run', spec)
  const cpuAfter = await server.request<number>('cpuUsage')
  const databaseAfter = await databaseCpuMicros(databaseUrl)
  const eventLoop = await server.request<{ p50: number; p99: number; max: number }>('eventLoopDelay')
  const check = await server.request<RunCheck>('afterRun', { caseName: name, result: http })
  await settled(server)
  const answered = http.total + http.warmupOk + http.warmupNon2xx
  const serverCpuMicros = answered > 0 ? (cpuAfter - cpuBefore) / answered : undefined
  const databaseMicros = databaseCpuBetween(databaseBefore, databaseAfter)
  const databaseCpu = answered > 0 && databaseMicros !== undefined ? databaseMicros / answered : undefined
  return {
    run: round + 1,
    value: http.requestsPerSecond,
    http,
    eventLoop,
    ...(serverCpuMicros === undefined ? {} : { serverCpuMicros }),
    ...(databaseCpu === undefined ? {} : { databaseCpuMicros: databaseCpu }),
    check,
  }
}

async function runInProcess(name: string, measure: Child, round: number, options: SuiteOptions): Promise<RunRecord> {
  const seconds = name === 'argon2' ? options.seconds : options.verifySeconds
  const measurement = await measure.request<Measurement>(name, seconds)
  return { run: round + 1, value: measurement.opsPerSecond, measurement, serverCpuMicros: measurement.cpuMicrosPerOp }
}

function failures(record: RunRecord): string[] {
  const found = [...(record.check?.failures ?? [])]
  const http = record.http
  if (http) {
    const bad = http.non2xx + http.errors + http.timeouts + http.warmupNon2xx
    if (bad > 0) {
      found.push(
        `run ${record.run}: ${http.non2xx} non-2xx, ${http.errors} errors, ${http.timeouts} timeouts, ${http.warmupNon2xx} failed in the warm-up; ` +
          `status codes ${JSON.stringify(http.statusCodes)}${http.sampleErrors.length > 0 ? `; e.g. ${http.sampleErrors.join(' | ')}` : ''}`,
      )
    }
    if (http.probe && http.probe.non2xx + http.probe.errors > 0) found.push(`run ${record.run}: the latency probe got ${http.probe.non2xx} non-2xx and ${http.probe.errors} errors`)
    if (http.ok === 0) found.push(`run ${record.run}: no successful request at all`)
  }
  return found
}

function progressLine(benchCase: BenchCase, record: RunRecord, round: number, runs: number): string {
  const unit = benchCase.type === 'http' ? 'req/s' : benchCase.unit
  const latency = record.http
    ? `  p50 ${oneDecimal(record.http.p50)} ms  p99 ${oneDecimal(record.http.p99)} ms${record.serverCpuMicros === undefined ? '' : `  server CPU ${integer(record.serverCpuMicros)} µs/req`}` +
      `${record.databaseCpuMicros === undefined ? '' : ` + PostgreSQL ${integer(record.databaseCpuMicros)}`}`
    : ''
  const probe = record.http?.probe
    ? `  /health/live p99 ${oneDecimal(record.http.probe.p99)} ms (max ${oneDecimal(record.http.probe.max)}),` +
      ` server event-loop delay p99 ${oneDecimal(record.eventLoop?.p99 ?? 0)} ms (max ${oneDecimal(record.eventLoop?.max ?? 0)})`
    : ''
  const bad = failures(record)
  return `  [${round + 1}/${runs}] ${benchCase.name.padEnd(18)} ${integer(record.value).padStart(8)} ${unit}${latency}${probe}${bad.length > 0 ? `  FAILED: ${bad.join('; ')}` : ''}`
}

function caseRows(result: SuiteResult, cases: BenchCase[]): string[][] {
  return cases.map((benchCase) => {
    const entry = result.cases[benchCase.name]!
    const { summary } = entry
    return [
      benchCase.name,
      `${benchCase.baseline ? '(baseline) ' : ''}${benchCase.title}`,
      integer(summary.value),
      entry.unit,
      summary.p50 !== undefined ? oneDecimal(summary.p50) : '',
      summary.p99 !== undefined ? oneDecimal(summary.p99) : '',
      summary.serverCpuMicros !== undefined ? integer(summary.serverCpuMicros) : '',
      summary.databaseCpuMicros !== undefined ? integer(summary.databaseCpuMicros) : '',
      entry.runs.map((r) => integer(r.value)).join(' / '),
      entry.failed.length > 0 ? 'FAILED' : 'ok',
    ]
  })
}

/** Each round's figures, per case: what the targets are worked out from. */
function roundFigures(result: SuiteResult, cases: BenchCase[]): RoundFigures[] {
  const count = Math.max(0, ...cases.map((c) => result.cases[c.name]?.runs.length ?? 0))
  return Array.from({ length: count }, (_, index) => {
    const round: RoundFigures = {}
    for (const benchCase of cases) {
      const record = result.cases[benchCase.name]?.runs[index]
      if (!record) continue
      round[benchCase.name as CaseName] = {
        value: record.value,
        ...(record.http ? { p50: record.http.p50, p99: record.http.p99 } : {}),
        ...(record.http?.probe ? { probeP99: record.http.probe.p99, probeMax: record.http.probe.max } : {}),
      }
    }
    return round
  })
}

function printResults(result: SuiteResult, cases: BenchCase[]) {
  if (cases.length === 0) return
  const header = ['case', 'what', 'median', 'unit', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'PostgreSQL CPU µs/req', 'runs', 'status']
  const rows = caseRows(result, cases)
  console.log(`\n${table(header, rows, 2)}`)

  const selected = new Set(cases.map((c) => c.name))
  const rounds = roundFigures(result, cases)
  for (const target of TARGETS) {
    if (!target.needs.every((name) => selected.has(name))) continue
    const perRound = rounds.map((round) => target.measure(round)).filter((value): value is number => value !== undefined)
    if (perRound.length === 0) continue
    const value = median(perRound)
    result.targets.push({ name: target.name, value: target.format(value), rounds: perRound.map(target.format), required: target.required, result: target.pass(value) ? 'PASS' : 'FAIL' })
  }
  const loginProbe = result.cases.login?.summary
  if (result.targets.length > 0) {
    const targetRows = result.targets.map((t) => [t.name, t.value, t.required, t.result, t.rounds.join(' / ')])
    console.log(`\n${table(['target (median of the rounds)', 'measured', 'required', '', 'each round'], targetRows)}`)
    if (loginProbe?.probeMax !== undefined) console.log(`(/health/live during the login flood: worst single answer ${oneDecimal(loginProbe.probeMax)} ms)`)
  }
  for (const [name, entry] of Object.entries(result.cases)) {
    for (const failure of entry.failed) console.error(`\nCASE FAILED ${name}: ${failure}`)
    for (const note of new Set(entry.runs.flatMap((r) => r.check?.notes ?? []))) console.log(`note ${name}: ${note}`)
  }
  if (process.env.BENCH_MARKDOWN === '1') {
    console.log(`\n${markdownTable(header.slice(0, 9), rows.map((r) => r.slice(0, 9)), 2)}`)
    if (result.targets.length > 0) {
      const targetRows = result.targets.map((t) => [t.name, t.value, t.required, t.result, t.rounds.join(' / ')])
      console.log(`\n${markdownTable(['target', 'measured', 'required', 'result', 'each round'], targetRows)}`)
    }
  }
}
