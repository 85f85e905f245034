import type { Test } from 'tap'
import type { Cluster, Instance } from './cluster.js'

/** The instances' environment in the restart tests. */
export const RESTART_ENV = {
  // Load shedding answers a POST 503 when the event loop stalls for a second, which a machine
  // shared with other jobs does on its own (seen: a 2.3 s stall of an instance that was not
  // restarting, three 503s). That is what shedding is for, not what a restart costs.
  MAX_EVENT_LOOP_DELAY_MS: '0',
}

/** nginx's `[error]` lines from line `from` on (an upstream refused, reset, timed out...). */
export function upstreamErrors(cluster: Cluster, from = 0): string[] {
  return cluster
    .errorLog()
    .slice(from)
    .filter((line) => line.includes('[error]'))
}

/** Requests a process of the instance logged as received and never as answered. */
function unanswered(instance: Instance, pid: number): string[] {
  const received = new Set<string>()
  for (const line of instance.logs()) {
    if (line.pid !== pid || typeof line.reqId !== 'string') continue
    if (line.msg === 'incoming request') received.add(line.reqId)
    else if (line.msg === 'request completed') received.delete(line.reqId)
  }
  return [...received]
}

/** SIGTERM: the instance drains, answers everything it received and exits 0; then it starts again. */
export async function stopAndRestart(t: Test, instance: Instance) {
  const pid = instance.process!.pid!
  const exit = await instance.stop('SIGTERM')
  t.same(exit, { code: 0, signal: null }, `${instance.name} drained and exited 0`)
  t.same(unanswered(instance, pid), [], `${instance.name} answered every request it received`)
  await instance.start()
}
