import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import t from 'tap'
import { startService } from './service.js'

// Debian's interpreter: a pyenv `python3` earlier on PATH lacks the system's python3-jwt.
const PYTHON = '/usr/bin/python3'
const run = promisify(execFile)

/** Fetches the JWKS over HTTP with PyJWT's own client and verifies the token, printing its claims. */
const VERIFY = `
import json, sys, jwt
jwks_url, token, issuer, audience = sys.argv[1:5]
signing_key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, signing_key.key, algorithms=["EdDSA", "ES256", "RS256"], audience=audience, issuer=issuer,
                    options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
header = jwt.get_unverified_header(token)
print(json.dumps({"claims": claims, "header": header, "version": jwt.__version__}))
`

async function pythonReady(): Promise<string | false> {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`
  try {
    await run(PYTHON, ['-c', 'import jwt, cryptography'])
    return false
  } catch {
    return `${PYTHON} lacks PyJWT or cryptography (apt-get install -y python3-jwt python3-cryptography)`
  }
}

const missing = await pythonReady()

t.test('a tollgate access token verifies with PyJWT, the JWKS fetched over HTTP', { skip: missing }, async (t) => {
  const service = await startService()
  t.teardown(() => service.kill())
  const post = (path: string, body: unknown) =>
    fetch(`${service.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  const { issuer, jwks_uri: advertised } = (await (await fetch(`${service.baseUrl}/.well-known/oauth-authorization-server`)).json()) as {
    issuer: string
    jwks_uri: string
  }
  t.match(advertised, /\/\.well-known\/jwks\.json$/)
  const email = `py-${randomUUID()}@example.test`
  const password = 'correct horse battery staple'
  t.equal((await post('/v1/auth/register', { email, password })).status, 201)
  const { access_token: token } = (await (await post('/v1/auth/login', { email, password })).json()) as { access_token: string }

  const { stdout } = await run(PYTHON, ['-c', VERIFY, `${service.baseUrl}/.well-known/jwks.json`, token, issuer, 'tollgate'])
  const { claims, header } = JSON.parse(stdout) as { claims: Record<string, unknown>; header: Record<string, unknown> }
  t.match(header, { alg: 'ES256', typ: 'at+jwt', kid: String })
  t.match(claims, { iss: issuer, aud: 'tollgate', client_id: 'tollgate-web', scope: 'cart', sub: String, sid: String, jti: String })

  const tampered = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`
  await t.rejects(run(PYTHON, ['-c', VERIFY, `${service.baseUrl}/.well-known/jwks.json`, tampered, issuer, 'tollgate']), 'PyJWT rejects a forged signature')
  await service.stop()
})
