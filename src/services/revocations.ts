import type { Config } from '../config.js'
import { isUuid } from '../domain/ids.js'
import type { RevocationRepository } from '../repositories/revocations.js'
import type { Clock } from './access-tokens.js'

/**
 * How long after its revocation a session stays in the feed beyond one access-token lifetime:
 * covers a token minted by a refresh racing the revocation and verifiers' clock tolerance.
 */
export const FEED_SKEW_SECONDS = 60

/**
 * The revocations feed's time step: its document lives max(60, ACCESS_TOKEN_TTL_SECONDS) seconds
 * and its `iat` is aligned to half of that. The lists are cut at the start of the current step
 * too (feedCutoff), so they change only when a revocation is added or a step begins, never each
 * second an entry expires.
 */
export function feedStepSeconds(config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>): number {
  return Math.floor(Math.max(60, config.ACCESS_TOKEN_TTL_SECONDS) / 2)
}

/**
 * The start of the feed's step holding `now`: the lists keep what was still current then. An
 * entry stays listed up to one step (half a document lifetime) after it stopped being needed: a
 * revoked jti past its token's `exp`, or a sid past its tokens' lifetime, whose tokens every
 * verifier refuses as expired anyway. Every instance cuts at the same instant (clocks agreeing),
 * so they serve the same lists, and so the same ETag.
 */
export function feedCutoff(now: Date, config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>): Date {
  const stepMs = feedStepSeconds(config) * 1000
  return new Date(now.getTime() - (((now.getTime() % stepMs) + stepMs) % stepMs))
}

/** What the rest of tollgate (and /oauth/revoke, /oauth/introspect) knows about revocation. */
export interface RevocationService {
  /** Revokes one access token until `expiresAt` (its `exp`). Idempotent; an already expired token is a no-op. */
  revokeAccessToken(input: { jti: string; sessionId?: string | undefined; expiresAt: Date }): Promise<void>
  /** True while a revoked access token is unexpired. */
  isAccessTokenRevoked(jti: string): Promise<boolean>
  /** True when the session (the `sid` claim) has been revoked; unknown ids are not revoked. */
  isSessionRevoked(sid: string): Promise<boolean>
  /**
   * Everything a stateless verifier must reject now: recently revoked sessions and unexpired
   * revoked jtis, as of the start of the feed's current step (feedCutoff): unchanged within a step
   * but for new revocations.
   */
  feed(): Promise<{ sids: string[]; jtis: string[] }>
  /** Told once sessions were revoked (by an operator): this instance's routes refuse their tokens from the next request. */
  sessionsRevoked(): Promise<void>
}

export function createRevocationService(deps: {
  repository: RevocationRepository
  config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>
  clock?: Clock
  /** Told after every recorded revocation (the local snapshot reloads). */
  afterRevoke?: () => Promise<void>
}): RevocationService {
  const { repository, config } = deps
  const clock = deps.clock ?? (() => new Date())
  return {
    async revokeAccessToken({ jti, sessionId, expiresAt }) {
      const now = clock()
      if (expiresAt.getTime() <= now.getTime()) return
      await repository.insertRevokedAccessToken({
        jti,
        sessionId: sessionId && isUuid(sessionId) ? sessionId : null,
        expiresAt,
        revokedAt: now,
      })
      await deps.afterRevoke?.()
    },
    async isAccessTokenRevoked(jti) {
      return repository.isAccessTokenRevoked(jti, clock())
    },
    async isSessionRevoked(sid) {
      return isUuid(sid) ? repository.isSessionRevoked(sid) : false
    },
    async sessionsRevoked() {
      await deps.afterRevoke?.()
    },
    async feed() {
      const cutoff = feedCutoff(clock(), config)
      const since = new Date(cutoff.getTime() - (config.ACCESS_TOKEN_TTL_SECONDS + FEED_SKEW_SECONDS) * 1000)
      return repository.revokedSince(since, cutoff)
    },
  }
}

/**
 * tollgate's own protected routes read revocations from an in-process snapshot of the feed's
 * lists, refreshed every `refreshMs` (and at once after a local revocation), instead of one
 * database query per request. A snapshot older than `maxStaleMs` (the timer failing, say) is
 * reloaded before it is trusted; `refreshMs: 0` checks the database on every request.
 *
 * A reload that reads the same lists keeps the snapshot as it was (the same `lists()` object):
 * within a step of the feed they change only with a revocation, and the feed tells an unchanged
 * list by that identity, without serializing it again.
 */
export function createLocalRevocationSource(deps: {
  revocations: Pick<RevocationService, 'feed'>
  repository: RevocationRepository
  refreshMs: number
  /** The feed's step (feedStepSeconds): `lists()` reloads a snapshot loaded in an earlier step before serving it. */
  config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>
  clock?: Clock
  onError?: (error: unknown) => void
}) {
  const clock = deps.clock ?? (() => new Date())
  const maxStaleMs = Math.max(2 * deps.refreshMs, deps.refreshMs + 1000)
  let snapshot: { sids: Set<string>; jtis: Set<string>; lists: { sids: string[]; jtis: string[] }; loadedAt: number; cutoff: number } | undefined
  let loading: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  function refresh(): Promise<void> {
    loading ??= (async () => {
      const startedAt = clock()
      const lists = await deps.revocations.feed()
      const cutoff = feedCutoff(startedAt, deps.config).getTime()
      snapshot =
        snapshot && sameLists(snapshot.lists, lists)
          ? { ...snapshot, loadedAt: startedAt.getTime(), cutoff }
          : { sids: new Set(lists.sids), jtis: new Set(lists.jtis), lists, loadedAt: startedAt.getTime(), cutoff }
    })().finally(() => (loading = undefined))
    return loading
  }

  // A load already under way may have read the lists before the caller's revocation committed:
  // the caller waits for one that starts after it asked (several callers share that one).
  let next: Promise<void> | undefined
  function reloadAfterChange(): Promise<void> {
    if (!loading) return refresh()
    next ??= loading.catch(() => {}).then(() => {
      next = undefined
      return refresh()
    })
    return next
  }

  const listed = (current: NonNullable<typeof snapshot>, claims: { jti?: string | undefined; sid?: string | undefined }) =>
    (claims.sid !== undefined && current.sids.has(claims.sid)) || (claims.jti !== undefined && current.jtis.has(claims.jti))

  return {
    async isRevoked(claims: { jti?: string | undefined; sid?: string | undefined }): Promise<boolean> {
      if (deps.refreshMs <= 0) {
        const sid = claims.sid && isUuid(claims.sid) ? claims.sid : null
        return deps.repository.isRevoked(claims.jti ?? '', sid, clock())
      }
      if (!snapshot || clock().getTime() - snapshot.loadedAt > maxStaleMs) await refresh()
      return listed(snapshot!, claims)
    },
    /**
     * The lists this instance enforces, for the revocations feed: the same object until the next
     * reload, so the feed can tell an unchanged list without reading it. Null when every check goes
     * to the database (`refreshMs: 0`): the feed then reads the database too.
     */
    async lists(): Promise<{ sids: string[]; jtis: string[] } | null> {
      if (deps.refreshMs <= 0) return null
      const now = clock()
      if (!snapshot || now.getTime() - snapshot.loadedAt > maxStaleMs) await refresh()
      // A new step began since the load: the feed's `iat` moves now, and its lists with it (on
      // every instance alike), not up to a reload later. A load under way may have started before.
      else if (snapshot.cutoff !== feedCutoff(now, deps.config).getTime()) await reloadAfterChange()
      return snapshot!.lists
    },
    /** Loads the first snapshot and starts the refresh timer (which never holds the process open). */
    async start() {
      if (deps.refreshMs <= 0) return
      await refresh()
      timer ??= setInterval(() => refresh().catch((error: unknown) => deps.onError?.(error)), deps.refreshMs)
      timer.unref()
    },
    /** Reloads now: a revocation made by this instance applies to its next request. */
    refresh: () => (deps.refreshMs > 0 ? reloadAfterChange() : Promise.resolve()),
    close() {
      clearInterval(timer)
      timer = undefined
    },
  }
}

function sameLists(a: { sids: string[]; jtis: string[] }, b: { sids: string[]; jtis: string[] }): boolean {
  if (a.sids.length !== b.sids.length || a.jtis.length !== b.jtis.length) return false
  for (let i = 0; i < a.sids.length; i++) if (a.sids[i] !== b.sids[i]) return false
  for (let i = 0; i < a.jtis.length; i++) if (a.jtis[i] !== b.jtis[i]) return false
  return true
}

/**
 * Drops revoked-token rows the feed no longer lists: tokens that expired before the start of the
 * feed's current step (feedCutoff). Rows expired within the step stay until it ends, as the feed
 * lists them that long: deleting them mid-step would change its lists, and its ETag, mid-step.
 */
export function createRevocationPurge(deps: { repository: RevocationRepository; config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>; clock?: Clock }) {
  const clock = deps.clock ?? (() => new Date())
  return {
    purgeExpired: (): Promise<number> => deps.repository.deleteExpiredAccessTokens(feedCutoff(clock(), deps.config)),
  }
}
