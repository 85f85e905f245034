import type { SigningAlgorithm } from './key-provider.js'

export const KEY_STATUSES = ['next', 'active', 'retired'] as const
export type KeyStatus = (typeof KEY_STATUSES)[number]

/** The schedule of one signing key: what the lifecycle planner needs, without key material. */
export interface KeySchedule {
  kid: string
  alg: SigningAlgorithm
  status: KeyStatus
  createdAt: Date
  /** For `next`: when it may start signing. For `active`: when it did. */
  activatesAt: Date
  retiredAt: Date | null
  removeAfter: Date | null
}

export interface LifecycleSettings {
  /** SIGNING_ALGORITHMS: each has its own next → active → retired keys; the first is the default. */
  algorithms: readonly SigningAlgorithm[]
  rotationIntervalSeconds: number
  jwksMaxAgeSeconds: number
  /** How often every instance reloads the key set: the staleness of any instance's view. */
  refreshIntervalSeconds: number
  accessTokenTtlSeconds: number
}

/** Slack added to every lifecycle window for clock skew between instances and verifiers. */
export const LIFECYCLE_MARGIN_SECONDS = 60

export function lifecycleSettings(config: {
  SIGNING_ALGORITHMS: readonly SigningAlgorithm[]
  KEY_ROTATION_INTERVAL_SECONDS: number
  JWKS_MAX_AGE_SECONDS: number
  KEY_REFRESH_INTERVAL_SECONDS: number
  ACCESS_TOKEN_TTL_SECONDS: number
}): LifecycleSettings {
  return {
    algorithms: config.SIGNING_ALGORITHMS,
    rotationIntervalSeconds: config.KEY_ROTATION_INTERVAL_SECONDS,
    jwksMaxAgeSeconds: config.JWKS_MAX_AGE_SECONDS,
    refreshIntervalSeconds: config.KEY_REFRESH_INTERVAL_SECONDS,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  }
}

/**
 * How long a key is published before it signs: a verifier's cached JWKS (max-age) is then
 * guaranteed to hold it, even if served by an instance that reloads keys only every refresh.
 */
export function publishLeadSeconds(settings: LifecycleSettings): number {
  return settings.jwksMaxAgeSeconds + settings.refreshIntervalSeconds + LIFECYCLE_MARGIN_SECONDS
}

/**
 * How long a retired key stays published: other instances may sign with it until their next
 * reload, and each token it signed lives one access-token lifetime.
 */
export function retentionSeconds(settings: LifecycleSettings): number {
  return settings.accessTokenTtlSeconds + settings.refreshIntervalSeconds + LIFECYCLE_MARGIN_SECONDS
}

export interface KeyPlan {
  create: Array<{ alg: SigningAlgorithm; status: 'active' | 'next'; activatesAt: Date }>
  activate: Array<{ kid: string; activatesAt: Date }>
  retire: Array<{ kid: string; retiredAt: Date; removeAfter: Date }>
  remove: string[]
}

export function isEmptyPlan(plan: KeyPlan): boolean {
  return !plan.create.length && !plan.activate.length && !plan.retire.length && !plan.remove.length
}

const addSeconds = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000)
const later = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b)
const newestFirst = (a: KeySchedule, b: KeySchedule) => b.activatesAt.getTime() - a.activatesAt.getTime()
const oldestFirst = (a: KeySchedule, b: KeySchedule) => a.createdAt.getTime() - b.createdAt.getTime()

/**
 * When `next` takes over from `active`: one rotation interval after the active key started, but
 * never before `next` has been published for the full lead time. Computed from the settings in
 * force, so a changed interval applies to the key already waiting.
 */
export function rotationDueAt(active: KeySchedule, next: KeySchedule, settings: LifecycleSettings): Date {
  return later(
    addSeconds(active.activatesAt, settings.rotationIntervalSeconds),
    addSeconds(next.createdAt, publishLeadSeconds(settings)),
  )
}

/** Slack for an instance's timed reload to finish once its timer has fired. */
export const PROPAGATION_MARGIN_SECONDS = 2

/**
 * When every instance holds a key created at `key.createdAt`: each reloads the key set every
 * refresh interval. An on-demand rotation never promotes a key before then, so no instance ever
 * meets a token signed with a key it has not loaded (tollgate's own routes also reload once on an
 * unknown kid, for an instance whose reload failed).
 */
export function propagatedAt(key: KeySchedule, settings: Pick<LifecycleSettings, 'refreshIntervalSeconds'>): Date {
  return addSeconds(key.createdAt, settings.refreshIntervalSeconds + PROPAGATION_MARGIN_SECONDS)
}

/**
 * When the first key of an algorithm added to a running key set may sign: once it has been
 * published for the full lead time, as any next key.
 */
export function firstActivationAt(next: KeySchedule, settings: LifecycleSettings): Date {
  return addSeconds(next.createdAt, publishLeadSeconds(settings))
}

/** The keys a verifier may meet: next, active, and retired keys until their removal time. */
export function publishedKeys<K extends KeySchedule>(keys: readonly K[], now: Date): K[] {
  return keys.filter((key) => key.status !== 'retired' || (key.removeAfter !== null && key.removeAfter > now))
}

/** The active key of `alg` (the newest, should there briefly be two). */
export function activeKeyOf<K extends KeySchedule>(keys: readonly K[], alg: SigningAlgorithm): K | undefined {
  return keys.filter((key) => key.alg === alg && key.status === 'active').sort(newestFirst)[0]
}

/**
 * The algorithm access tokens are signed with by default: the first configured one with an active
 * key. While an algorithm newly put first is still being published, the previous one keeps
 * signing, even if it is no longer configured (it retires once its successor signs).
 */
export function defaultAlgorithm(keys: readonly KeySchedule[], settings: Pick<LifecycleSettings, 'algorithms'>): SigningAlgorithm | undefined {
  const configured = settings.algorithms.find((alg) => activeKeyOf(keys, alg))
  return configured ?? keys.filter((key) => key.status === 'active').sort(newestFirst)[0]?.alg
}

/**
 * The transitions that bring a key set to its steady state at `now`: for each configured
 * algorithm exactly one active key and exactly one next key; keys of algorithms no longer
 * configured retired once the default algorithm signs; retired keys removed once every token
 * they signed has expired. On an empty table every algorithm gets an active key at once (nobody
 * can have cached anything); an algorithm added later starts with a next key, published for the
 * full lead time before it signs. `rotateNow` (an operator's `tollgate keys rotate`) promotes each
 * next key as soon as every instance has loaded it (`propagatedAt`), and publishes a next key where
 * there is none, to be promoted by a later `rotateNow` once it has propagated in turn.
 */
export function planKeyMaintenance(
  keys: readonly KeySchedule[],
  now: Date,
  settings: LifecycleSettings,
  options: { rotateNow?: boolean } = {},
): KeyPlan {
  const plan: KeyPlan = { create: [], activate: [], retire: [], remove: [] }
  const retire = (kid: string) =>
    plan.retire.push({ kid, retiredAt: now, removeAfter: addSeconds(now, retentionSeconds(settings)) })
  // Nothing signs at all (an empty table, or every active key lost): keys start signing at once.
  const bootstrap = !keys.some((key) => key.status === 'active')
  const signsAfterPlan = new Set<SigningAlgorithm>()

  for (const alg of settings.algorithms) {
    const own = keys.filter((key) => key.alg === alg)
    const [current, ...extraActives] = own.filter((key) => key.status === 'active').sort(newestFirst)
    const [next, ...extraNexts] = own.filter((key) => key.status === 'next').sort(oldestFirst)
    for (const key of extraActives) retire(key.kid)
    // The oldest next key has been published longest; a surplus one never signed anything.
    plan.remove.push(...extraNexts.map((key) => key.kid))

    let activeSince: Date | undefined
    let nextRemains = next !== undefined
    const promotable = next !== undefined && options.rotateNow === true && propagatedAt(next, settings) <= now
    if (!current) {
      if (next && (bootstrap || promotable || firstActivationAt(next, settings) <= now)) {
        plan.activate.push({ kid: next.kid, activatesAt: now })
        nextRemains = false
        activeSince = now
      } else if (!next && bootstrap) {
        plan.create.push({ alg, status: 'active', activatesAt: now })
        activeSince = now
      }
    } else if (next && (promotable || rotationDueAt(current, next, settings) <= now)) {
      plan.activate.push({ kid: next.kid, activatesAt: now })
      retire(current.kid)
      nextRemains = false
      activeSince = now
    } else {
      activeSince = current.activatesAt
    }
    if (activeSince) signsAfterPlan.add(alg)

    if (!nextRemains) {
      plan.create.push({
        alg,
        status: 'next',
        activatesAt: later(
          activeSince ? addSeconds(activeSince, settings.rotationIntervalSeconds) : now,
          addSeconds(now, publishLeadSeconds(settings)),
        ),
      })
    }
  }

  // Algorithms no longer configured: their next keys go at once; their active keys sign until the
  // default algorithm does, then retire like any other.
  const defaultSigns = settings.algorithms[0] !== undefined && signsAfterPlan.has(settings.algorithms[0])
  for (const key of keys) {
    if (settings.algorithms.includes(key.alg)) continue
    if (key.status === 'next') plan.remove.push(key.kid)
    else if (key.status === 'active' && defaultSigns) retire(key.kid)
  }

  for (const key of keys) {
    if (key.status !== 'retired') continue
    const removeAfter = key.removeAfter ?? addSeconds(key.retiredAt ?? key.createdAt, retentionSeconds(settings))
    if (removeAfter <= now) plan.remove.push(key.kid)
  }
  return plan
}

/**
 * Cache lifetime of the JWKS: the configured maximum, shortened so that no cache outlives the
 * next scheduled change of the set (a rotation, a first activation or a removal).
 */
export function jwksMaxAgeSeconds(keys: readonly KeySchedule[], now: Date, settings: LifecycleSettings): number {
  const changes: Date[] = []
  for (const alg of settings.algorithms) {
    const active = activeKeyOf(keys, alg)
    const next = keys.find((key) => key.alg === alg && key.status === 'next')
    if (next) changes.push(active ? rotationDueAt(active, next, settings) : firstActivationAt(next, settings))
  }
  for (const key of publishedKeys(keys, now)) if (key.status === 'retired' && key.removeAfter) changes.push(key.removeAfter)
  const until = Math.min(...changes.map((at) => Math.floor((at.getTime() - now.getTime()) / 1000)))
  return Math.max(0, Math.min(settings.jwksMaxAgeSeconds, until))
}
