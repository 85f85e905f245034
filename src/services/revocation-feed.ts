import { createHash } from 'node:crypto'
import type { Config } from '../config.js'
import type { KeyProvider } from '../domain/keys/key-provider.js'
import { REVOCATIONS_TYPE } from '@tollgate/verifier'
import type { Clock } from './access-tokens.js'
import type { RevocationService } from './revocations.js'

/** The feed as served: the signed JWT, its ETag, and how long caches may keep it. */
export interface RevocationFeedDocument {
  jwt: string
  etag: string
  maxAgeSeconds: number
}

/**
 * Signs the revocation lists as a `revocations+jwt`. An unchanged list keeps its signed document
 * (and so its ETag, and verifiers' 304s) for half the document's lifetime; a change of the lists
 * or of the active key is signed at once.
 */
export function createRevocationFeed(deps: {
  revocations: RevocationService
  keys: KeyProvider
  /** The kid the provider signs with now: a rotation re-signs the feed with the new key. */
  activeKid: () => string
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_TTL_SECONDS' | 'REVOCATIONS_MAX_AGE_SECONDS'>
  clock?: Clock
}) {
  const clock = deps.clock ?? (() => new Date())
  // The document outlives its polling interval many times over, so a verifier that misses some
  // polls still holds a valid list; an access-token lifetime bounds what a stale copy can hide.
  const lifetimeSeconds = Math.max(60, deps.config.ACCESS_TOKEN_TTL_SECONDS)
  let cached: { content: string; issuedAt: number; jwt: string; etag: string } | undefined

  return {
    async document(): Promise<RevocationFeedDocument> {
      const lists = await deps.revocations.feed()
      const now = Math.floor(clock().getTime() / 1000)
      const content = `${deps.activeKid()} ${JSON.stringify(lists)}`
      if (!cached || cached.content !== content || now - cached.issuedAt >= lifetimeSeconds / 2) {
        const jwt = await deps.keys.sign(
          { iss: deps.config.ISSUER, iat: now, exp: now + lifetimeSeconds, sids: lists.sids, jtis: lists.jtis },
          { typ: REVOCATIONS_TYPE },
        )
        cached = { content, issuedAt: now, jwt, etag: `"${createHash('sha256').update(jwt).digest('base64url').slice(0, 32)}"` }
      }
      return { jwt: cached.jwt, etag: cached.etag, maxAgeSeconds: deps.config.REVOCATIONS_MAX_AGE_SECONDS }
    },
  }
}

export type RevocationFeed = ReturnType<typeof createRevocationFeed>
