import { createHash, type KeyObject } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLocalJWKSet, errors as joseErrors, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose'
import type { Config } from '../config.js'
import { createJwsSigner } from '../domain/keys/jws-signer.js'
import {
  generateSigningKey,
  importPrivateKey,
  publicMembers,
  type GeneratedSigningKey,
  type PublicSigningJwk,
} from '../domain/keys/key-material.js'
import { NoSigningKeyError, type KeyProvider, type Signer, type SigningAlgorithm } from '../domain/keys/key-provider.js'
import {
  activeKeyOf,
  defaultAlgorithm,
  isEmptyPlan,
  jwksMaxAgeSeconds,
  propagatedAt,
  lifecycleSettings,
  planKeyMaintenance,
  publishedKeys,
  type KeyPlan,
  type KeyStatus,
} from '../domain/keys/lifecycle.js'
import type { SigningKeyRecord, SigningKeyRepository, SigningKeyStore } from '../repositories/signing-keys.js'
import type { Clock } from './access-tokens.js'
import type { KeySealer } from './key-encryption-key.js'

type Log = {
  info(object: object, message: string): void
  warn(object: object, message: string): void
}

export type SigningKeyConfig = Pick<
  Config,
  | 'SIGNING_ALGORITHMS'
  | 'KEY_ROTATION_INTERVAL_SECONDS'
  | 'JWKS_MAX_AGE_SECONDS'
  | 'KEY_REFRESH_INTERVAL_SECONDS'
  | 'ACCESS_TOKEN_TTL_SECONDS'
>

/** What `tollgate keys list` and operators see of a key: never key material. */
export interface SigningKeySummary {
  kid: string
  alg: string
  status: KeyStatus
  published: boolean
  createdAt: Date
  activatesAt: Date
  retiredAt: Date | null
  removeAfter: Date | null
}

/** The JWKS as served: the key set, its ETag, and how long caches may keep it. */
export interface JwksDocument {
  jwks: { keys: PublicSigningJwk[] }
  /** `jwks` serialized once per key change, for serving as is. */
  body: string
  etag: string
  maxAgeSeconds: number
}

interface KeyView {
  records: SigningKeyRecord[]
  /** The kids of the published keys: a token naming another one makes the instance reload. */
  kids: Set<string>
  /** The active key of each algorithm that has one, the default algorithm first. */
  signers: Map<SigningAlgorithm, Signer>
  defaultSigner: Signer
  jwks: { keys: PublicSigningJwk[] }
  body: string
  etag: string
  keySet: ReturnType<typeof createLocalJWKSet>
}

/** At most one reload per this interval for tokens naming an unknown kid, whatever their number. */
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1000

/** The operator's view of the key records: no key material. */
export function summarizeKeys(records: readonly SigningKeyRecord[], now: Date): SigningKeySummary[] {
  const published = new Set(publishedKeys(records, now).map((record) => record.kid))
  return records.map((record) => ({
    kid: record.kid,
    alg: record.alg,
    status: record.status,
    published: published.has(record.kid),
    createdAt: record.createdAt,
    activatesAt: record.activatesAt,
    retiredAt: record.retiredAt,
    removeAfter: record.removeAfter,
  }))
}

/**
 * Signing keys kept in PostgreSQL and shared by every instance. `maintain()` applies the
 * lifecycle plan under an advisory lock so concurrent instances agree on one active key, then
 * reloads; every instance calls it on a timer, so a rotation anywhere (or by the CLI) is picked
 * up within one refresh interval. `provider` is the KeyProvider the rest of the app signs with.
 */
export function createSigningKeyService(deps: {
  repository: SigningKeyRepository
  config: SigningKeyConfig
  /** Seals the private keys at rest under the key-encryption key (and opens them, also under the previous one). */
  sealer: KeySealer
  clock?: Clock
  log?: Log
}) {
  const { repository, config, sealer } = deps
  const clock = deps.clock ?? (() => new Date())
  const settings = lifecycleSettings(config)
  const privateKeys = new Map<string, KeyObject>()
  let view: KeyView | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let served: { keys: KeyView; at: number; document: JwksDocument } | undefined
  // Reloads may overlap (the timer, a rotation, an unknown kid): the view of the latest one started wins.
  let reloadsStarted = 0
  let reloadApplied = 0
  let kidReload: Promise<void> | undefined
  let lastKidReloadAt = 0

  async function privateKeyOf(record: SigningKeyRecord): Promise<KeyObject> {
    const cached = privateKeys.get(record.kid)
    if (cached) return cached
    const key = await importPrivateKey(sealer.open(record.kid, record.encryptedPrivateKey).plaintext, record.alg)
    privateKeys.set(record.kid, key)
    return key
  }

  /**
   * Key pairs for the keys `plan` creates, made before the lock is taken: an RSA key pair takes a
   * good part of a second (several on a busy machine), time every other instance would wait.
   */
  async function generateFor(plan: KeyPlan): Promise<GeneratedSigningKey[]> {
    return Promise.all(plan.create.map((planned) => generateSigningKey(planned.alg)))
  }

  async function apply(store: SigningKeyStore, plan: KeyPlan, now: Date, spare: GeneratedSigningKey[]) {
    for (const planned of plan.create) {
      const index = spare.findIndex((key) => key.alg === planned.alg)
      const generated = index >= 0 ? spare.splice(index, 1)[0]! : await generateSigningKey(planned.alg)
      await store.insert({
        kid: generated.kid,
        alg: generated.alg,
        status: planned.status,
        publicJwk: generated.publicJwk,
        encryptedPrivateKey: sealer.seal(generated.kid, generated.privateKeyPkcs8),
        createdAt: now,
        activatesAt: planned.activatesAt,
      })
    }
    for (const { kid, activatesAt } of plan.activate) await store.activate(kid, activatesAt)
    for (const { kid, retiredAt, removeAfter } of plan.retire) await store.retire(kid, retiredAt, removeAfter)
    await store.remove(plan.remove)
  }

  async function reload(): Promise<void> {
    const ticket = ++reloadsStarted
    const now = clock()
    const records = await repository.list()
    const defaultAlg = defaultAlgorithm(records, settings)
    if (!defaultAlg) throw new Error('no active signing key in the database')
    const previous = view
    const signers = new Map<SigningAlgorithm, Signer>()
    const order = [defaultAlg, ...settings.algorithms, ...records.map((record) => record.alg)]
    for (const alg of order) {
      const active = signers.has(alg) ? undefined : activeKeyOf(records, alg)
      if (!active) continue
      const kept = previous?.signers.get(alg)
      signers.set(alg, kept?.kid === active.kid ? kept : createJwsSigner(await privateKeyOf(active), alg, active.kid))
      if (kept && kept.kid !== active.kid) deps.log?.info({ alg, kid: active.kid, previousKid: kept.kid }, 'signing key rotated')
    }
    const jwks = {
      keys: publishedKeys(records, now).map(
        (record): PublicSigningJwk => ({ ...publicMembers(record.publicJwk), kid: record.kid, alg: record.alg, use: 'sig' }),
      ),
    }
    const body = JSON.stringify(jwks)
    if (ticket < reloadApplied) return
    reloadApplied = ticket
    view = {
      records,
      kids: new Set(jwks.keys.map((key) => key.kid)),
      signers,
      defaultSigner: signers.get(defaultAlg)!,
      jwks,
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`,
      keySet: previous?.body === body ? previous.keySet : createLocalJWKSet(jwks),
    }
    const known = new Set(records.map((record) => record.kid))
    for (const kid of privateKeys.keys()) if (!known.has(kid)) privateKeys.delete(kid)
  }

  function current(): KeyView {
    if (!view) throw new Error('signing keys are not loaded yet')
    return view
  }

  /**
   * Brings the key set to its planned state (creating the first keys on an empty table), then
   * reloads. `rotateNow` promotes the next keys every instance has loaded (see `rotate`); it and
   * `wait` queue behind another instance holding the lock instead of skipping.
   */
  async function maintain(options: { rotateNow?: boolean; wait?: boolean } = {}) {
    const rotateNow = options.rotateNow ?? false
    // What the plan will most likely create, generated outside the lock (re-planned under it).
    const spare = await generateFor(planKeyMaintenance(await repository.list(), clock(), settings, { rotateNow }))
    const result = await repository.withMaintenanceLock(
      async (store) => {
        const now = clock()
        const records = await store.list()
        const plan = planKeyMaintenance(records, now, settings, { rotateNow })
        if (isEmptyPlan(plan)) return plan
        // Never add keys sealed under a KEK the rest of the fleet cannot open.
        const existing = records.find((record) => record.status === 'active') ?? records[0]
        if (existing) await privateKeyOf(existing)
        await apply(store, plan, now, spare)
        return plan
      },
      { wait: Boolean(options.wait || options.rotateNow) },
    )
    await reload()
    if (result.locked && !isEmptyPlan(result.value)) {
      deps.log?.info(
        {
          created: result.value.create.length,
          activated: result.value.activate.map((change) => change.kid),
          retired: result.value.retire.map((change) => change.kid),
          removed: result.value.remove,
        },
        'signing keys changed',
      )
    }
    return result
  }

  async function tick() {
    try {
      await maintain()
    } catch (error) {
      deps.log?.warn({ err: error }, 'signing key maintenance failed; keeping the current keys')
    }
  }

  function signer(alg?: SigningAlgorithm): Signer {
    const keys = current()
    if (alg === undefined) return keys.defaultSigner
    const found = keys.signers.get(alg)
    if (!found) throw new NoSigningKeyError(alg)
    return found
  }

  /**
   * One reload shared by every token naming an unknown kid, at most one per
   * UNKNOWN_KID_RELOAD_INTERVAL_MS (later ones wait for the next slot, so a burst of forged kids
   * costs one query a second): a key another instance promoted before this one's timed reload.
   */
  function reloadForUnknownKid(): Promise<void> {
    kidReload ??= (async () => {
      try {
        const wait = lastKidReloadAt + UNKNOWN_KID_RELOAD_INTERVAL_MS - Date.now()
        if (wait > 0) await sleep(wait)
        lastKidReloadAt = Date.now()
        await reload()
      } finally {
        kidReload = undefined
      }
    })()
    return kidReload
  }

  async function verificationKey(protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput) {
    try {
      return await current().keySet(protectedHeader, token)
    } catch (error) {
      const kid = protectedHeader.kid
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || typeof kid !== 'string' || current().kids.has(kid)) throw error
      try {
        await reloadForUnknownKid()
      } catch (reloadError) {
        deps.log?.warn({ err: reloadError }, 'reloading the signing keys for an unknown kid failed')
        throw error
      }
      if (current().kids.has(kid)) deps.log?.info({ kid }, 'signing key loaded on demand: a token named it before the timed reload')
      return current().keySet(protectedHeader, token)
    }
  }

  const provider: KeyProvider = {
    signer,
    algorithms: () => [...current().signers.keys()],
    sign: (payload, header) => signer().sign(payload, header),
    async jwks() {
      return structuredClone(current().jwks)
    },
    verificationKey,
  }

  /**
   * `tollgate keys rotate`: promotes the next key of every configured algorithm, retiring its
   * active key, as soon as every instance has loaded it (`propagatedAt`). Waits for that rather
   * than promote early (telling `onWait` how long); an algorithm without a next key gets one first.
   */
  async function rotate(options: { onWait?: (seconds: number) => void } = {}) {
    await maintain({ wait: true })
    const nexts = (await repository.list()).filter((record) => record.status === 'next' && settings.algorithms.includes(record.alg))
    const ready = Math.max(...nexts.map((record) => propagatedAt(record, settings).getTime()))
    const waitMs = ready - clock().getTime()
    if (waitMs > 0) {
      options.onWait?.(Math.ceil(waitMs / 1000))
      await sleep(waitMs)
    }
    return maintain({ rotateNow: true })
  }

  /**
   * Seals again, under the current key-encryption key, every private key that only the previous
   * one opens (after KEY_ENCRYPTION_KEY changed), under the maintenance lock. Afterwards
   * KEY_ENCRYPTION_KEY_PREVIOUS is no longer needed for the signing keys.
   */
  async function rewrap(): Promise<{ rewrapped: string[]; total: number }> {
    const result = await repository.withMaintenanceLock(
      async (store) => {
        const records = await store.list()
        const rewrapped: string[] = []
        for (const record of records) {
          const opened = sealer.open(record.kid, record.encryptedPrivateKey)
          if (!opened.sealedUnderPrevious) continue
          await store.reseal(record.kid, sealer.seal(record.kid, opened.plaintext))
          rewrapped.push(record.kid)
        }
        return { rewrapped, total: records.length }
      },
      { wait: true },
    )
    if (!result.locked) throw new Error('the signing-key lock was not granted')
    return result.value
  }

  return {
    provider,
    maintain,
    rotate,
    reload,
    rewrap,
    /** First maintenance (waiting for the lock) and the refresh timer; the timer never holds the process open. */
    async start() {
      await maintain({ wait: true })
      timer ??= setInterval(() => {
        running ??= tick().finally(() => (running = undefined))
      }, config.KEY_REFRESH_INTERVAL_SECONDS * 1000)
      timer.unref()
    },
    /** Stops the timer and waits for a maintenance run in flight. */
    async stop() {
      clearInterval(timer)
      timer = undefined
      await running
    },
    jwksDocument(): JwksDocument {
      const keys = current()
      const at = clock().getTime()
      // Requests within one millisecond share the document (it is read on every JWKS request).
      if (served?.keys !== keys || served.at !== at) {
        const { jwks, body, etag, records } = keys
        served = { keys, at, document: { jwks, body, etag, maxAgeSeconds: jwksMaxAgeSeconds(records, new Date(at), settings) } }
      }
      return served.document
    },
    /** The kid `alg`'s active key (the default algorithm's without `alg`) signs with. */
    activeKid(alg?: SigningAlgorithm): string {
      return signer(alg).kid
    },
    async list(): Promise<SigningKeySummary[]> {
      return summarizeKeys(await repository.list(), clock())
    },
  }
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>
