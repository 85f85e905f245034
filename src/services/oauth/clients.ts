import { usableCredentials, type ClientCredentials } from '../../domain/oauth/client-auth.js'
import { clientSecretMatches, generateClientId, generateClientSecret, hashClientSecret } from '../../domain/oauth/client-secret.js'
import { isClientGrantType, type AuthenticatedClient, type ClientGrantType } from '../../domain/oauth/grants.js'
import { isScopeToken } from '../../domain/oauth/scope.js'
import { OAuthError, ProblemError } from '../../errors.js'
import type { OAuthClientRecord, OAuthClientsRepository } from '../../repositories/oauth-clients.js'
import type { Clock } from '../access-tokens.js'

export interface CreateClientInput {
  name: string
  scopes: readonly string[]
  grantTypes?: readonly string[]
  audience?: string | undefined
}

/** A client as management shows it: never its secret or the secret's hash. */
export interface OAuthClientView {
  clientId: string
  name: string
  grantTypes: ClientGrantType[]
  scopes: string[]
  audience: string | null
  createdAt: Date
  deletedAt: Date | null
}

const DEFAULT_GRANT_TYPES: readonly ClientGrantType[] = ['client_credentials']
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
}) {
  const { clients, secretKeys, firstPartyClientId, clock } = deps
  const cache = createClientCache(clients, (deps.cacheSeconds ?? 0) * 1000, clock)

  return {
    /** Creates a confidential client. The secret is returned here once and stored only as a hash. */
    async create(input: CreateClientInput): Promise<{ client: OAuthClientView; clientSecret: string }> {
      const settings = validateClientSettings(input)
      const clientSecret = generateClientSecret()
      const record = await clients.create({
        clientId: generateClientId(),
        secretHash: hashClientSecret(clientSecret, secretKeys[0]!),
        createdAt: clock(),
        ...settings,
      })
      return { client: view(record), clientSecret }
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
          return { clientId: firstPartyClientId, public: true, grantTypes: ['refresh_token'], scopes: [], audience: null }
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
      }
    },
  }
}

export type OAuthClientService = ReturnType<typeof createOAuthClientService>

function validateClientSettings(input: CreateClientInput) {
  const name = input.name.trim()
  if (name.length < 1 || name.length > 200) throw new ProblemError('validation_failed', 'The client name must be 1 to 200 characters')
  const scopes = [...new Set(input.scopes)]
  if (scopes.length === 0) throw new ProblemError('validation_failed', 'A client needs at least one scope')
  const badScope = scopes.find((scope) => !isScopeToken(scope))
  if (badScope !== undefined) throw new ProblemError('validation_failed', `Not a valid scope: ${JSON.stringify(badScope)}`)
  const grantTypes = [...new Set(input.grantTypes ?? DEFAULT_GRANT_TYPES)]
  if (grantTypes.length === 0) throw new ProblemError('validation_failed', 'A client needs at least one grant type')
  const badGrant = grantTypes.find((grant) => !isClientGrantType(grant))
  if (badGrant !== undefined) throw new ProblemError('validation_failed', `Unsupported grant type: ${JSON.stringify(badGrant)}`)
  const audience = input.audience?.trim() || null
  if (audience !== null && /\s/.test(audience)) throw new ProblemError('validation_failed', 'The audience must not contain spaces')
  return { name, scopes, grantTypes, audience }
}

function view(record: OAuthClientRecord): OAuthClientView {
  return {
    clientId: record.clientId,
    name: record.name,
    grantTypes: record.grantTypes.filter(isClientGrantType),
    scopes: record.scopes,
    audience: record.audience,
    createdAt: record.createdAt,
    deletedAt: record.revokedAt,
  }
}
