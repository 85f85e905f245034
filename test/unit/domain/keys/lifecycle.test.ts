import { describe, expect, it } from 'vitest'
import {
  defaultAlgorithm,
  isEmptyPlan,
  jwksMaxAgeSeconds,
  planKeyMaintenance,
  propagatedAt,
  PROPAGATION_MARGIN_SECONDS,
  publishedKeys,
  publishLeadSeconds,
  retentionSeconds,
  type KeySchedule,
  type LifecycleSettings,
} from '../../../../src/domain/keys/lifecycle.js'

const settings: LifecycleSettings = {
  algorithms: ['ES256'],
  rotationIntervalSeconds: 30 * 86400,
  jwksMaxAgeSeconds: 600,
  refreshIntervalSeconds: 60,
  accessTokenTtlSeconds: 600,
}
const T0 = new Date('2030-01-01T00:00:00Z')
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000)
const key = (kid: string, status: KeySchedule['status'], fields: Partial<KeySchedule> = {}): KeySchedule => ({
  kid,
  alg: 'ES256',
  status,
  createdAt: T0,
  activatesAt: T0,
  retiredAt: null,
  removeAfter: null,
  ...fields,
})

describe('planKeyMaintenance', () => {
  it('creates an active key and a next key on an empty table', () => {
    const plan = planKeyMaintenance([], T0, settings)
    expect(plan.create).toEqual([
      { alg: 'ES256', status: 'active', activatesAt: T0 },
      { alg: 'ES256', status: 'next', activatesAt: at(settings.rotationIntervalSeconds) },
    ])
    expect(plan.activate).toEqual([])
    expect(plan.retire).toEqual([])
  })

  it('publishes the next key at least the JWKS cache lifetime plus a margin before it activates', () => {
    const short = { ...settings, rotationIntervalSeconds: 60 }
    const [, next] = planKeyMaintenance([], T0, short).create
    expect(next!.activatesAt.getTime() - T0.getTime()).toBeGreaterThanOrEqual((short.jwksMaxAgeSeconds + 1) * 1000)
    expect(next!.activatesAt).toEqual(at(publishLeadSeconds(short)))
  })

  it('does nothing in the steady state', () => {
    const keys = [key('a', 'active'), key('n', 'next', { activatesAt: at(settings.rotationIntervalSeconds) })]
    expect(isEmptyPlan(planKeyMaintenance(keys, at(1000), settings))).toBe(true)
  })

  it('promotes next and retires active when the rotation is due, then creates a fresh next', () => {
    const keys = [key('a', 'active'), key('n', 'next', { activatesAt: at(settings.rotationIntervalSeconds) })]
    const now = at(settings.rotationIntervalSeconds + 5)
    const plan = planKeyMaintenance(keys, now, settings)
    expect(plan.activate).toEqual([{ kid: 'n', activatesAt: now }])
    expect(plan.retire).toEqual([{ kid: 'a', retiredAt: now, removeAfter: at(settings.rotationIntervalSeconds + 5 + retentionSeconds(settings)) }])
    expect(plan.create).toEqual([{ alg: 'ES256', status: 'next', activatesAt: at(2 * settings.rotationIntervalSeconds + 5) }])
  })

  it('keeps a retired key published longer than an access token lives', () => {
    expect(retentionSeconds(settings)).toBeGreaterThan(settings.accessTokenTtlSeconds)
  })

  it('rotates on demand before the schedule, once every instance has loaded the next key', () => {
    const keys = [key('a', 'active'), key('n', 'next', { activatesAt: at(settings.rotationIntervalSeconds) })]
    const loaded = settings.refreshIntervalSeconds + PROPAGATION_MARGIN_SECONDS
    expect(propagatedAt(keys[1]!, settings)).toEqual(at(loaded))
    expect(isEmptyPlan(planKeyMaintenance(keys, at(loaded - 1), settings, { rotateNow: true }))).toBe(true)
    const plan = planKeyMaintenance(keys, at(loaded), settings, { rotateNow: true })
    expect(plan.activate.map((change) => change.kid)).toEqual(['n'])
    expect(plan.retire.map((change) => change.kid)).toEqual(['a'])
    expect(plan.create.map((change) => change.status)).toEqual(['next'])
  })

  it('never promotes a next key before it has been published for the lead time', () => {
    const short = { ...settings, rotationIntervalSeconds: 60 }
    const keys = [key('a', 'active'), key('n', 'next', { createdAt: at(0) })]
    expect(isEmptyPlan(planKeyMaintenance(keys, at(publishLeadSeconds(short) - 1), short))).toBe(true)
    expect(planKeyMaintenance(keys, at(publishLeadSeconds(short)), short).activate.map((c) => c.kid)).toEqual(['n'])
  })

  it('removes retired keys once every token they signed has expired', () => {
    const keys = [
      key('a', 'active'),
      key('n', 'next', { activatesAt: at(settings.rotationIntervalSeconds) }),
      key('old', 'retired', { retiredAt: T0, removeAfter: at(700) }),
    ]
    expect(planKeyMaintenance(keys, at(699), settings).remove).toEqual([])
    expect(planKeyMaintenance(keys, at(700), settings).remove).toEqual(['old'])
  })

  it.each([
    {
      name: 'two active keys: the newer stays, the older retires',
      keys: [key('old', 'active', { activatesAt: at(0) }), key('new', 'active', { activatesAt: at(10) }), key('n', 'next', { activatesAt: at(1e7) })],
      expected: { retire: ['old'], activate: [], remove: [], create: [] },
    },
    {
      name: 'two next keys: the older stays, the surplus one never signed and goes',
      keys: [key('a', 'active'), key('n1', 'next', { createdAt: at(0), activatesAt: at(1e7) }), key('n2', 'next', { createdAt: at(5), activatesAt: at(1e7) })],
      expected: { retire: [], activate: [], remove: ['n2'], create: [] },
    },
    {
      name: 'no active key: the next key is promoted at once',
      keys: [key('n', 'next', { activatesAt: at(1e7) })],
      expected: { retire: [], activate: ['n'], remove: [], create: ['next'] },
    },
    {
      name: 'on-demand rotation with no next key: a next key first, promoted by a later rotation once loaded everywhere',
      keys: [key('a', 'active')],
      rotateNow: true,
      expected: { retire: [], activate: [], remove: [], create: ['next'] },
    },
  ])('repairs odd states: $name', ({ keys, rotateNow, expected }) => {
    const plan = planKeyMaintenance(keys, at(100), settings, { rotateNow: rotateNow ?? false })
    expect({
      retire: plan.retire.map((c) => c.kid),
      activate: plan.activate.map((c) => c.kid),
      remove: plan.remove,
      create: plan.create.map((c) => c.status),
    }).toEqual(expected)
  })

  it('always ends with exactly one active and one next key', () => {
    const states: KeySchedule[][] = [
      [],
      [key('a', 'active')],
      [key('n', 'next')],
      [key('a', 'active'), key('b', 'active'), key('n', 'next'), key('m', 'next', { createdAt: at(1) })],
      [key('r', 'retired', { retiredAt: T0, removeAfter: at(1) })],
    ]
    for (const keys of states) {
      for (const rotateNow of [false, true]) {
        const plan = planKeyMaintenance(keys, at(1e8), settings, { rotateNow })
        const statuses = new Map(keys.map((k) => [k.kid, k.status as string]))
        for (const { kid } of plan.activate) statuses.set(kid, 'active')
        for (const { kid } of plan.retire) statuses.set(kid, 'retired')
        for (const kid of plan.remove) statuses.delete(kid)
        const all = [...statuses.values(), ...plan.create.map((c) => c.status)]
        expect(all.filter((s) => s === 'active')).toHaveLength(1)
        expect(all.filter((s) => s === 'next')).toHaveLength(1)
      }
    }
  })
})

describe('planKeyMaintenance with several algorithms', () => {
  const multi: LifecycleSettings = { ...settings, algorithms: ['ES256', 'RS256', 'EdDSA'] }
  const lead = publishLeadSeconds(multi)
  const statusesAfter = (keys: KeySchedule[], plan: ReturnType<typeof planKeyMaintenance>) => {
    const result = new Map(keys.map((k) => [k.kid, `${k.alg}:${k.status}`]))
    for (const { kid } of plan.activate) result.set(kid, `${keys.find((k) => k.kid === kid)!.alg}:active`)
    for (const { kid } of plan.retire) result.set(kid, `${keys.find((k) => k.kid === kid)!.alg}:retired`)
    for (const kid of plan.remove) result.delete(kid)
    return [...result.values(), ...plan.create.map((c) => `${c.alg}:${c.status}`)].sort()
  }

  it('gives every algorithm an active and a next key on an empty table', () => {
    const plan = planKeyMaintenance([], T0, multi)
    expect(plan.create.map((c) => `${c.alg}:${c.status}`)).toEqual([
      'ES256:active', 'ES256:next', 'RS256:active', 'RS256:next', 'EdDSA:active', 'EdDSA:next',
    ])
  })

  it('rotates each algorithm on its own schedule', () => {
    const keys = [
      key('e', 'active'),
      key('en', 'next', { createdAt: at(0) }),
      key('r', 'active', { alg: 'RS256', activatesAt: at(1000) }),
      key('rn', 'next', { alg: 'RS256', createdAt: at(1000) }),
    ]
    const two: LifecycleSettings = { ...multi, algorithms: ['ES256', 'RS256'] }
    const plan = planKeyMaintenance(keys, at(two.rotationIntervalSeconds + 1), two)
    expect(plan.activate.map((c) => c.kid)).toEqual(['en'])
    expect(plan.retire.map((c) => c.kid)).toEqual(['e'])
    expect(plan.create).toEqual([{ alg: 'ES256', status: 'next', activatesAt: at(2 * two.rotationIntervalSeconds + 1) }])
  })

  it('publishes an algorithm added to a running key set for the full lead time before it signs', () => {
    const keys = [key('e', 'active'), key('en', 'next', { activatesAt: at(1e7) })]
    const two: LifecycleSettings = { ...multi, algorithms: ['ES256', 'RS256'] }
    const plan = planKeyMaintenance(keys, at(10), two)
    expect(plan.create).toEqual([{ alg: 'RS256', status: 'next', activatesAt: at(10 + lead) }])
    expect(plan.activate).toEqual([])

    const waiting = [...keys, key('rn', 'next', { alg: 'RS256', createdAt: at(10), activatesAt: at(10 + lead) })]
    expect(isEmptyPlan(planKeyMaintenance(waiting, at(10 + lead - 1), two))).toBe(true)
    expect(jwksMaxAgeSeconds(waiting, at(10 + lead - 42), two)).toBe(42)
    const due = planKeyMaintenance(waiting, at(10 + lead), two)
    expect(due.activate.map((c) => c.kid)).toEqual(['rn'])
    expect(due.create.map((c) => `${c.alg}:${c.status}`)).toEqual(['RS256:next'])
  })

  it('moves the default to a newly configured algorithm only once its key has been published, then retires the old one', () => {
    // SIGNING_ALG=EdDSA before, SIGNING_ALGORITHMS=ES256 now.
    const keys = [key('d', 'active', { alg: 'EdDSA' }), key('dn', 'next', { alg: 'EdDSA', activatesAt: at(1e7) })]
    const es: LifecycleSettings = { ...multi, algorithms: ['ES256'] }
    const first = planKeyMaintenance(keys, at(10), es)
    expect(statusesAfter(keys, first)).toEqual(['ES256:next', 'EdDSA:active'])
    expect(defaultAlgorithm(keys, es)).toBe('EdDSA')

    const waiting = [key('d', 'active', { alg: 'EdDSA' }), key('en', 'next', { createdAt: at(10) })]
    expect(isEmptyPlan(planKeyMaintenance(waiting, at(10 + lead - 1), es))).toBe(true)
    const switched = planKeyMaintenance(waiting, at(10 + lead), es)
    expect(statusesAfter(waiting, switched)).toEqual(['ES256:active', 'ES256:next', 'EdDSA:retired'])
    expect(switched.retire[0]!.removeAfter).toEqual(at(10 + lead + retentionSeconds(es)))
  })

  it('takes the first configured algorithm with an active key as the default', () => {
    const keys = [key('r', 'active', { alg: 'RS256' }), key('en', 'next'), key('d', 'active', { alg: 'EdDSA' })]
    expect(defaultAlgorithm(keys, multi)).toBe('RS256')
    expect(defaultAlgorithm(keys, { algorithms: ['EdDSA', 'RS256'] })).toBe('EdDSA')
    expect(defaultAlgorithm([key('en', 'next')], multi)).toBeUndefined()
  })
})

describe('publishedKeys and jwksMaxAgeSeconds', () => {
  const keys = [
    key('a', 'active'),
    key('n', 'next', { activatesAt: at(settings.rotationIntervalSeconds) }),
    key('r', 'retired', { retiredAt: T0, removeAfter: at(300) }),
    key('gone', 'retired', { retiredAt: T0, removeAfter: at(-1) }),
  ]

  it('publishes next, active and retired keys until their removal time', () => {
    expect(publishedKeys(keys, at(0)).map((k) => k.kid)).toEqual(['a', 'n', 'r'])
    expect(publishedKeys(keys, at(300)).map((k) => k.kid)).toEqual(['a', 'n'])
  })

  it('is the configured maximum unless a change of the set comes sooner', () => {
    expect(jwksMaxAgeSeconds(keys, at(0), settings)).toBe(300)
    expect(jwksMaxAgeSeconds(keys, at(400), settings)).toBe(600)
    expect(jwksMaxAgeSeconds(keys, at(settings.rotationIntervalSeconds - 42), settings)).toBe(42)
    expect(jwksMaxAgeSeconds(keys, at(settings.rotationIntervalSeconds + 5), settings)).toBe(0)
  })
})
