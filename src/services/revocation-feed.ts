import { createHash } from 'node:crypto'
import type { Config } from '../config.js'
import type { KeyProvider } from '../domain/keys/key-provider.js'
import { REVOCATIONS_TYPE } from '@tollgate/verifier'
import type { Clock } from './access-tokens.js'
import { feedStepSeconds, type RevocationService } from './revocations.js'

/** The feed as served: the signed JWT (also as the bytes of the response body), its ETag, and how long caches may keep it. */
export interface RevocationFeedDocument {
  jwt: string
  /** `jwt` encoded once per document: at scale it is hundreds of kilobytes, which each poll would otherwise encode again. */
  body: Buffer
  etag: string
  maxAgeSeconds: number
}

/**
 * Signs the revocation lists as a `revocations+jwt` with the default algorithm's active key (one
 * tollgate's verifier accepts). `iat` is aligned to half the document's lifetime, so every
 * instance holding the same lists and the same key signs the same claims, and the ETag is the
 * hash of the signing input (header and claims, not the signature, which ES256 randomizes): the
 * same on every instance, so a verifier polling through a balancer gets its 304 from any of them.
 * The tag changes with the lists, the key, and every half lifetime (a verifier never keeps an
 * expired copy under a tag that still matches). The lists themselves are cut at the start of that
 * step (RevocationService.feed): within a step they change only when a revocation is added, so at
 * scale a verifier's conditional poll gets its 304 rather than a new copy every second.
 */
export function createRevocationFeed(deps: {
  revocations: RevocationService
  /**
   * The instance's own snapshot of the lists (createLocalRevocationSource), reloaded after every
   * revocation this instance records and, through LISTEN/NOTIFY, within milliseconds of another
   * instance's: the feed says what this instance enforces, without a database read and, while the
   * snapshot, the key and the time step are unchanged, without serializing the lists again. Null
   * from it (or no source) reads the database on every request.
   */
  snapshot?: { lists(): Promise<{ sids: string[]; jtis: string[] } | null> }
  keys: Pick<KeyProvider, 'signer'>
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_TTL_SECONDS' | 'REVOCATIONS_MAX_AGE_SECONDS'>
  clock?: Clock
}) {
  const clock = deps.clock ?? (() => new Date())
  // The document outlives its polling interval many times over, so a verifier that misses some
  // polls still holds a valid list; an access-token lifetime bounds what a stale copy can hide.
  const lifetimeSeconds = Math.max(60, deps.config.ACCESS_TOKEN_TTL_SECONDS)
  const stepSeconds = feedStepSeconds(deps.config)
  let cached: { content: string; jwt: string; body: Buffer; etag: string; lists: object; iat: number; kid: string } | undefined

  return {
    async document(): Promise<RevocationFeedDocument> {
      const lists = (await deps.snapshot?.lists()) ?? (await deps.revocations.feed())
      const now = Math.floor(clock().getTime() / 1000)
      const iat = now - (now % stepSeconds)
      const signer = deps.keys.signer()
      if (cached?.lists === lists && cached.iat === iat && cached.kid === signer.kid) {
        return { jwt: cached.jwt, body: cached.body, etag: cached.etag, maxAgeSeconds: deps.config.REVOCATIONS_MAX_AGE_SECONDS }
      }
      const claims = { iss: deps.config.ISSUER, iat, exp: iat + lifetimeSeconds, sids: lists.sids, jtis: lists.jtis }
      const content = `${signer.kid} ${JSON.stringify(claims)}`
      if (cached?.content !== content) {
        const jwt = await signer.sign(claims, { typ: REVOCATIONS_TYPE })
        const signingInput = jwt.slice(0, jwt.lastIndexOf('.'))
        const etag = `"${createHash('sha256').update(signingInput).digest('base64url').slice(0, 32)}"`
        cached = { content, jwt, body: Buffer.from(jwt), etag, lists, iat, kid: signer.kid }
      } else {
        cached = { ...cached, lists, iat, kid: signer.kid }
      }
      return { jwt: cached.jwt, body: cached.body, etag: cached.etag, maxAgeSeconds: deps.config.REVOCATIONS_MAX_AGE_SECONDS }
    },
  }
}

export type RevocationFeed = ReturnType<typeof createRevocationFeed>
