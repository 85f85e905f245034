import { randomBytes } from 'node:crypto'
import argon2, { type HashOptions } from 'argon2'
import type { Config } from '../config.js'

export interface Argon2Parameters {
  memoryCost: number
  timeCost: number
  parallelism: number
}

export function argon2Parameters(config: Pick<Config, 'ARGON2_MEMORY_KIB' | 'ARGON2_ITERATIONS' | 'ARGON2_PARALLELISM'>): Argon2Parameters {
  return { memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_ITERATIONS, parallelism: config.ARGON2_PARALLELISM }
}

/** argon2id at the configured parameters. */
export function createPasswordHasher(parameters: Argon2Parameters) {
  const options: HashOptions = { type: argon2.argon2id, ...parameters }
  let dummy: Promise<string> | undefined

  const hasher = {
    hash(password: string): Promise<string> {
      return argon2.hash(password, options)
    },

    /** False (never a throw) for a wrong password or a digest argon2 cannot read. */
    async verify(digest: string, password: string): Promise<boolean> {
      try {
        return await argon2.verify(digest, password)
      } catch {
        return false
      }
    },

    /** True when the digest was made with other parameters (or another argon2 variant) than the configured ones. */
    needsRehash(digest: string): boolean {
      if (!digest.startsWith('$argon2id$')) return true
      try {
        return argon2.needsRehash(digest, parameters)
      } catch {
        return true
      }
    },

    /**
     * Spends the time of a real verification, for an account that does not exist, so that the
     * answer's timing does not tell whether the email is registered. Always false.
     */
    async verifyNothing(password: string): Promise<false> {
      dummy ??= argon2.hash(randomBytes(32).toString('base64url'), options)
      await hasher.verify(await dummy, password)
      return false
    },

    /** Computes the dummy digest ahead of the first unknown-email login. */
    async warmUp(): Promise<void> {
      dummy ??= argon2.hash(randomBytes(32).toString('base64url'), options)
      await dummy
    },
  }
  return hasher
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
