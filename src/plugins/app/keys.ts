import fp from 'fastify-plugin'
import type { KeyProvider } from '../../domain/keys/key-provider.js'
import { createOAuthClientsRepository } from '../../repositories/oauth-clients.js'
import { createRevocationRepository, watchRevocations } from '../../repositories/revocations.js'
import { createSigningKeyRepository } from '../../repositories/signing-keys.js'
import {
  createAccessTokenIssuer,
  createLocalAccessTokenVerifier,
  type AccessTokenIssuer,
  type AccessTokenVerifier,
} from '../../services/access-tokens.js'
import { createClientSigningAlgLookup } from '../../services/oauth/clients.js'
import { createDiscoveryService, type DiscoveryService } from '../../services/discovery.js'
import { createKeySealer, deriveSecrets, loadKeyEncryptionKeys, type SecretPurpose } from '../../services/key-encryption-key.js'
import { createRevocationFeed, type RevocationFeed } from '../../services/revocation-feed.js'
import {
  createLocalRevocationSource,
  createRevocationPurge,
  createRevocationService,
  type RevocationService,
} from '../../services/revocations.js'
import { createSigningKeyService, type SigningKeyService } from '../../services/signing-keys.js'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyProvider
    /** The rotating signing keys behind `keys`: lifecycle, listing, the served JWKS. */
    signingKeys: SigningKeyService
    accessTokens: AccessTokenIssuer
    accessTokenVerifier: AccessTokenVerifier
    /** Revoked sessions and access tokens: the source of GET /v1/revocations. */
    revocations: RevocationService
    /** The signed revocations feed served at GET /v1/revocations. */
    revocationFeed: RevocationFeed
    /** RFC 8414 metadata served at /.well-known/oauth-authorization-server. */
    discovery: DiscoveryService
    /** A secret for one purpose, derived from the key-encryption key. */
    secret(purpose: SecretPurpose): Buffer
    /** The same under the current and, during a key-encryption-key rotation, the previous key: verify with any. */
    secrets(purpose: SecretPurpose): Buffer[]
  }
}

/** How stale tollgate's own view of the revocation lists may get (never more than the feed's max-age). */
const LOCAL_REVOCATIONS_REFRESH_MS = 1000

/**
 * Signing keys from the database (created on first start, rotated on schedule by whichever
 * instance takes the lock, reloaded by every instance each KEY_REFRESH_INTERVAL_SECONDS), and
 * the access-token issuer, verifier and revocation services built on them.
 */
export default fp(
  async (app) => {
    const { config } = app
    const kek = loadKeyEncryptionKeys(config, app.log)
    app.decorate('secret', (purpose: SecretPurpose) => deriveSecrets(kek, purpose)[0]!)
    app.decorate('secrets', (purpose: SecretPurpose) => deriveSecrets(kek, purpose))

    const signingKeys = createSigningKeyService({
      repository: createSigningKeyRepository(app.db.prisma),
      config,
      sealer: createKeySealer(kek),
      log: app.log,
    })
    await signingKeys.start()
    app.addHook('onClose', async () => signingKeys.stop())
    const keys = signingKeys.provider
    app.decorate('keys', keys)
    app.decorate('signingKeys', signingKeys)

    const revocationRepository = createRevocationRepository(app.db.prisma)
    // The snapshot reloads after each revocation this instance records, so it applies at once here.
    const localRevocations = createLocalRevocationSource({
      revocations: { feed: () => revocations.feed() },
      repository: revocationRepository,
      refreshMs: Math.min(LOCAL_REVOCATIONS_REFRESH_MS, config.REVOCATIONS_MAX_AGE_SECONDS * 1000),
      config,
      // A database outage is logged once, by the outage monitor; anything else here.
      onError: (error) => app.databaseHealth.report(error, 'background') || app.log.warn({ err: error }, 'reloading the revocation lists failed; keeping the last ones'),
    })
    const revocations = createRevocationService({
      repository: revocationRepository,
      config,
      afterRevoke: () => localRevocations.refresh(),
    })
    app.decorate('revocations', revocations)
    await localRevocations.start()
    app.addHook('onClose', async () => localRevocations.close())
    // Revocations committed by other instances wake this one's snapshot at once (LISTEN/NOTIFY),
    // instead of at its next reload: their access tokens are refused here within milliseconds.
    const reloadFailed = (error: unknown) =>
      app.databaseHealth.report(error, 'background') || app.log.warn({ err: error }, 'reloading the revocation lists failed; keeping the last ones')
    const watcher = await watchRevocations({
      url: app.db.url,
      prisma: app.db.prisma,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      onChange: () => void localRevocations.refresh().catch(reloadFailed),
      onError: (error) => app.databaseHealth.report(error, 'background') || app.log.warn({ err: error }, 'listening for revocations failed; retrying'),
    })
    app.addHook('onClose', async () => watcher.close())
    if (config.PURGE_INTERVAL_SECONDS > 0) {
      const purge = createRevocationPurge({ repository: revocationRepository, config })
      const timer = setInterval(() => {
        purge
          .purgeExpired()
          .catch((error: unknown) => app.databaseHealth.report(error, 'background') || app.log.warn({ err: error }, 'purging expired revoked access tokens failed'))
      }, config.PURGE_INTERVAL_SECONDS * 1000)
      timer.unref()
      app.addHook('onClose', async () => clearInterval(timer))
    }
    app.decorate('revocationFeed', createRevocationFeed({ revocations, snapshot: localRevocations, keys, config }))

    app.decorate('discovery', createDiscoveryService({ config }))
    // Its own small cache of clients: the OAuth client service is built later, on top of sessions.
    const clientSigningAlg = createClientSigningAlgLookup({
      clients: createOAuthClientsRepository(app.db.prisma),
      firstPartyClientId: config.FIRST_PARTY_CLIENT_ID,
      cacheSeconds: config.OAUTH_CLIENT_CACHE_SECONDS,
      clock: () => app.clock(),
    })
    app.decorate('accessTokens', createAccessTokenIssuer({ keys, config, clientSigningAlg }))
    const verifier = createLocalAccessTokenVerifier({
      keys,
      config,
      revocations: localRevocations,
    })
    app.addHook('onClose', async () => verifier.close())
    app.decorate('accessTokenVerifier', verifier)
  },
  { name: 'keys', dependencies: ['database'] },
)
