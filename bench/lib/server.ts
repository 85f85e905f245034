import type { LoadRequest, LoadResult } from './load.js'

/** What a case's run left to say: failures fail the case; notes are printed beside it. */
export interface RunCheck {
  failures?: string[]
  notes?: string[]
}

/** What a server learns of the run it prepares for: which round, how many connections, how many seconds of load (warm-up included). */
export interface RunShape {
  index: number
  connections: number
  seconds: number
}

/** A server under test, living in a process of its own (bench/lib/server-child.ts). */
export interface BenchServer {
  url: string
  /** The requests the load generator sends for one run of a case (fresh fixtures where a run consumes them). */
  prepare(caseName: string, run: RunShape): Promise<LoadRequest>
  /** Checks after a run, e.g. that every 2xx of a refresh run was a rotation. */
  afterRun?(caseName: string, result: LoadResult): Promise<RunCheck>
  /** Extra calls a case may make (the memory case). */
  calls?: Record<string, (params: unknown) => unknown>
  close(): Promise<void>
}

export const SERVER_KINDS = ['hello', 'tollgate', 'jwt', 'express-session', 'oidc-provider'] as const
export type ServerKind = (typeof SERVER_KINDS)[number]

/** Settings a server process reads from its environment (set by bench/lib/suite.ts). */
export function benchEnvironment() {
  return {
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
    embedded: process.env.BENCH_EMBEDDED === '1',
  }
}
