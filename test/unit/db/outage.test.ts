import { describe, expect, it } from 'vitest'
import { createOutageMonitor } from '../../../src/db/outage.js'

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })

function harness() {
  const lines: Array<{ level: 'error' | 'info'; message: string; object: Record<string, unknown> }> = []
  const counted: string[] = []
  const changes: boolean[] = []
  let answering = true
  let clock = 0
  const monitor = createOutageMonitor({
    ping: async () => {
      if (!answering) throw refused()
    },
    log: {
      error: (object, message) => lines.push({ level: 'error', message, object }),
      info: (object, message) => lines.push({ level: 'info', message, object }),
    },
    onFailure: (kind) => counted.push(kind),
    onChange: (up) => changes.push(up),
    recheckMs: 10,
    settleMs: 5_000,
    now: () => clock,
  })
  return {
    monitor,
    lines,
    counted,
    changes,
    setAnswering: (value: boolean) => (answering = value),
    advance: (ms: number) => (clock += ms),
  }
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(condition()).toBe(true)
}

describe('the outage monitor', () => {
  it('logs an outage once when it starts and once when the database is back, with the failed requests counted', async () => {
    const { monitor, lines, counted, setAnswering, advance } = harness()
    setAnswering(false)
    for (let i = 0; i < 50; i++) expect(monitor.report(refused())).toBe(true)
    expect(monitor.up).toBe(false)
    expect(await monitor.check()).toBe(false)
    expect(lines).toEqual([{ level: 'error', message: 'database unreachable', object: expect.objectContaining({ kind: 'refused', source: 'request' }) }])
    advance(2_500)
    setAnswering(true)
    await until(() => monitor.up)
    expect(lines.slice(1)).toEqual([{ level: 'info', message: 'database back', object: { failedRequests: 50, outageSeconds: 2.5 } }])
    expect(counted.filter((kind) => kind === 'refused').length).toBeGreaterThanOrEqual(50)
    expect(await monitor.check()).toBe(true)
    monitor.close()
  })

  it('notices a silent database on a readiness check, and its return without any request', async () => {
    const { monitor, lines, changes, setAnswering } = harness()
    setAnswering(false)
    expect(await monitor.check()).toBe(false)
    expect(lines.map((line) => line.message)).toEqual(['database unreachable'])
    setAnswering(true)
    await until(() => monitor.up)
    expect(changes, 'told at the start and at the end (the pool drops its idle connections)').toEqual([false, true])
    expect(lines.map((line) => line.message)).toEqual(['database unreachable', 'database back'])
    expect(lines[1]!.object).toMatchObject({ failedRequests: 0 })
    monitor.close()
  })

  it('takes a query timing out just after the return for the tail of the outage, not a new one', async () => {
    const { monitor, lines, setAnswering, advance } = harness()
    setAnswering(false)
    monitor.report(refused())
    setAnswering(true)
    await until(() => monitor.up)
    const timeout = new Error('Query read timeout')
    advance(3_000)
    expect(monitor.report(timeout)).toBe(true)
    expect(monitor.up).toBe(true)
    advance(3_000)
    monitor.report(timeout)
    expect(monitor.up, 'past the settle time it is news again').toBe(false)
    expect(lines.map((line) => line.message)).toEqual(['database unreachable', 'database back', 'database unreachable'])
    monitor.close()
  })

  it('says nothing of failures once closed: the app closes the database under its background jobs', () => {
    const { monitor, lines } = harness()
    monitor.close()
    expect(monitor.report(refused(), 'background')).toBe(true)
    expect(monitor.up).toBe(true)
    expect(lines).toEqual([])
  })

  it('leaves other errors to the caller', () => {
    const { monitor, lines, counted } = harness()
    expect(monitor.report(new TypeError('x is undefined'))).toBe(false)
    expect(monitor.up).toBe(true)
    expect(lines).toEqual([])
    expect(counted).toEqual([])
  })
})
