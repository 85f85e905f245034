import { describe, expect, it } from 'vitest'
import { ProblemError } from '../../../src/errors.js'
import { withDeadline } from '../../../src/services/deadline.js'

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms))

describe('withDeadline', () => {
  it('passes the answer through when the work is done in time', async () => {
    await expect(withDeadline((x: number) => after(5, x * 2), 200)(21)).resolves.toBe(42)
  })

  it('answers 503 service_unavailable with Retry-After at the deadline, without waiting for the work', async () => {
    const started = performance.now()
    const error = await withDeadline(() => after(2_000, 'late'), 50)().catch((caught: unknown) => caught)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(error).toBeInstanceOf(ProblemError)
    expect(error).toMatchObject({ code: 'service_unavailable', status: 503, retryAfterSeconds: 1 })
  })

  it('lets the work fail with its own error', async () => {
    await expect(withDeadline(() => Promise.reject(new Error('boom')), 200)()).rejects.toThrow('boom')
  })
})
