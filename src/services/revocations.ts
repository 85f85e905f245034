import type { Config } from '../config.js'
import { isUuid } from '../domain/ids.js'
import type { RevocationRepository } from '../repositories/revocations.js'
import type { Clock } from './access-tokens.js'

/**
 * How long after its revocation a session stays in the feed beyond one access-token lifetime:
 * covers a token minted by a refresh racing the revocation and verifiers' clock tolerance.
 */
export const FEED_SKEW_SECONDS = 60


/** What the rest of tollgate (and /oauth/revoke, /oauth/introspect) knows about revocation. */
export interface RevocationService {
  /** Revokes one access token until `expiresAt` (its `exp`). Idempotent; an already expired token is a no-op. */
  revokeAccessToken(input: { jti: string; sessionId?: string | undefined; expiresAt: Date }): Promise<void>
  /** True while a revoked access token is unexpired. */
  isAccessTokenRevoked(jti: string): Promise<boolean>
  /** True when the session (the `sid` claim) has been revoked; unknown ids are not revoked. */
  isSessionRevoked(sid: string): Promise<boolean>
  /** Everything a stateless verifier must reject now: recently revoked sessions and unexpired revoked jtis. */
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
      const now = clock()
      const since = new Date(now.getTime() - (config.ACCESS_TOKEN_TTL_SECONDS + FEED_SKEW_SECONDS) * 1000)
      return repository.revokedSince(since, now)
    },
  }
}

/**
 * tollgate's own protected routes read revocations from an in-process snapshot of the feed's
 * lists, refreshed every `refreshMs` (and at once after a local revocation), instead of one
 * database query per request. A snapshot older than `maxStaleMs` (the timer failing, say) is
 * reloaded before it is trusted; `refreshMs: 0` checks the database on every request.
 */
export function createLocalRevocationSource(deps: {
  revocations: Pick<RevocationService, 'feed'>
  repository: RevocationRepository
  refreshMs: number
  clock?: Clock
  onError?: (error: unknown) => void
}) {
  const clock = deps.clock ?? (() => new Date())
  const maxStaleMs = Math.max(2 * deps.refreshMs, deps.refreshMs + 1000)
  let snapshot: { sids: Set<string>; jtis: Set<string>; lists: { sids: string[]; jtis: string[] }; loadedAt: number } | undefined
  let loading: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  function refresh(): Promise<void> {
    loading ??= (async () => {
      const startedAt = clock().getTime()
      const lists = await deps.revocations.feed()
      snapshot = { sids: new Set(lists.sids), jtis: new Set(lists.jtis), lists, loadedAt: startedAt }
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
      if (!snapshot || clock().getTime() - snapshot.loadedAt > maxStaleMs) await refresh()
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

/** Drops revoked-token rows whose tokens have expired anyway (the feed already leaves them out). */
export function createRevocationPurge(deps: { repository: RevocationRepository; clock?: Clock }) {
  const clock = deps.clock ?? (() => new Date())
  return {
    purgeExpired: (): Promise<number> => deps.repository.deleteExpiredAccessTokens(clock()),
  }
}
