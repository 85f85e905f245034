import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import * as oauth from 'oauth4webapi'
import t from 'tap'
import { startExample } from '../e2e/example.js'
import { startService } from '../e2e/service.js'
import { freePort, signInOverHttp } from '../integration/oidc/over-http.js'

// DPoP interop (RFC 9449): oauth4webapi 3, not tollgate's code, is the client. It signs every
// proof with its own key (oauth.DPoP over oauth.generateKeyPair) against the built tollgate over
// real HTTP, with server nonces required (it retries on use_dpop_nonce as isDPoPNonceError says):
// client_credentials, then a public client's authorization code + PKCE and refresh rotation, all
// bound; then each token at the example microservice (examples/microservice, the verifier's
// Fastify plugin) through protectedResourceRequest with a proof, and refused there as Bearer.

const ROOT = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)
const serverDatabase = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
const insecure = { [oauth.allowInsecureRequests]: true }

t.test(
  'oauth4webapi gets DPoP-bound tokens from tollgate and uses them at the example microservice',
  {
    skip: serverDatabase
      ? false
      : 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL): `tollgate clients create` must reach the running service’s database',
  },
  async (t) => {
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    const kek = randomBytes(32).toString('base64url')
    const tollgate = await startService({ PORT: String(port), ISSUER: issuer, KEY_ENCRYPTION_KEY: kek, DPOP_NONCE_REQUIRED: 'true' })
    t.teardown(() => tollgate.kill())
    const clients = async (...args: string[]) => {
      const { stdout } = await run(process.execPath, [`${ROOT}dist/cli.js`, 'clients', 'create', ...args, '--json'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: tollgate.databaseUrl!, KEY_ENCRYPTION_KEY: kek, ISSUER: issuer },
      })
      return JSON.parse(stdout) as { client_id: string; client_secret?: string }
    }
    const example = await startExample({ TOLLGATE_ISSUER: issuer, JWKS_URL: `${issuer}/.well-known/jwks.json`, REVOCATIONS_URL: `${issuer}/v1/revocations` })
    t.teardown(() => void example.child.kill('SIGKILL'))

    const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }))
    t.ok(as.dpop_signing_alg_values_supported?.includes('ES256'), 'the metadata lists dpop_signing_alg_values_supported')

    let nonceRetries = 0
    /** RFC 9449 §8: a server that requires nonces answers use_dpop_nonce once; the DPoP handle has kept the nonce, so retry once. */
    async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<T> {
      try {
        return await attempt()
      } catch (error) {
        if (!oauth.isDPoPNonceError(error)) throw error
        nonceRetries++
        return attempt()
      }
    }

    const whoami = new URL(`${example.baseUrl}/whoami`)
    /** The example, called as oauth4webapi calls a protected resource: DPoP with a proof when given a handle, else Bearer. */
    async function atExample(accessToken: string, DPoP?: oauth.DPoPHandle): Promise<{ status: number; body?: unknown; challenge?: oauth.WWWAuthenticateChallenge }> {
      try {
        const response = await oauth.protectedResourceRequest(accessToken, 'GET', whoami, undefined, undefined, { ...insecure, ...(DPoP ? { DPoP } : {}) })
        return { status: response.status, body: await response.json() }
      } catch (error) {
        if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error
        return { status: error.response.status, challenge: error.cause[0]! }
      }
    }

    await t.test('client_credentials with DPoP', async (t) => {
      const registered = await clients('--name', 'dpop service', '--scopes', 'orders:read')
      const client: oauth.Client = { client_id: registered.client_id }
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
      const tokens = await withNonceRetry(async () =>
        oauth.processClientCredentialsResponse(
          as,
          client,
          await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(registered.client_secret!), { scope: 'orders:read' }, { DPoP, ...insecure }),
        ),
      )
      t.equal(tokens.token_type, 'dpop', 'the token is DPoP-bound')
      t.equal(nonceRetries, 1, 'after one use_dpop_nonce answer, which oauth4webapi recognised')

      const accepted = await atExample(tokens.access_token, DPoP)
      t.equal(accepted.status, 200, 'the example accepts it with oauth4webapi’s proof')
      t.match(accepted.body, { clientId: registered.client_id, scopes: ['orders:read'], scheme: 'dpop' })
      const again = await atExample(tokens.access_token, DPoP)
      t.equal(again.status, 200, 'and again with a fresh proof')
      const stolen = await atExample(tokens.access_token)
      t.equal(stolen.status, 401, 'the same token as Bearer is refused')
      t.match(stolen.challenge, { scheme: 'dpop', parameters: { error: 'invalid_token' } }, 'with a DPoP challenge')
    })

    await t.test('authorization code + PKCE and refresh with DPoP (a public client)', async (t) => {
      const redirectUri = 'http://127.0.0.1:8082/callback'
      const registered = await clients('--name', 'dpop spa', '--type', 'public', '--scopes', 'openid offline_access cart', '--redirect-uris', redirectUri, '--first-party')
      const client: oauth.Client = { client_id: registered.client_id }
      const clientAuth = oauth.None()
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
      const retriesBefore = nonceRetries

      const user = { email: `dpop-${randomUUID()}@example.test`, password: 'correct horse battery staple' }
      const registeredUser = await fetch(`${issuer}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) })
      t.equal(registeredUser.status, 201)

      const verifier = oauth.generateRandomCodeVerifier()
      const state = oauth.generateRandomState()
      const authorizationUrl = new URL(as.authorization_endpoint!)
      authorizationUrl.search = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: redirectUri,
        scope: 'offline_access cart',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      }).toString()
      const callback = await signInOverHttp(issuer, authorizationUrl, user)
      const params = oauth.validateAuthResponse(as, client, callback, state)

      const tokens = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, { DPoP, ...insecure })),
      )
      t.equal(tokens.token_type, 'dpop', 'the code redeems for DPoP-bound tokens')
      t.ok(tokens.refresh_token, 'with a refresh token')
      t.equal(nonceRetries, retriesBefore + 1, 'the code survived the use_dpop_nonce round (the proof is checked before the code is spent)')

      const accepted = await atExample(tokens.access_token, DPoP)
      t.equal(accepted.status, 200, 'the example accepts the user’s token with its proof')
      t.match(accepted.body, { subject: /^[0-9a-f-]{36}$/, clientId: registered.client_id, scheme: 'dpop' })

      // A thief with the refresh token but not the key: the rotation is refused.
      const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
      const stolen = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, { DPoP: thief, ...insecure })),
      ).catch((error: unknown) => error)
      t.match(stolen, { error: 'invalid_grant' }, 'a refresh with another key’s proof is invalid_grant')

      const refreshed = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, { DPoP, ...insecure })),
      )
      t.equal(refreshed.token_type, 'dpop', 'the refresh with the key’s proof rotates, still bound')
      t.not(refreshed.refresh_token, tokens.refresh_token)
      t.equal((await atExample(refreshed.access_token, DPoP)).status, 200, 'the example accepts the refreshed token with its proof')
      const asBearer = await atExample(refreshed.access_token)
      t.equal(asBearer.status, 401, 'and refuses it as Bearer')
      t.match(asBearer.challenge, { scheme: 'dpop', parameters: { error: 'invalid_token' } })
      const otherKey = await atExample(refreshed.access_token, thief)
      t.equal(otherKey.status, 401, 'and refuses it with a proof from another key')
    })

    example.child.kill('SIGTERM')
    await tollgate.stop()
  },
)
