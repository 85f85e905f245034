import type { PrismaClient } from '../generated/prisma/client.js'

export interface OAuthClientRecord {
  clientId: string
  name: string
  /** Hex HMAC-SHA-256 of the secret; null for a public client. */
  secretHash: string | null
  grantTypes: string[]
  scopes: string[]
  audience: string | null
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  firstParty: boolean
  /** The algorithm of its access tokens; null: the default. */
  accessTokenSigningAlg: string | null
  /** OIDC Registration id_token_signed_response_alg; null: the default. */
  idTokenSigningAlg: string | null
  /** RFC 9449 §5.2 dpop_bound_access_tokens: token requests without a DPoP proof are refused. */
  dpopBoundAccessTokens: boolean
  createdAt: Date
  revokedAt: Date | null
}

export type NewOAuthClient = Omit<OAuthClientRecord, 'revokedAt' | 'dpopBoundAccessTokens' | 'idTokenSigningAlg'> & {
  dpopBoundAccessTokens?: boolean
  idTokenSigningAlg?: string | null
}

export function createOAuthClientsRepository(prisma: PrismaClient) {
  return {
    async create(client: NewOAuthClient): Promise<OAuthClientRecord> {
      return prisma.oAuthClient.create({ data: client })
    },

    /** The client if it exists and has not been deleted. */
    async findActive(clientId: string): Promise<OAuthClientRecord | null> {
      // findUnique, not findFirst: on every token request, and Prisma batches and caches it better.
      const client = await prisma.oAuthClient.findUnique({ where: { clientId } })
      return client && client.revokedAt === null ? client : null
    },

    async list(options: { includeDeleted: boolean }): Promise<OAuthClientRecord[]> {
      return prisma.oAuthClient.findMany({
        where: options.includeDeleted ? {} : { revokedAt: null },
        orderBy: [{ createdAt: 'asc' }, { clientId: 'asc' }],
      })
    },

    /**
     * Marks the client deleted (the row stays, so its id is never reused and its history is
     * kept). Returns false when there was no such active client.
     */
    async markDeleted(clientId: string, at: Date): Promise<boolean> {
      const { count } = await prisma.oAuthClient.updateMany({ where: { clientId, revokedAt: null }, data: { revokedAt: at } })
      return count === 1
    },
  }
}

export type OAuthClientsRepository = ReturnType<typeof createOAuthClientsRepository>
