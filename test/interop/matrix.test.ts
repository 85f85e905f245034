import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { randomBytes, randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import fastifyJwt from '@fastify/jwt'
import express from 'express'
import { expressjwt } from 'express-jwt'
import Fastify from 'fastify'
import buildGetJwks from 'get-jwks'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import jwksRsa from 'jwks-rsa'
import passport from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import t from 'tap'
import { startService } from '../e2e/service.js'

// The interoperability matrix: a tollgate access token of each algorithm, from a live tollgate,
// verified (signature through the JWKS fetched over HTTP, iss, aud, exp) by the JWKS consumers
// other services use. Printed as a table; README keeps it. Every consumer must verify the default
// algorithm (ES256) and RS256, and refuse a token for another audience.

const ROOT = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const AUDIENCE = 'tollgate'
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const
type Alg = (typeof ALGORITHMS)[number]
const serverDatabase = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL

const PYJWT = `
import sys, jwt
jwks_url, token, issuer, audience, alg = sys.argv[1:6]
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
jwt.decode(token, key.key, algorithms=[alg], audience=audience, issuer=issuer, options={"require": ["exp", "iss", "aud"]})
`
const AUTHLIB = `
import sys, json, urllib.request
from authlib.jose import JsonWebKey, JsonWebToken
jwks_url, token, issuer, audience, alg = sys.argv[1:6]
keys = JsonWebKey.import_key_set(json.load(urllib.request.urlopen(jwks_url)))
claims = JsonWebToken([alg]).decode(token, keys, claims_options={
    "iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": audience}, "exp": {"essential": True}})
claims.validate()
`
const CRYPT_JWT = `
use strict; use Crypt::JWT qw(decode_jwt); use HTTP::Tiny;
my ($url, $token, $iss, $aud, $alg) = @ARGV;
my $jwks = HTTP::Tiny->new->get($url)->{content};
decode_jwt(token => $token, kid_keys => $jwks, accepted_alg => $alg, verify_exp => 1,
  verify_iss => sub { $_[0] eq $iss }, verify_aud => sub { $_[0] eq $aud });
`

async function available(command: string, args: string[]): Promise<boolean> {
  try {
    await run(command, args)
    return true
  } catch {
    return false
  }
}

type Verify = (token: string, alg: Alg) => Promise<void>
interface Consumer {
  name: string
  verify: Verify
  /** Why it cannot run here (a Debian package missing), or false. */
  missing: string | false
}

async function consumers(jwksUri: string, baseUrl: string, issuer: string, teardown: (fn: () => unknown) => void): Promise<Consumer[]> {
  const joseKeys = createRemoteJWKSet(new URL(jwksUri))
  const rsaClient = jwksRsa({ jwksUri })

  // @fastify/jwt + get-jwks, the Fastify ecosystem's recipe: a route that verifies the bearer token.
  const getJwks = buildGetJwks({ jwksPath: '/.well-known/jwks.json' })
  const fastify = Fastify()
  await fastify.register(fastifyJwt, {
    decode: { complete: true },
    secret: (_request: unknown, token: { header: { kid?: string; alg: string } }) =>
      getJwks.getPublicKey({ kid: token.header.kid, alg: token.header.alg, domain: baseUrl }),
    verify: { allowedIss: issuer, allowedAud: AUDIENCE },
  } as never)
  for (const alg of ALGORITHMS) {
    fastify.get(`/${alg}`, async (request) => {
      await request.jwtVerify({ algorithms: [alg] } as never)
      return 'ok'
    })
  }
  teardown(() => fastify.close())

  // express-jwt and passport-jwt, both with jwks-rsa's secret providers, on one Express app.
  const app = express()
  for (const alg of ALGORITHMS) {
    app.get(`/express-jwt/${alg}`, expressjwt({ secret: jwksRsa.expressJwtSecret({ jwksUri }) as never, algorithms: [alg as never], issuer, audience: AUDIENCE }), (_req, res) => {
      res.send('ok')
    })
    passport.use(
      `jwt-${alg}`,
      new JwtStrategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          secretOrKeyProvider: jwksRsa.passportJwtSecret({ jwksUri }),
          issuer,
          audience: AUDIENCE,
          algorithms: [alg as never],
        },
        (payload: unknown, done: (error: unknown, user: unknown) => void) => done(null, payload),
      ),
    )
    app.get(`/passport-jwt/${alg}`, passport.authenticate(`jwt-${alg}`, { session: false }), (_req, res) => {
      res.send('ok')
    })
  }
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(401).send(error.message)
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  teardown(() => new Promise((resolve) => server.close(resolve)))
  const expressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const expressRoute = (path: string): Verify => async (token, alg) => {
    const response = await fetch(`${expressUrl}/${path}/${alg}`, { headers: { authorization: `Bearer ${token}` } })
    if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`)
  }
  const script = (command: string, args: string[]): Verify => async (token, alg) => {
    await run(command, [...args, jwksUri, token, issuer, AUDIENCE, alg])
  }

  const python = existsSync(PYTHON)
  return [
    {
      name: 'jose (createRemoteJWKSet + jwtVerify)',
      missing: false,
      verify: async (token, alg) => void (await jwtVerify(token, joseKeys, { issuer, audience: AUDIENCE, algorithms: [alg] })),
    },
    {
      name: 'jwks-rsa + jsonwebtoken',
      missing: false,
      verify: async (token, alg) => {
        const key = await rsaClient.getSigningKey(decodeProtectedHeader(token).kid)
        jsonwebtoken.verify(token, key.getPublicKey(), { algorithms: [alg as jsonwebtoken.Algorithm], issuer, audience: AUDIENCE })
      },
    },
    {
      name: '@fastify/jwt + get-jwks',
      missing: false,
      verify: async (token, alg) => {
        const response = await fastify.inject({ url: `/${alg}`, headers: { authorization: `Bearer ${token}` } })
        if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`)
      },
    },
    { name: 'express-jwt (+ jwks-rsa)', missing: false, verify: expressRoute('express-jwt') },
    { name: 'passport-jwt (+ jwks-rsa)', missing: false, verify: expressRoute('passport-jwt') },
    {
      name: 'PyJWT (python3-jwt)',
      missing: python && (await available(PYTHON, ['-c', 'import jwt, cryptography'])) ? false : 'apt-get install python3-jwt python3-cryptography',
      verify: script(PYTHON, ['-c', PYJWT]),
    },
    {
      name: 'Authlib (python3-authlib)',
      missing: python && (await available(PYTHON, ['-c', 'import authlib.jose'])) ? false : 'apt-get install python3-authlib',
      verify: script(PYTHON, ['-c', AUTHLIB]),
    },
    {
      name: 'Perl Crypt::JWT (libcrypt-jwt-perl)',
      missing: (await available('perl', ['-MCrypt::JWT', '-e', '1'])) ? false : 'apt-get install libcrypt-jwt-perl',
      verify: script('perl', ['-e', CRYPT_JWT]),
    },
  ]
}

t.test(
  'interoperability matrix: tollgate access tokens of each algorithm, verified by common JWKS consumers',
  {
    skip: serverDatabase ? false : 'needs a PostgreSQL server (DATABASE_URL or TEST_DATABASE_URL): `tollgate clients create` must reach the service’s database',
  },
  async (t) => {
    const kek = randomBytes(32).toString('base64url')
    const env = { KEY_ENCRYPTION_KEY: kek, SIGNING_ALGORITHMS: 'ES256,RS256,EdDSA' }
    const service = await startService(env)
    t.teardown(() => service.kill())
    const api = (path: string, init: RequestInit = {}) => fetch(`${service.baseUrl}${path}`, init)
    const { issuer } = (await (await api('/.well-known/oauth-authorization-server')).json()) as { issuer: string }
    const jwksUri = `${service.baseUrl}/.well-known/jwks.json`

    async function clientToken(args: string[]): Promise<string> {
      const { stdout } = await run(process.execPath, [`${ROOT}dist/cli.js`, 'clients', 'create', '--name', 'interop', '--scopes', 'reports', ...args, '--json'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: service.databaseUrl!, ...env },
      })
      const { client_id: id, client_secret: secret } = JSON.parse(stdout) as { client_id: string; client_secret: string }
      const response = await api('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
        body: 'grant_type=client_credentials',
      })
      return ((await response.json()) as { access_token: string }).access_token
    }

    // The default: a first-party login's token. The others: clients registered for an algorithm.
    const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const email = `interop-${randomUUID()}@example.test`
    const password = 'correct horse battery staple'
    t.equal((await api('/v1/auth/register', json({ email, password }))).status, 201)
    const login = (await (await api('/v1/auth/login', json({ email, password }))).json()) as { access_token: string }
    const tokens: Record<Alg, string> = {
      ES256: login.access_token,
      RS256: await clientToken(['--audience', AUDIENCE, '--alg', 'RS256']),
      EdDSA: await clientToken(['--audience', AUDIENCE, '--alg', 'EdDSA']),
    }
    for (const alg of ALGORITHMS) t.equal(decodeProtectedHeader(tokens[alg]).alg, alg, `the ${alg} token is signed with ${alg}`)
    const elsewhere = await clientToken(['--audience', 'another-service'])

    const results: Array<{ name: string; cells: Record<Alg, string> }> = []
    for (const consumer of await consumers(jwksUri, service.baseUrl, issuer, (fn) => t.teardown(fn))) {
      if (consumer.missing) {
        t.comment(`${consumer.name}: not run here (${consumer.missing})`)
        if (process.env.CI) t.fail(`${consumer.name} is missing in CI: ${consumer.missing}`)
        continue
      }
      const cells = {} as Record<Alg, string>
      for (const alg of ALGORITHMS) {
        cells[alg] = await consumer.verify(tokens[alg], alg).then(
          () => 'verifies',
          (error: Error) => `fails (${error.message.split('\n')[0]!.slice(0, 60)})`,
        )
      }
      results.push({ name: consumer.name, cells })
      t.equal(cells.ES256, 'verifies', `${consumer.name} verifies the default (ES256) token`)
      t.equal(cells.RS256, 'verifies', `${consumer.name} verifies an RS256 token`)
      await t.rejects(consumer.verify(elsewhere, 'ES256'), `${consumer.name} refuses a token for another audience`)
    }

    t.comment(
      ['', '| verifier | ES256 (default) | RS256 | EdDSA |', '|---|---|---|---|', ...results.map(({ name, cells }) => `| ${name} | ${cells.ES256} | ${cells.RS256} | ${cells.EdDSA} |`)].join('\n'),
    )
    await service.stop()
  },
)
