import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { TokenVerificationError } from './errors.js'

/** The `typ` header of the revocations feed JWT. */
export const REVOCATIONS_TYPE = 'revocations+jwt'

/**
 * Where a verifier learns about revoked tokens. `isRevoked` may answer synchronously (an
 * in-memory list) or asynchronously (a database lookup).
 */
export interface RevocationSource {
  /** True when the token's session (`sid`) or the token itself (`jti`) has been revoked. */
  isRevoked(claims: { jti?: string | undefined; sid?: string | undefined }): boolean | Promise<boolean>
  /** Stops background work, if any. */
  close?(): void
}

/** Options of {@link createRemoteRevocations}. */
export interface RemoteRevocationsOptions {
  /** The feed, e.g. `https://auth.example.com/v1/revocations`. */
  url: string | URL
  /** The key set that verifies the feed: the same one that verifies access tokens. */
  keySet: JWTVerifyGetKey
  /** The issuer that signs the feed. */
  issuer: string
  algorithms: string[]
  /** Seconds between polls: default 5, bounded to 1..300. */
  intervalSeconds?: number
  clockTolerance?: number
  /** Seconds before a poll is abandoned: default 5. */
  timeoutSeconds?: number
  /** Told about every failed poll; the last good list keeps being used. */
  onError?: (error: unknown) => void
  fetch?: typeof fetch
  currentDate?: () => Date
}

/** A snapshot of what the feed last said. */
export interface RevocationList {
  sids: ReadonlySet<string>
  jtis: ReadonlySet<string>
  /** `iat` of the feed the list came from, in seconds. */
  issuedAt: number
}

const stringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string')

/**
 * Polls tollgate's signed revocations feed (with If-None-Match), verifies each new document's
 * signature, `typ`, `iss` and `exp`, and answers from the last good list. Until a first list
 * has loaded, `isRevoked` waits for it and fails closed with `revocations_unavailable`.
 */
export function createRemoteRevocations(options: RemoteRevocationsOptions): RevocationSource & {
  /** Polls now (also what the timer does). Rejects when the poll fails; the last good list stays. */
  refresh(): Promise<void>
  /** The list in use, or undefined before the first successful poll. */
  current(): RevocationList | undefined
  close(): void
} {
  const doFetch = options.fetch ?? fetch
  const intervalMs = Math.min(300, Math.max(1, options.intervalSeconds ?? 5)) * 1000
  const timeoutMs = (options.timeoutSeconds ?? 5) * 1000
  const url = new URL(options.url)
  let list: RevocationList | undefined
  let etag: string | undefined
  let inFlight: Promise<void> | undefined
  let closed = false
  const controller = new AbortController()

  async function poll(): Promise<void> {
    const headers: Record<string, string> = { accept: 'application/jwt' }
    if (etag && list) headers['if-none-match'] = etag
    const response = await doFetch(url, {
      headers,
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]),
    })
    if (response.status === 304 && list) return
    if (!response.ok) throw new Error(`revocations feed answered ${response.status}`)
    const jwt = (await response.text()).trim()
    const { payload } = await jwtVerify(jwt, options.keySet, {
      issuer: options.issuer,
      typ: REVOCATIONS_TYPE,
      algorithms: options.algorithms,
      requiredClaims: ['iat', 'exp'],
      ...(options.clockTolerance === undefined ? {} : { clockTolerance: options.clockTolerance }),
      ...(options.currentDate ? { currentDate: options.currentDate() } : {}),
    })
    if (!stringArray(payload.sids) || !stringArray(payload.jtis)) throw new Error('revocations feed has no sids/jtis lists')
    const issuedAt = payload.iat as number
    // An older document (a stale cache, a replay) never replaces a newer one.
    if (list && issuedAt < list.issuedAt) return
    list = { sids: new Set(payload.sids), jtis: new Set(payload.jtis), issuedAt }
    etag = response.headers.get('etag') ?? undefined
  }

  function refresh(): Promise<void> {
    inFlight ??= poll().finally(() => (inFlight = undefined))
    return inFlight
  }

  const report = (error: unknown) => {
    if (!closed) options.onError?.(error)
  }
  const timer = setInterval(() => refresh().catch(report), intervalMs)
  timer.unref()
  refresh().catch(report)

  const listed = (current: RevocationList, claims: { jti?: string | undefined; sid?: string | undefined }) =>
    (claims.sid !== undefined && current.sids.has(claims.sid)) || (claims.jti !== undefined && current.jtis.has(claims.jti))

  return {
    isRevoked(claims) {
      if (list) return listed(list, claims)
      if (closed) throw new TokenVerificationError('revocations_unavailable', 'The revocation list is closed')
      return refresh().then(
        () => listed(list!, claims),
        (error: unknown) => {
          throw new TokenVerificationError('revocations_unavailable', 'The revocation list could not be loaded', { cause: error })
        },
      )
    },
    refresh,
    current: () => list,
    close() {
      closed = true
      clearInterval(timer)
      controller.abort()
    },
  }
}
