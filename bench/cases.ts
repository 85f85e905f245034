import type { ServerKind } from './lib/server.js'

/** One line of the table: a server answering HTTP load, or a measurement inside one process. */
export type BenchCase =
  | { name: string; title: string; type: 'http'; server: ServerKind; baseline?: true }
  | { name: string; title: string; type: 'in-process'; unit: string; baseline?: true }

/**
 * Every case, in the order each round runs them. Each round runs every selected case once, so
 * over the rounds (five by default) a case and the baseline it is compared with alternate (ABAB...) and a drift
 * of the machine hits both.
 */
export const CASES = [
  { name: 'hello', title: 'Fastify hello-world', type: 'http', server: 'hello', baseline: true },
  { name: 'jwks', title: 'GET /.well-known/jwks.json', type: 'http', server: 'tollgate' },
  { name: 'jwt', title: 'Fastify + jose EdDSA verify', type: 'http', server: 'jwt', baseline: true },
  { name: 'jwt-pg', title: 'Fastify + jose verify + indexed pg SELECT (floor)', type: 'http', server: 'jwt', baseline: true },
  { name: 'cart-get', title: 'GET /v1/cart/items', type: 'http', server: 'tollgate' },
  { name: 'express-get', title: 'Express + express-session + connect-pg-simple GET cart', type: 'http', server: 'express-session', baseline: true },
  { name: 'cart-post', title: 'POST /v1/cart/items', type: 'http', server: 'tollgate' },
  { name: 'express-post', title: 'Express + express-session + connect-pg-simple POST cart', type: 'http', server: 'express-session', baseline: true },
  { name: 'refresh', title: 'POST /v1/auth/refresh (rotation)', type: 'http', server: 'tollgate' },
  { name: 'oidc-refresh', title: 'oidc-provider refresh_token rotation (in-memory adapter)', type: 'http', server: 'oidc-provider', baseline: true },
  { name: 'client-credentials', title: 'POST /oauth/token client_credentials', type: 'http', server: 'tollgate' },
  { name: 'oidc-cc', title: 'oidc-provider client_credentials (in-memory adapter)', type: 'http', server: 'oidc-provider', baseline: true },
  { name: 'code', title: 'POST /oauth/token authorization_code (access, refresh and ES256 ID token)', type: 'http', server: 'tollgate' },
  { name: 'oidc-code', title: 'oidc-provider authorization_code redemption (in-memory adapter)', type: 'http', server: 'oidc-provider', baseline: true },
  { name: 'login', title: 'POST /v1/auth/login (argon2id)', type: 'http', server: 'tollgate' },
  { name: 'login-page', title: 'POST /oauth/login, the login page (argon2id, answers the consent page)', type: 'http', server: 'tollgate' },
  { name: 'argon2', title: 'raw argon2id verify, same parameters and threadpool', type: 'in-process', unit: 'verifies/s', baseline: true },
  { name: 'jose-verify', title: 'raw jose jwtVerify (EdDSA), sequential', type: 'in-process', unit: 'verifies/s', baseline: true },
  { name: 'verifier', title: 'tollgate/verifier, cache on (2,000 tokens, each seen again)', type: 'in-process', unit: 'verifies/s' },
  { name: 'verifier-uncached', title: 'tollgate/verifier, cache off (every token verified)', type: 'in-process', unit: 'verifies/s' },
  { name: 'verifier-dpop', title: 'tollgate/verifier, DPoP: cached bound token + a fresh ES256 proof each', type: 'in-process', unit: 'verifies/s' },
  { name: 'sign-es256', title: 'access token signing, ES256 (tollgate signer, threadpool)', type: 'in-process', unit: 'tokens/s' },
  { name: 'sign-rs256', title: 'access token signing, RS256 (tollgate signer, threadpool)', type: 'in-process', unit: 'tokens/s' },
  { name: 'verify-es256', title: 'tollgate/verifier, cache off, ES256 tokens', type: 'in-process', unit: 'verifies/s' },
  { name: 'verify-rs256', title: 'tollgate/verifier, cache off, RS256 tokens', type: 'in-process', unit: 'verifies/s' },
] as const satisfies readonly BenchCase[]

export type CaseName = (typeof CASES)[number]['name']

/** Not a round case: the memory and growth measurement, run once after the rounds. */
export const MEMORY_CASE = 'memory'

export interface CaseSummary {
  value: number
  /** Median server CPU per request (µs, all its threads), HTTP cases only. */
  serverCpuMicros?: number
  /** Median CPU of the PostgreSQL backends per request (µs), when PostgreSQL runs on this machine. */
  databaseCpuMicros?: number
  p50?: number
  p99?: number
  probeP99?: number
  probeMax?: number
}

/** One round's figures of the cases it ran. */
export type RoundFigures = Partial<Record<CaseName, CaseSummary>>

/**
 * A target of issues 8 and 18 (18 raised JWKS, refresh rotation and login): a ratio of two cases, or a latency bound, worked out in each round and
 * reported as the median over the rounds. A case and its baseline run next to each other in a
 * round, so a ratio of the same round cancels the machine's drift between rounds (which on a
 * shared virtual machine moves every figure by a third), where a ratio of two medians would not.
 */
export interface Target {
  name: string
  needs: CaseName[]
  /** The figure of one round, and how it is shown. */
  measure(round: RoundFigures): number | undefined
  format(value: number): string
  pass(value: number): boolean
  required: string
}

const ratio = (a: CaseName, b: CaseName) => (round: RoundFigures) =>
  round[a] && round[b] ? round[a]!.value / round[b]!.value : undefined
const times = (value: number) => `${value.toFixed(2)}x`
const ms = (value: number) => `${value.toFixed(1)} ms`

export const TARGETS: Target[] = [
  { name: 'JWKS vs hello-world', needs: ['jwks', 'hello'], measure: ratio('jwks', 'hello'), format: times, pass: (v) => v >= 0.95, required: '>= 0.95x' },
  { name: 'cart GET vs express-session GET', needs: ['cart-get', 'express-get'], measure: ratio('cart-get', 'express-get'), format: times, pass: (v) => v >= 2, required: '>= 2.00x' },
  { name: 'cart GET vs jwt+pg floor', needs: ['cart-get', 'jwt-pg'], measure: ratio('cart-get', 'jwt-pg'), format: times, pass: (v) => v >= 0.9, required: '>= 0.90x' },
  { name: 'cart POST vs express-session POST', needs: ['cart-post', 'express-post'], measure: ratio('cart-post', 'express-post'), format: times, pass: (v) => v >= 2, required: '>= 2.00x' },
  { name: 'refresh vs oidc-provider refresh', needs: ['refresh', 'oidc-refresh'], measure: ratio('refresh', 'oidc-refresh'), format: times, pass: (v) => v >= 1, required: '>= 1.00x' },
  { name: 'refresh p99 latency', needs: ['refresh'], measure: (round) => round.refresh?.p99, format: ms, pass: (v) => v < 25, required: '< 25 ms' },
  { name: 'client_credentials vs oidc-provider', needs: ['client-credentials', 'oidc-cc'], measure: ratio('client-credentials', 'oidc-cc'), format: times, pass: (v) => v >= 1.5, required: '>= 1.50x' },
  {
    name: 'verifier cost per verification vs raw jose',
    needs: ['verifier', 'jose-verify'],
    measure: ratio('jose-verify', 'verifier'),
    format: times,
    pass: (v) => v <= 1.15,
    required: '<= 1.15x',
  },
  {
    name: 'verifier cost, cache off (info)',
    needs: ['verifier-uncached', 'jose-verify'],
    measure: ratio('jose-verify', 'verifier-uncached'),
    format: times,
    pass: (v) => v <= 1.15,
    required: '<= 1.15x',
  },
  // What DPoP adds per request at a resource server: the proof's ES256 signature, thumbprint and replay claim.
  { name: 'DPoP vs bearer cost per verification (info)', needs: ['verifier-dpop', 'verifier'], measure: ratio('verifier', 'verifier-dpop'), format: times, pass: () => true, required: 'info' },
  { name: 'DPoP vs bearer, cache off (info)', needs: ['verifier-dpop', 'verifier-uncached'], measure: ratio('verifier-uncached', 'verifier-dpop'), format: times, pass: () => true, required: 'info' },
  // What an access token costs per algorithm (SIGNING_ALGORITHMS): RS256's signature is the expensive one, its verification the cheap one.
  { name: 'RS256 vs ES256 tokens signed/s (info)', needs: ['sign-rs256', 'sign-es256'], measure: ratio('sign-rs256', 'sign-es256'), format: times, pass: () => true, required: 'info' },
  { name: 'RS256 vs ES256 tokens verified/s (info)', needs: ['verify-rs256', 'verify-es256'], measure: ratio('verify-rs256', 'verify-es256'), format: times, pass: () => true, required: 'info' },
  // Issue 16: the code flow's redemption beside the reference provider's, and the login page beside the API's login.
  { name: 'authorization code vs oidc-provider (info)', needs: ['code', 'oidc-code'], measure: ratio('code', 'oidc-code'), format: times, pass: () => true, required: 'info' },
  { name: 'login page vs POST /v1/auth/login (info)', needs: ['login-page', 'login'], measure: ratio('login-page', 'login'), format: times, pass: () => true, required: 'info' },
  { name: 'login vs raw argon2', needs: ['login', 'argon2'], measure: ratio('login', 'argon2'), format: times, pass: (v) => v >= 0.95, required: '>= 0.95x' },
  { name: '/health/live p99 during the login flood', needs: ['login'], measure: (round) => round.login?.probeP99, format: ms, pass: (v) => v < 50, required: '< 50 ms' },
]
