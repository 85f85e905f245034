import { createHash } from 'node:crypto'
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose'
import { TokenVerificationError } from './errors.js'

/** The `typ` header of every DPoP proof (RFC 9449 §4.2). */
export const DPOP_PROOF_TYPE = 'dpop+jwt'

/** Asymmetric algorithms a DPoP proof may use (RFC 9449 §4.2: never `none`, never a MAC). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const

/** Why a proof was refused, as RFC 9449 names it: `use_dpop_nonce` asks the client to retry with the server's nonce. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

/** Which check a proof failed. Stable: assert on these, never on messages. */
export type DpopFailure =
  | 'missing'
  | 'multiple'
  | 'malformed'
  | 'invalid_type'
  | 'algorithm_not_allowed'
  | 'invalid_key'
  | 'private_key'
  | 'invalid_signature'
  | 'missing_claim'
  | 'method_mismatch'
  | 'url_mismatch'
  | 'iat_out_of_window'
  | 'ath_mismatch'
  | 'nonce_required'
  | 'nonce_invalid'
  | 'replayed'
  | 'key_mismatch'

/** Thrown for every refused proof; `code` is the RFC 9449 error, `failure` says which check failed. */
export class DpopProofError extends Error {
  readonly code: DpopErrorCode
  readonly failure: DpopFailure

  constructor(failure: DpopFailure, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DpopProofError'
    this.failure = failure
    this.code = failure === 'nonce_required' || failure === 'nonce_invalid' ? 'use_dpop_nonce' : 'invalid_dpop_proof'
  }
}

/** The request a proof is checked against. */
export interface DpopProofCheck {
  /** Every value of the request's `DPoP` header: exactly one is allowed (RFC 9449 §4.3 step 1). */
  proof: string | readonly string[] | undefined
  /** The request's method. */
  method: string
  /** The request's absolute URL as the client addressed it; its query and fragment are ignored. */
  url: string | URL
  /** The current time: the proof's `iat` must be within `iatWindowSeconds` of it. */
  now: Date
  /** Seconds an `iat` may lie before or after `now`: default 60. */
  iatWindowSeconds?: number
  /** Accepted algorithms, a subset of {@link DPOP_ALGORITHMS} (the default: all of them). */
  algorithms?: readonly string[]
  /** At a resource server: the access token presented with the proof, whose hash `ath` must carry. */
  accessToken?: string
  /** When given, the proof must carry a `nonce` this accepts (a missing or stale one is `use_dpop_nonce`). */
  nonce?: (nonce: string) => boolean
}

/** What a valid proof says. */
export interface DpopProof {
  /** The RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` binds a token to. */
  jkt: string
  jti: string
  iat: number
  /** When the proof stops being acceptable (`iat` + the window): a replay cache keeps its `jti` until then. */
  expiresAt: Date
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const DEFAULT_IAT_WINDOW_SECONDS = 60

/** RFC 9449 §4.2: `ath` is the base64url SHA-256 of the access token's ASCII. */
export function accessTokenHash(accessToken: string): string {
  return base64url.encode(createHash('sha256').update(accessToken, 'ascii').digest())
}

/** RFC 9449 §4.3 step 9: the URL without query and fragment, scheme and host normalised by WHATWG URL. */
function htuOf(url: string | URL): string | undefined {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return undefined
  }
}

const fail = (failure: DpopFailure, message: string, cause?: unknown): never => {
  throw new DpopProofError(failure, message, cause === undefined ? {} : { cause })
}

// A client signs every proof with one key, and importing it costs as much as checking the
// signature: keys are kept by the proof's exact protected header (typ, alg, jwk), so a hit is
// the very key that header names.
const KEY_CACHE_SIZE = 1000
const importedKeys = new Map<string, CryptoKey>()

async function proofKey(encodedHeader: string, jwk: JWK, alg: string): Promise<CryptoKey> {
  const cached = importedKeys.get(encodedHeader)
  if (cached) return cached
  let key: CryptoKey | Uint8Array
  try {
    key = await importJWK({ ...jwk, ext: true }, alg)
  } catch (error) {
    return fail('invalid_key', 'The DPoP proof\'s jwk is not a usable key', error)
  }
  if (key instanceof Uint8Array || key.type !== 'public') return fail('invalid_key', 'The DPoP proof\'s jwk must be a public key')
  if (importedKeys.size >= KEY_CACHE_SIZE) importedKeys.delete(importedKeys.keys().next().value!)
  importedKeys.set(encodedHeader, key)
  return key
}

/**
 * Checks a DPoP proof as RFC 9449 §4.3 lists, except the `jti` replay check, which needs state:
 * the caller remembers `jti` per `jkt` until `expiresAt`. Throws {@link DpopProofError}.
 */
export async function checkDpopProof(check: DpopProofCheck): Promise<DpopProof> {
  const values = typeof check.proof === 'string' ? [check.proof] : (check.proof ?? [])
  if (values.length === 0 || values[0] === '') fail('missing', 'A DPoP proof is required')
  if (values.length > 1) fail('multiple', 'Send exactly one DPoP header')
  const proof = values[0]!
  const algorithms: readonly string[] = check.algorithms ?? DPOP_ALGORITHMS

  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(proof)
  } catch (error) {
    return fail('malformed', 'The DPoP proof is not a JWT', error)
  }
  if (proof.split('.').length !== 3) fail('malformed', 'The DPoP proof is not a signed JWT')
  if (header.typ !== DPOP_PROOF_TYPE) fail('invalid_type', `The DPoP proof's typ must be ${DPOP_PROOF_TYPE}`)
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) fail('algorithm_not_allowed', 'The DPoP proof uses an algorithm that is not allowed')
  const jwk = header.jwk as JWK | undefined
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) fail('invalid_key', 'The DPoP proof must carry its public key in jwk')
  if (PRIVATE_MEMBERS.some((member) => member in jwk!)) fail('private_key', 'The DPoP proof\'s jwk must be a public key')

  const key = await proofKey(proof.slice(0, proof.indexOf('.')), jwk!, header.alg!)
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(proof, key, { typ: DPOP_PROOF_TYPE, algorithms: [...algorithms], currentDate: check.now }))
  } catch (error) {
    const name = (error as { code?: string }).code
    return fail(name === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'invalid_signature' : name === 'ERR_JWS_INVALID' ? 'invalid_key' : 'malformed', 'The DPoP proof does not verify', error)
  }

  const { jti, htm, htu, iat } = payload
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) fail('missing_claim', 'The DPoP proof needs a jti')
  if (typeof htm !== 'string') fail('missing_claim', 'The DPoP proof needs htm')
  if (typeof htu !== 'string') fail('missing_claim', 'The DPoP proof needs htu')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('missing_claim', 'The DPoP proof needs iat')
  if (htm !== check.method.toUpperCase()) fail('method_mismatch', 'The DPoP proof is for another method')
  const expected = htuOf(check.url)
  if (expected === undefined || htuOf(htu as string) !== expected) fail('url_mismatch', 'The DPoP proof is for another URL')

  const window = check.iatWindowSeconds ?? DEFAULT_IAT_WINDOW_SECONDS
  const now = check.now.getTime() / 1000
  if (Math.abs(now - (iat as number)) > window) fail('iat_out_of_window', 'The DPoP proof is too old or from the future')

  if (check.nonce) {
    if (payload.nonce === undefined) fail('nonce_required', 'The DPoP proof needs the server\'s nonce')
    if (typeof payload.nonce !== 'string' || !check.nonce(payload.nonce)) fail('nonce_invalid', 'The DPoP proof\'s nonce is not current')
  }

  if (check.accessToken !== undefined) {
    if (typeof payload.ath !== 'string') fail('missing_claim', 'The DPoP proof needs ath with an access token')
    if (payload.ath !== accessTokenHash(check.accessToken)) fail('ath_mismatch', 'The DPoP proof is for another access token')
  }

  return {
    jkt: await calculateJwkThumbprint(jwk!, 'sha256'),
    jti: jti as string,
    iat: iat as number,
    expiresAt: new Date(((iat as number) + window) * 1000),
  }
}

/** An access token as a request presented it: `Authorization: Bearer` or (RFC 9449 §7.1) `Authorization: DPoP`. */
export interface PresentedAccessToken {
  scheme: 'bearer' | 'dpop'
  token: string
}

/**
 * RFC 9449 §7 at a protected resource: how a token may be presented, decided once for every
 * resource server and for tollgate's own routes. A token bound to a key (`cnf.jkt` = `jkt`) only as
 * `DPoP` with a proof from that key (a bound token sent as `Bearer` is what a thief holding only
 * the token does, §7.2); the `DPoP` scheme only with a bound token. `checkProof` checks the
 * request's proof for this access token (§4.3, `ath` included) and is called only when a proof
 * must be checked. Returns that proof (its `jti` is the caller's to remember), or undefined for a
 * Bearer presentation. Throws {@link TokenVerificationError} `dpop_bound_token`, `not_dpop_bound`
 * or `dpop_key_mismatch`, and whatever `checkProof` throws.
 */
export async function confirmDpopBinding<Proof extends Pick<DpopProof, 'jkt'>>(
  presented: PresentedAccessToken,
  jkt: string | undefined,
  checkProof: (accessToken: string) => Promise<Proof>,
): Promise<Proof | undefined> {
  if (presented.scheme === 'bearer') {
    if (jkt) throw new TokenVerificationError('dpop_bound_token', 'The token is bound to a DPoP key: present it as DPoP with a proof')
    return undefined
  }
  if (!jkt) throw new TokenVerificationError('not_dpop_bound', 'The token is not bound to a DPoP key: present it as Bearer')
  const proof = await checkProof(presented.token)
  if (proof.jkt !== jkt) throw new TokenVerificationError('dpop_key_mismatch', 'The DPoP proof is signed with another key than the token is bound to')
  return proof
}

/**
 * Remembers proofs until they expire, so each `jti` is accepted once. `claim` answers true the
 * first time it sees a key and false after. Share one across every instance (Redis, a database):
 * an instance of its own lets a proof be replayed on another instance.
 */
export interface DpopReplayCache {
  claim(key: string, expiresAt: Date): Promise<boolean>
}

/** A per-process replay cache, for tests and single-instance services. */
export function createMemoryReplayCache(options: { maxEntries?: number; currentDate?: () => Date } = {}): DpopReplayCache {
  const seen = new Map<string, number>()
  const max = options.maxEntries ?? 100_000
  const now = () => (options.currentDate?.() ?? new Date()).getTime()
  return {
    async claim(key, expiresAt) {
      const at = now()
      const until = seen.get(key)
      if (until !== undefined && until > at) return false
      if (seen.size >= max) {
        for (const [stored, expiry] of seen) if (expiry <= at) seen.delete(stored)
        // Still full of live proofs: refuse rather than forget one (which would allow its replay).
        if (seen.size >= max) return false
      }
      seen.set(key, expiresAt.getTime())
      return true
    },
  }
}

/** The replay-cache key of a proof: its `jti` is unique per key, so two clients may share a `jti`. */
export const replayKeyOf = (proof: Pick<DpopProof, 'jkt' | 'jti'>): string =>
  `${proof.jkt}:${createHash('sha256').update(proof.jti).digest('base64url')}`

/**
 * The one Redis command a {@link createRedisReplayCache} needs, as ioredis spells it
 * (`SET key value PX ms NX`); node-redis users wrap theirs.
 */
export interface RedisSetNx {
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<string | null>
}

/**
 * A replay cache in Redis, shared by every instance that uses the same Redis and prefix: `SET NX`
 * with the proof's remaining lifetime, so Redis forgets a key exactly when its proof could no
 * longer be accepted. Redis errors reject (a verifier then fails closed).
 */
export function createRedisReplayCache(redis: RedisSetNx, options: { prefix?: string; currentDate?: () => Date } = {}): DpopReplayCache {
  const prefix = options.prefix ?? 'dpop:'
  const now = options.currentDate ?? (() => new Date())
  return {
    async claim(key, expiresAt) {
      const ttl = Math.max(1000, expiresAt.getTime() - now().getTime())
      return (await redis.set(`${prefix}${key}`, '1', 'PX', ttl, 'NX')) === 'OK'
    },
  }
}
