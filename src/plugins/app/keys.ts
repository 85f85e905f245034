import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { createEphemeralKeyProvider } from '../../domain/keys/ephemeral-key-provider.js'
import type { KeyProvider } from '../../domain/keys/key-provider.js'
import { deriveSecret, loadKeyEncryptionKey, type SecretPurpose } from '../../services/key-encryption-key.js'
import {
  createAccessTokenIssuer,
  createLocalAccessTokenVerifier,
  type AccessTokenIssuer,
  type AccessTokenVerifier,
} from '../../services/access-tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyProvider
    accessTokens: AccessTokenIssuer
    accessTokenVerifier: AccessTokenVerifier
    /** A secret for one purpose, derived from the key-encryption key. */
    secret(purpose: SecretPurpose): Buffer
  }
}

/** Signing keys and the access-token issuer and verifier built on them. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const kek = loadKeyEncryptionKey(config, app.log)
    app.decorate('secret', (purpose: SecretPurpose) => deriveSecret(kek, purpose))
    const keys = await createEphemeralKeyProvider(config.SIGNING_ALG)
    app.decorate('keys', keys)
    app.decorate('accessTokens', createAccessTokenIssuer({ keys, config }))
    app.decorate('accessTokenVerifier', createLocalAccessTokenVerifier({ keys, config }))
  },
  { name: 'keys', dependencies: ['database'] },
)
