export const KEY_STATUSES = ['next', 'active', 'retired'] as const
export type KeyStatus = (typeof KEY_STATUSES)[number]

/** The schedule of one signing key: what the lifecycle planner needs, without key material. */
export interface KeySchedule {
  kid: string
  status: KeyStatus
  createdAt: Date
  /** For `next`: when it may start signing. For `active`: when it did. */
  activatesAt: Date
  retiredAt: Date | null
  removeAfter: Date | null
}

export interface LifecycleSettings {
  rotationIntervalSeconds: number
  jwksMaxAgeSeconds: number
  /** How often every instance reloads the key set: the staleness of any instance's view. */
  refreshIntervalSeconds: number
  accessTokenTtlSeconds: number
}

/** Slack added to every lifecycle window for clock skew between instances and verifiers. */
export const LIFECYCLE_MARGIN_SECONDS = 60

export function lifecycleSettings(config: {
  KEY_ROTATION_INTERVAL_SECONDS: number
  JWKS_MAX_AGE_SECONDS: number
  KEY_REFRESH_INTERVAL_SECONDS: number
  ACCESS_TOKEN_TTL_SECONDS: number
}): LifecycleSettings {
  return {
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
  create: Array<{ status: 'active' | 'next'; activatesAt: Date }>
  activate: Array<{ kid: string; activatesAt: Date }>
  retire: Array<{ kid: string; retiredAt: Date; removeAfter: Date }>
  remove: string[]
}

export function isEmptyPlan(plan: KeyPlan): boolean {
  return !plan.create.length && !plan.activate.length && !plan.retire.length && !plan.remove.length
}

const addSeconds = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000)
const later = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b)

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

/** The keys a verifier may meet: next, active, and retired keys until their removal time. */
export function publishedKeys<K extends KeySchedule>(keys: readonly K[], now: Date): K[] {
  return keys.filter((key) => key.status !== 'retired' || (key.removeAfter !== null && key.removeAfter > now))
}

/**
 * The transitions that bring a key set to its steady state at `now`: exactly one active key,
 * exactly one next key, retired keys removed once every token they signed has expired.
 * `rotateNow` promotes the next key at once (an operator's `tollgate keys rotate`).
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

  const actives = keys
    .filter((key) => key.status === 'active')
    .sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime())
  const nexts = keys
    .filter((key) => key.status === 'next')
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
  const [current, ...extraActives] = actives
  const [next, ...extraNexts] = nexts
  for (const key of extraActives) retire(key.kid)
  // The oldest next key has been published longest; a surplus one never signed anything.
  plan.remove.push(...extraNexts.map((key) => key.kid))

  let activeSince: Date
  let nextRemains = next !== undefined
  if (!current) {
    if (next) {
      plan.activate.push({ kid: next.kid, activatesAt: now })
      nextRemains = false
    } else {
      plan.create.push({ status: 'active', activatesAt: now })
    }
    activeSince = now
  } else if (next && (options.rotateNow || rotationDueAt(current, next, settings) <= now)) {
    plan.activate.push({ kid: next.kid, activatesAt: now })
    retire(current.kid)
    nextRemains = false
    activeSince = now
  } else if (!next && options.rotateNow) {
    // Nothing was published ahead: verifiers meet an unknown kid and refetch the JWKS.
    plan.create.push({ status: 'active', activatesAt: now })
    retire(current.kid)
    activeSince = now
  } else {
    activeSince = current.activatesAt
  }

  if (!nextRemains) {
    plan.create.push({
      status: 'next',
      activatesAt: later(
        addSeconds(activeSince, settings.rotationIntervalSeconds),
        addSeconds(now, publishLeadSeconds(settings)),
      ),
    })
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
 * next scheduled change of the set (a rotation or a removal).
 */
export function jwksMaxAgeSeconds(keys: readonly KeySchedule[], now: Date, settings: LifecycleSettings): number {
  const changes: Date[] = []
  const active = keys.find((key) => key.status === 'active')
  const next = keys.find((key) => key.status === 'next')
  if (active && next) changes.push(rotationDueAt(active, next, settings))
  for (const key of publishedKeys(keys, now)) if (key.status === 'retired' && key.removeAfter) changes.push(key.removeAfter)
  const until = Math.min(...changes.map((at) => Math.floor((at.getTime() - now.getTime()) / 1000)))
  return Math.max(0, Math.min(settings.jwksMaxAgeSeconds, until))
}
