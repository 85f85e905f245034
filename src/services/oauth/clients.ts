import { SIGNING_ALGORITHMS } from '../../domain/keys/key-provider.js'
import { usableCredentials, type ClientCredentials } from '../../domain/oauth/client-auth.js'
import { clientSecretMatches, generateClientId, generateClientSecret, hashClientSecret } from '../../domain/oauth/client-secret.js'
import { isGrantType, type AuthenticatedClient, type GrantType } from '../../domain/oauth/grants.js'
import { redirectUriProblem } from '../../domain/oauth/redirect-uri.js'
import { isScopeToken } from '../../domain/oauth/scope.js'
import { OAuthError, ProblemError } from '../../errors.js'
import type { OAuthClientRecord, OAuthClientsRepository } from '../../repositories/oauth-clients.js'
import type { Clock } from '../access-tokens.js'

export const CLIENT_TYPES = ['confidential', 'public'] as const
export type ClientType = (typeof CLIENT_TYPES)[number]

/** A confidential client gets a secret at creation, a public one none. */
type SecretOf<Type> = Type extends 'public' ? undefined : string

export interface CreateClientInput {
  name: string
  /** `confidential` (the default) gets a secret; `public` (an SPA, a native app) has none. */
  type?: ClientType | undefined
  scopes: readonly string[]
  grantTypes?: readonly string[] | undefined
  audience?: string | undefined
  redirectUris?: readonly string[] | undefined
  postLogoutRedirectUris?: readonly string[] | undefined
  /** First-party clients skip the consent screen. */
  firstParty?: boolean | undefined
  /** The algorithm of its access tokens, one of SIGNING_ALGORITHMS; unset: the default (the first). */
  accessTokenSigningAlg?: string | undefined
  /** OIDC Registration id_token_signed_response_alg, one of SIGNING_ALGORITHMS; unset: the default (RS256 when configured). */
  idTokenSigningAlg?: string | undefined
  /** RFC 9449 §5.2: its token requests must carry a DPoP proof, so every token it gets is bound. */
  dpopBoundAccessTokens?: boolean | undefined
}

/** A client as management shows it: never its secret or the secret's hash. */
export interface OAuthClientView {
  clientId: string
  name: string
  type: ClientType
  grantTypes: GrantType[]
  scopes: string[]
  audience: string | null
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  firstParty: boolean
  /** null: the default algorithm. */
  accessTokenSigningAlg: string | null
  /** The algorithm of its ID tokens; null: the default. */
  idTokenSigningAlg: string | null
  /** Token requests without a DPoP proof are refused. */
  dpopBoundAccessTokens: boolean
  createdAt: Date
  deletedAt: Date | null
}

// A client with redirect URIs signs users in; one without is a service (client_credentials).
const DEFAULT_GRANT_TYPES = (input: CreateClientInput): readonly GrantType[] =>
  (input.redirectUris?.length ?? 0) > 0 || input.type === 'public' ? ['authorization_code', 'refresh_token'] : ['client_credentials']
// Compared against when the client is unknown, so that an unknown id costs the same as a wrong secret.
const UNKNOWN_CLIENT_HASH = '0'.repeat(64)
// Clients kept at most; past this the longest-kept is dropped. Unknown ids are never kept.
const CLIENT_CACHE_SIZE = 10_000

/**
 * Active clients by id, each kept for `ttlMs` after it was read, so that the token endpoint does
 * not read the database on every request. A deletion through this cache applies at once; one made
 * elsewhere (another instance, the CLI) within `ttlMs`. 0 keeps nothing.
 */
function createClientCache(clients: Pick<OAuthClientsRepository, 'findActive'>, ttlMs: number, clock: Clock) {
  const kept = new Map<string, { record: OAuthClientRecord; until: number }>()
  // Bumped by every local deletion: a read that started before one must not put its client back.
  let deletions = 0
  return {
    async findActive(clientId: string): Promise<OAuthClientRecord | null> {
      if (ttlMs <= 0) return clients.findActive(clientId)
      const now = clock().getTime()
      const hit = kept.get(clientId)
      if (hit && hit.until > now) return hit.record
      const started = deletions
      const record = await clients.findActive(clientId)
      kept.delete(clientId)
      if (record && started === deletions) {
        if (kept.size >= CLIENT_CACHE_SIZE) kept.delete(kept.keys().next().value!)
        kept.set(clientId, { record, until: now + ttlMs })
      }
      return record
    },
    forget(clientId: string) {
      deletions++
      kept.delete(clientId)
    },
  }
}

/**
 * The algorithm a client's access tokens are registered for (null: the default), by client id, for
 * the access-token issuer; kept as long as the client service keeps clients. The first-party client
 * and unknown ids have none.
 */
export function createClientSigningAlgLookup(deps: {
  clients: Pick<OAuthClientsRepository, 'findActive'>
  firstPartyClientId: string
  cacheSeconds: number
  clock: Clock
}) {
  const cache = createClientCache(deps.clients, deps.cacheSeconds * 1000, deps.clock)
  return async (clientId: string): Promise<string | null> =>
    clientId === deps.firstPartyClientId ? null : ((await cache.findActive(clientId))?.accessTokenSigningAlg ?? null)
}

/**
 * OAuth clients: management (create, list, delete) and client authentication for the OAuth
 * endpoints. The first-party app is a public client known from configuration, not a row.
 */
export function createOAuthClientService(deps: {
  clients: OAuthClientsRepository
  /** app.secrets('client-secret-hmac'): new secrets are hashed with the first, any verifies. */
  secretKeys: readonly Buffer[]
  firstPartyClientId: string
  clock: Clock
  /** OAUTH_CLIENT_CACHE_SECONDS: how long a looked-up client is kept (0: not at all). */
  cacheSeconds?: number
  /** SIGNING_ALGORITHMS: what a client may be registered for. */
  signingAlgorithms?: readonly string[]
}) {
  const { clients, secretKeys, firstPartyClientId, clock } = deps
  const cache = createClientCache(clients, (deps.cacheSeconds ?? 0) * 1000, clock)

  return {
    /**
     * Creates a client. A confidential client's secret is returned here once and stored only as a
     * hash; a public client has none (`clientSecret` undefined).
     */
    async create<Input extends CreateClientInput>(input: Input): Promise<{ client: OAuthClientView; clientSecret: SecretOf<Input['type']> }> {
      const { type, ...settings } = validateClientSettings(input, deps.signingAlgorithms ?? SIGNING_ALGORITHMS)
      const clientSecret = type === 'confidential' ? generateClientSecret() : undefined
      const record = await clients.create({
        clientId: generateClientId(),
        secretHash: clientSecret === undefined ? null : hashClientSecret(clientSecret, secretKeys[0]!),
        createdAt: clock(),
        ...settings,
      })
      return { client: view(record), clientSecret: clientSecret as SecretOf<Input['type']> }
    },

    /** An active registered client by id, as the authorization endpoint needs it; null otherwise. */
    async find(clientId: string): Promise<OAuthClientView | null> {
      if (clientId === firstPartyClientId) return null
      const record = await cache.findActive(clientId)
      return record ? view(record) : null
    },

    async list(options: { includeDeleted?: boolean } = {}): Promise<OAuthClientView[]> {
      return (await clients.list({ includeDeleted: options.includeDeleted ?? false })).map(view)
    },

    /** Deletes the client: it can no longer authenticate. False when there is no such client. */
    async delete(clientId: string): Promise<boolean> {
      cache.forget(clientId)
      const deleted = await clients.markDeleted(clientId, clock())
      cache.forget(clientId)
      return deleted
    },

    /** True while the client exists; the first-party client always does. */
    async isActive(clientId: string): Promise<boolean> {
      return clientId === firstPartyClientId || (await cache.findActive(clientId)) !== null
    },

    /**
     * Authenticates a confidential client (HTTP Basic or client_secret_post), or, where the
     * endpoint allows public clients, identifies the first-party client by client_id alone.
     * Every failure is 401 invalid_client.
     */
    async authenticate(presented: ClientCredentials, options: { allowPublic: boolean }): Promise<AuthenticatedClient> {
      const credentials = usableCredentials(presented)
      if (credentials.method === 'absent') {
        if (options.allowPublic) throw new OAuthError('invalid_request', 'client_id is required (with client authentication for a confidential client)')
        throw new OAuthError('invalid_client', 'Client authentication is required')
      }
      if (credentials.method === 'none') {
        if (options.allowPublic && credentials.clientId === firstPartyClientId) {
          return { clientId: firstPartyClientId, public: true, grantTypes: ['refresh_token'], scopes: [], audience: null, dpopBoundAccessTokens: false, idTokenSigningAlg: null }
        }
        // A registered public client identifies itself by client_id alone; PKCE or its refresh
        // token's binding to it is what the grant then checks.
        const record = options.allowPublic && credentials.clientId !== firstPartyClientId ? await cache.findActive(credentials.clientId) : null
        if (record && record.secretHash === null) {
          return {
            clientId: record.clientId,
            public: true,
            grantTypes: record.grantTypes,
            scopes: record.scopes,
            audience: record.audience,
            dpopBoundAccessTokens: record.dpopBoundAccessTokens,
            idTokenSigningAlg: record.idTokenSigningAlg,
          }
        }
        throw new OAuthError('invalid_client', 'Client authentication is required for this client')
      }
      const record = credentials.clientId === firstPartyClientId ? null : await cache.findActive(credentials.clientId)
      // Every key is tried, matched or not: the time taken says nothing about which one matched.
      const matches = secretKeys
        .map((key) => clientSecretMatches(credentials.clientSecret, record?.secretHash ?? UNKNOWN_CLIENT_HASH, key))
        .includes(true)
      if (!record?.secretHash || !matches) throw new OAuthError('invalid_client', 'Client authentication failed')
      return {
        clientId: record.clientId,
        public: false,
        grantTypes: record.grantTypes,
        scopes: record.scopes,
        audience: record.audience,
        dpopBoundAccessTokens: record.dpopBoundAccessTokens,
        idTokenSigningAlg: record.idTokenSigningAlg,
      }
    },
  }
}

export type OAuthClientService = ReturnType<typeof createOAuthClientService>

function validateClientSettings(input: CreateClientInput, signingAlgorithms: readonly string[]) {
  const type = input.type ?? 'confidential'
  if (!(CLIENT_TYPES as readonly string[]).includes(type)) throw new ProblemError('validation_failed', 'The client type must be confidential or public')
  const name = input.name.trim()
  if (name.length < 1 || name.length > 200) throw new ProblemError('validation_failed', 'The client name must be 1 to 200 characters')
  const scopes = [...new Set(input.scopes)]
  if (scopes.length === 0) throw new ProblemError('validation_failed', 'A client needs at least one scope')
  const badScope = scopes.find((scope) => !isScopeToken(scope))
  if (badScope !== undefined) throw new ProblemError('validation_failed', `Not a valid scope: ${JSON.stringify(badScope)}`)
  const grantTypes = [...new Set(input.grantTypes ?? DEFAULT_GRANT_TYPES(input))]
  if (grantTypes.length === 0) throw new ProblemError('validation_failed', 'A client needs at least one grant type')
  const badGrant = grantTypes.find((grant) => !isGrantType(grant))
  if (badGrant !== undefined) throw new ProblemError('validation_failed', `Unsupported grant type: ${JSON.stringify(badGrant)}`)
  if (type === 'public' && grantTypes.includes('client_credentials')) {
    throw new ProblemError('validation_failed', 'A public client cannot use client_credentials: it has no secret')
  }
  const audience = input.audience?.trim() || null
  if (audience !== null && /\s/.test(audience)) throw new ProblemError('validation_failed', 'The audience must not contain spaces')
  const redirectUris = uris(input.redirectUris, 'redirect URI')
  const postLogoutRedirectUris = uris(input.postLogoutRedirectUris, 'post-logout redirect URI')
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new ProblemError('validation_failed', 'A client of the authorization_code grant needs at least one redirect URI')
  }
  if (!grantTypes.includes('authorization_code') && (redirectUris.length > 0 || postLogoutRedirectUris.length > 0)) {
    throw new ProblemError('validation_failed', 'Redirect URIs are only for clients of the authorization_code grant')
  }
  const accessTokenSigningAlg = signingAlgorithm(input.accessTokenSigningAlg, signingAlgorithms, 'access-token')
  const idTokenSigningAlg = signingAlgorithm(input.idTokenSigningAlg, signingAlgorithms, 'ID token')
  if (idTokenSigningAlg !== null && !scopes.includes('openid')) {
    throw new ProblemError('validation_failed', 'An ID token algorithm is only for clients that may ask for the openid scope')
  }
  return {
    type,
    name,
    scopes,
    grantTypes,
    audience,
    redirectUris,
    postLogoutRedirectUris,
    firstParty: input.firstParty ?? false,
    accessTokenSigningAlg,
    idTokenSigningAlg,
    dpopBoundAccessTokens: input.dpopBoundAccessTokens ?? false,
  }
}

/** A registered algorithm: one of SIGNING_ALGORITHMS, or null for the default. */
function signingAlgorithm(value: string | undefined, signingAlgorithms: readonly string[], what: string): string | null {
  const alg = value?.trim() || null
  if (alg !== null && !signingAlgorithms.includes(alg)) {
    throw new ProblemError('validation_failed', `The ${what} algorithm must be one of SIGNING_ALGORITHMS (${signingAlgorithms.join(', ')}), not ${JSON.stringify(alg)}`)
  }
  return alg
}

function uris(values: readonly string[] | undefined, what: string): string[] {
  const list = [...new Set(values ?? [])]
  for (const uri of list) {
    const problem = redirectUriProblem(uri)
    if (problem) throw new ProblemError('validation_failed', `The ${what} ${JSON.stringify(uri)} ${problem}`)
  }
  return list
}

function view(record: OAuthClientRecord): OAuthClientView {
  return {
    clientId: record.clientId,
    name: record.name,
    type: record.secretHash === null ? 'public' : 'confidential',
    grantTypes: record.grantTypes.filter(isGrantType),
    scopes: record.scopes,
    audience: record.audience,
    redirectUris: record.redirectUris,
    postLogoutRedirectUris: record.postLogoutRedirectUris,
    firstParty: record.firstParty,
    accessTokenSigningAlg: record.accessTokenSigningAlg,
    idTokenSigningAlg: record.idTokenSigningAlg,
    dpopBoundAccessTokens: record.dpopBoundAccessTokens,
    createdAt: record.createdAt,
    deletedAt: record.revokedAt,
  }
}
