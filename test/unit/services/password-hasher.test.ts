import { describe, expect, it } from 'vitest'
import { AbandonedError } from '../../../src/errors.js'
import { argon2Concurrency, createLimiter, createPasswordHasher } from '../../../src/services/password-hasher.js'

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

describe('an abandoned job', () => {
  it('does not run once its signal aborted while it waited, and hands its slot on', async () => {
    const limited = createLimiter(1)
    const gate = deferred()
    const started: string[] = []
    const first = limited(async () => {
      started.push('first')
      await gate.promise
    })
    const controller = new AbortController()
    const abandoned = limited(async () => void started.push('abandoned'), controller.signal)
    const next = limited(async () => void started.push('next'))
    controller.abort()
    gate.resolve()
    await first
    await expect(abandoned).rejects.toBeInstanceOf(AbandonedError)
    await next
    expect(started).toEqual(['first', 'next'])
  })

  it('rejects at once when its signal had already aborted', async () => {
    const job = async () => 'ran'
    await expect(createLimiter(1)(job, AbortSignal.abort())).rejects.toBeInstanceOf(AbandonedError)
  })

  it('is not a wrong password: verify and verifyNothing reject instead of answering false', async () => {
    const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }, 1)
    const digest = await hasher.hash('a password')
    await expect(hasher.verify(digest, 'a password', AbortSignal.abort())).rejects.toBeInstanceOf(AbandonedError)
    await expect(hasher.verifyNothing('a password', AbortSignal.abort())).rejects.toBeInstanceOf(AbandonedError)
    await expect(hasher.hash('a password', AbortSignal.abort())).rejects.toBeInstanceOf(AbandonedError)
    expect(await hasher.verify(digest, 'a password', new AbortController().signal)).toBe(true)
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
