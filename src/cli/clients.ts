import { parseArgs } from 'node:util'
import { ProblemError } from '../errors.js'
import { createOAuthClientsRepository } from '../repositories/oauth-clients.js'
import { deriveSecrets } from '../services/key-encryption-key.js'
import { CLIENT_TYPES, createOAuthClientService, type ClientType, type OAuthClientService, type OAuthClientView } from '../services/oauth/clients.js'
import { processIo, table, withCliContext, type CliIo } from './context.js'

const USAGE = `usage: tollgate clients <command>

  create --name NAME --scopes "a b" [--type confidential|public] [--grants "g ..."] [--audience AUD]
         [--redirect-uris "uri ..."] [--post-logout-redirect-uris "uri ..."] [--first-party]
         [--alg ES256|RS256|EdDSA] [--id-token-alg ES256|RS256|EdDSA] [--dpop] [--json]
         creates a client. A confidential one (the default) gets a secret, printed once
         (--json: {"client_id","client_secret"}); a public one (SPA, native app) has none.
         With --redirect-uris (or --type public) the grants default to authorization_code and
         refresh_token, else to client_credentials. Scopes are the ones the client may ask for
         (openid profile email offline_access for OpenID Connect); --first-party skips consent.
         --alg: the algorithm of its access tokens, one of SIGNING_ALGORITHMS (default: the first).
         --id-token-alg: the algorithm of its ID tokens (OIDC id_token_signed_response_alg), one of
         SIGNING_ALGORITHMS (default: RS256 when configured, else the first).
         --dpop: its token requests must carry a DPoP proof (RFC 9449), so all its tokens are bound.
  list [--all] [--json]      the clients (--all: deleted ones too)
  delete CLIENT_ID           the client can no longer authenticate
`

export type { CliIo } from './context.js'

/** `tollgate clients create|list|delete`. Returns the process exit code. */
export async function clientsCommand(args: string[], io: CliIo = processIo): Promise<number> {
  const [subcommand, ...rest] = args
  const run = subcommand ? SUBCOMMANDS[subcommand] : undefined
  if (!run) {
    io.stderr(USAGE)
    return 2
  }
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(rest)
  } catch (error) {
    io.stderr(`tollgate clients ${subcommand}: ${(error as Error).message}\n${USAGE}`)
    return 2
  }
  return withCliContext(io, async ({ config, db, kek }) => {
    const clients = createOAuthClientService({
      clients: createOAuthClientsRepository(db.prisma),
      secretKeys: deriveSecrets(kek, 'client-secret-hmac'),
      firstPartyClientId: config.FIRST_PARTY_CLIENT_ID,
      clock: () => new Date(),
      signingAlgorithms: config.SIGNING_ALGORITHMS,
    })
    try {
      return await run(clients, parsed, io)
    } catch (error) {
      if (error instanceof ProblemError) {
        io.stderr(`tollgate clients ${subcommand}: ${error.detail ?? error.title}\n`)
        return 1
      }
      throw error
    }
  })
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      grants: { type: 'string' },
      audience: { type: 'string' },
      type: { type: 'string' },
      'redirect-uris': { type: 'string' },
      'post-logout-redirect-uris': { type: 'string' },
      'first-party': { type: 'boolean', default: false },
      alg: { type: 'string' },
      'id-token-alg': { type: 'string' },
      dpop: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
  })
}

type Parsed = ReturnType<typeof parse>
type Subcommand = (clients: OAuthClientService, parsed: Parsed, io: CliIo) => Promise<number>

const words = (value: string | undefined) => (value ?? '').split(/[\s,]+/).filter(Boolean)

const SUBCOMMANDS: Record<string, Subcommand> = {
  async create(clients, { values }, io) {
    if (!values.name || !values.scopes) {
      io.stderr(`tollgate clients create: --name and --scopes are required\n${USAGE}`)
      return 2
    }
    if (values.type !== undefined && !(CLIENT_TYPES as readonly string[]).includes(values.type)) {
      io.stderr(`tollgate clients create: --type must be confidential or public\n${USAGE}`)
      return 2
    }
    const { client, clientSecret } = await clients.create({
      name: values.name,
      type: values.type as ClientType | undefined,
      scopes: words(values.scopes),
      grantTypes: values.grants === undefined ? undefined : words(values.grants),
      audience: values.audience,
      redirectUris: words(values['redirect-uris']),
      postLogoutRedirectUris: words(values['post-logout-redirect-uris']),
      firstParty: values['first-party'],
      accessTokenSigningAlg: values.alg,
      idTokenSigningAlg: values['id-token-alg'],
      dpopBoundAccessTokens: values.dpop,
    })
    if (values.json) {
      io.stdout(`${JSON.stringify({ client_id: client.clientId, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }) })}\n`)
      return 0
    }
    const lines = [
      `created ${client.type} client "${client.name}"`,
      `  client_id:     ${client.clientId}`,
      ...(clientSecret === undefined ? [] : [`  client_secret: ${clientSecret}`]),
      `  grants:        ${client.grantTypes.join(' ')}`,
      `  scopes:        ${client.scopes.join(' ')}`,
      `  audience:      ${client.audience ?? '(the default)'}`,
      `  token alg:     ${client.accessTokenSigningAlg ?? '(the default)'}`,
      ...(client.idTokenSigningAlg === null ? [] : [`  ID token alg:  ${client.idTokenSigningAlg}`]),
      ...(client.dpopBoundAccessTokens ? ['  DPoP:          required (every token bound to the key of its proof)'] : []),
      ...(client.redirectUris.length > 0 ? [`  redirect URIs: ${client.redirectUris.join(' ')}`] : []),
      ...(client.postLogoutRedirectUris.length > 0 ? [`  post-logout:   ${client.postLogoutRedirectUris.join(' ')}`] : []),
      ...(client.grantTypes.includes('authorization_code') ? [`  consent:       ${client.firstParty ? 'skipped (first-party)' : 'asked of each user'}`] : []),
      '',
      ...(clientSecret === undefined
        ? ['A public client has no secret: it proves itself with PKCE at the token endpoint.']
        : ['The secret is shown only this once: store it now. tollgate keeps only a keyed hash of it.']),
      '',
    ]
    io.stdout(lines.join('\n'))
    return 0
  },

  async list(clients, { values }, io) {
    const list = await clients.list({ includeDeleted: values.all })
    if (values.json) {
      io.stdout(`${JSON.stringify(list.map(toJson))}\n`)
      return 0
    }
    if (list.length === 0) {
      io.stdout('no clients\n')
      return 0
    }
    const rows = list.map((c) => [
      c.clientId,
      c.name,
      c.type + (c.firstParty ? ' first-party' : ''),
      c.grantTypes.join(' '),
      c.scopes.join(' '),
      c.audience ?? '-',
      c.accessTokenSigningAlg ?? '-',
      c.createdAt.toISOString(),
      c.deletedAt ? `deleted ${c.deletedAt.toISOString()}` : 'active',
    ])
    io.stdout(table([['CLIENT_ID', 'NAME', 'TYPE', 'GRANTS', 'SCOPES', 'AUDIENCE', 'ALG', 'CREATED', 'STATUS'], ...rows]))
    return 0
  },

  async delete(clients, { positionals }, io) {
    const [clientId] = positionals
    if (!clientId || positionals.length > 1) {
      io.stderr(`tollgate clients delete: one CLIENT_ID is required\n${USAGE}`)
      return 2
    }
    if (!(await clients.delete(clientId))) {
      io.stderr(`tollgate clients delete: no client ${clientId}\n`)
      return 1
    }
    io.stdout(`deleted client ${clientId}\n`)
    return 0
  },
}

function toJson(client: OAuthClientView) {
  return {
    client_id: client.clientId,
    name: client.name,
    type: client.type,
    grant_types: client.grantTypes,
    scopes: client.scopes,
    audience: client.audience,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    first_party: client.firstParty,
    access_token_signing_alg: client.accessTokenSigningAlg,
    id_token_signed_response_alg: client.idTokenSigningAlg,
    created_at: client.createdAt.toISOString(),
    deleted_at: client.deletedAt?.toISOString() ?? null,
  }
}
