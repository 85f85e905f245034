import { setTimeout as sleep } from 'node:timers/promises'
import type { JWK } from 'jose'
import type { KeySchedule, KeyStatus } from '../domain/keys/lifecycle.js'
import type { SigningAlgorithm } from '../domain/keys/key-provider.js'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'

export interface SigningKeyRecord extends KeySchedule {
  alg: SigningAlgorithm
  publicJwk: JWK
  /** AES-256-GCM, iv ‖ ciphertext ‖ tag, with the kid as associated data. */
  encryptedPrivateKey: Uint8Array
}

type Db = PrismaClient | Prisma.TransactionClient

/** Key changes are serialized across instances by this transaction-scoped advisory lock. */
const LOCK_NAME = 'tollgate signing keys'
/** How long an instance waits for that lock, and how often it tries (each try its own transaction). */
const LOCK_WAIT_MS = 60_000
const LOCK_RETRY_MS = 100

function store(db: Db) {
  return {
    async list(): Promise<SigningKeyRecord[]> {
      const rows = await db.signingKey.findMany({ orderBy: { createdAt: 'asc' } })
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg as SigningAlgorithm,
        status: row.status as KeyStatus,
        publicJwk: row.publicJwk as JWK,
        encryptedPrivateKey: row.encryptedPrivateKey,
        createdAt: row.createdAt,
        activatesAt: row.activatesAt,
        retiredAt: row.retiredAt,
        removeAfter: row.removeAfter,
      }))
    },
    async insert(key: Omit<SigningKeyRecord, 'retiredAt' | 'removeAfter'>) {
      await db.signingKey.create({
        data: {
          kid: key.kid,
          alg: key.alg,
          status: key.status,
          publicJwk: key.publicJwk as Prisma.InputJsonObject,
          encryptedPrivateKey: new Uint8Array(key.encryptedPrivateKey),
          createdAt: key.createdAt,
          activatesAt: key.activatesAt,
        },
      })
    },
    async activate(kid: string, activatesAt: Date) {
      await db.signingKey.update({ where: { kid }, data: { status: 'active', activatesAt } })
    },
    async retire(kid: string, retiredAt: Date, removeAfter: Date) {
      await db.signingKey.update({ where: { kid }, data: { status: 'retired', retiredAt, removeAfter } })
    },
    async reseal(kid: string, encryptedPrivateKey: Uint8Array) {
      await db.signingKey.update({ where: { kid }, data: { encryptedPrivateKey: new Uint8Array(encryptedPrivateKey) } })
    },
    async remove(kids: string[]) {
      if (kids.length) await db.signingKey.deleteMany({ where: { kid: { in: kids } } })
    },
  }
}

export type SigningKeyStore = ReturnType<typeof store>

export function createSigningKeyRepository(prisma: PrismaClient) {
  return {
    ...store(prisma),
    // In a transaction: the embedded PGlite multiplexes every connection onto one session and
    // only keeps a transaction's statements together, so a bare read racing another instance's
    // key change can lose its unnamed portal (error 34000) or read an empty result.
    async list(): Promise<SigningKeyRecord[]> {
      return prisma.$transaction((tx) => store(tx).list())
    },
    /**
     * Runs `change` in one transaction holding the key-maintenance lock. With `wait: false` an
     * instance that finds the lock taken skips (another one is doing the same work) and gets
     * `{ locked: false }`; with `wait: true` it tries again until it gets it (up to a minute).
     * Never a blocking lock wait: that would be one statement as long as the holder's work, cut by
     * the server's statement_timeout, lock_timeout and the client's query timeout on a busy start;
     * and no transaction (nor pooled connection) held open while waiting.
     */
    async withMaintenanceLock<T>(
      change: (keys: SigningKeyStore) => Promise<T>,
      options: { wait: boolean },
    ): Promise<{ locked: true; value: T } | { locked: false }> {
      const attempt = () =>
        prisma.$transaction(
          async (tx) => {
            const [row] = await tx.$queryRaw<Array<{ locked: boolean }>>`
              SELECT pg_try_advisory_xact_lock(hashtextextended(${LOCK_NAME}, 0)) AS locked`
            if (!row?.locked) return { locked: false as const }
            return { locked: true as const, value: await change(store(tx)) }
          },
          { maxWait: 10_000, timeout: 30_000 },
        )
      const giveUpAt = Date.now() + LOCK_WAIT_MS
      for (;;) {
        const result = await attempt()
        if (result.locked || !options.wait) return result
        if (Date.now() > giveUpAt) throw new Error('the signing-key maintenance lock stayed taken for a minute')
        await sleep(LOCK_RETRY_MS + Math.floor(Math.random() * LOCK_RETRY_MS))
      }
    },
  }
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>
