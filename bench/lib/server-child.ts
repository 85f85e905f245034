import { monitorEventLoopDelay } from 'node:perf_hooks'
import { serve } from './child.js'
import { SERVER_KINDS, type BenchServer, type RunShape, type ServerKind } from './server.js'

const kind = process.argv[2] as ServerKind
if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind ${kind}; one of ${SERVER_KINDS.join(', ')}`)

const module = (await import(`../servers/${kind}.js`)) as { start(): Promise<BenchServer> }
const server = await module.start()
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
serve(
  { url: server.url, pid: process.pid },
  {
    ...server.calls,
    prepare: (params) => {
      const { caseName, run } = params as { caseName: string; run: RunShape }
      return server.prepare(caseName, run)
    },
    afterRun: (params) => {
      const { caseName, result } = params as { caseName: string; result: Parameters<NonNullable<BenchServer['afterRun']>>[1] }
      return server.afterRun?.(caseName, result) ?? {}
    },
    memory: () => process.memoryUsage(),
    /** CPU time of this whole process (event loop, threadpool, GC) in µs, user + system. */
    cpuUsage: () => {
      const { user, system } = process.cpuUsage()
      return user + system
    },
    /** The event loop's delay since the last call, in ms. */
    eventLoopDelay: () => {
      const delay = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 }
      loopDelay.reset()
      return delay
    },
    close: () => server.close(),
  },
)
