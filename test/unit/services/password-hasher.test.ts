import { describe, expect, it } from 'vitest'
import { argon2Concurrency, createLimiter } from '../../../src/services/password-hasher.js'

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

describe('createLimiter', () => {
  it('runs at most `limit` jobs at once, the others in arrival order', async () => {
    const limited = createLimiter(2)
    const gates = Array.from({ length: 5 }, deferred)
    const started: number[] = []
    const finished = gates.map((gate, i) =>
      limited(async () => {
        started.push(i)
        await gate.promise
        return i
      }),
    )
    await Promise.resolve()
    expect(started).toEqual([0, 1])
    gates[1]!.resolve()
    await finished[1]
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toEqual([0, 1, 2])
    for (const gate of gates) gate.resolve()
    expect(await Promise.all(finished)).toEqual([0, 1, 2, 3, 4])
    expect(started).toEqual([0, 1, 2, 3, 4])
  })

  it('frees the slot of a job that fails', async () => {
    const limited = createLimiter(1)
    await expect(limited(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(limited(() => Promise.resolve('next'))).resolves.toBe('next')
  })
})

describe('argon2Concurrency', () => {
  it.each([
    [4, 8, 3],
    [2, 8, 1],
    [1, 8, 1],
    [16, 8, 8],
    [4, 2, 2],
    [4, 1, 1],
  ])('with %i threadpool threads on %i cores: %i at once', (threads, cores, expected) => {
    expect(argon2Concurrency(threads, cores)).toBe(expected)
  })
})
