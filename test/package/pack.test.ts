// The packages as a user gets them: `npm pack`, installed into a clean project, then used. Slow
// (the server's dependencies are hundreds of megabytes), so .ci/run runs it once, apart from
// `npm test`: `npm run test:package`.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const ROOT = new URL('../../', import.meta.url).pathname
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline']

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

function project(dir: string) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  return dir
}

t.setTimeout(900_000)

const packs = mkdtempSync(join(tmpdir(), 'tollgate-pack-'))
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' })
// dist/ is built above; --ignore-scripts spares a second build by `prepare`.
const verifierTarball = join(packs, npm(['pack', '--ignore-scripts', '--pack-destination', packs, '-w', '@tollgate/verifier'], ROOT).trim().split('\n').at(-1)!)
const serverTarball = join(packs, npm(['pack', '--ignore-scripts', '--pack-destination', packs], ROOT).trim().split('\n').at(-1)!)

t.test('@tollgate/verifier installs alone, with jose as its only dependency, and verifies a token', async (t) => {
  const dir = project(mkdtempSync(join(tmpdir(), 'tollgate-verifier-consumer-')))
  npm([...INSTALL, verifierTarball], dir)
  t.same(readdirSync(join(dir, 'node_modules')).filter((name) => !name.startsWith('.')).sort(), ['@tollgate', 'jose'], 'nothing but jose comes along')

  writeFileSync(
    join(dir, 'verify.mjs'),
    `
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createVerifier, TokenVerificationError } from '@tollgate/verifier'
const { privateKey, publicKey } = await generateKeyPair('EdDSA')
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }
const verifier = createVerifier({ issuer: 'https://auth.example', audience: 'tollgate', keySet: createLocalJWKSet({ keys: [jwk] }) })
const sign = (audience) => new SignJWT({ client_id: 'tollgate-web', scope: 'cart' })
  .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
  .setIssuer('https://auth.example').setAudience(audience).setSubject('user-1').setJti('j1')
  .setIssuedAt().setExpirationTime('5m').sign(privateKey)
const claims = await verifier.verify(await sign('tollgate'))
const refused = await verifier.verify(await sign('another-service')).catch((error) => error)
console.log(JSON.stringify({ sub: claims.sub, refused: refused instanceof TokenVerificationError ? refused.code : String(refused) }))
`,
  )
  const out = execFileSync(process.execPath, ['verify.mjs'], { cwd: dir, encoding: 'utf8' })
  t.same(JSON.parse(out), { sub: 'user-1', refused: 'invalid_audience' })
})

t.test('tollgate installs from its tarball: the CLI answers --help, the service starts, and its tokens verify with tollgate/verifier', async (t) => {
  const dir = project(mkdtempSync(join(tmpdir(), 'tollgate-server-consumer-')))
  // @tollgate/verifier is not on a registry: both tarballs are installed together.
  npm([...INSTALL, verifierTarball, serverTarball], dir)
  const bin = join(dir, 'node_modules/.bin/tollgate')

  const help = execFileSync(bin, ['--help'], { cwd: dir, encoding: 'utf8' })
  t.match(help, /usage: tollgate/)

  const port = await freePort()
  const child = spawn(bin, ['start'], {
    cwd: dir,
    // ISSUER is the address the test reaches it on; the port is fixed before the start for that.
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, COOKIE_SECURE: 'false', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearInterval(poll)
        resolve(match[1]!)
      }
    }, 50)
    child.once('exit', (code) => {
      clearInterval(poll)
      reject(new Error(`tollgate exited with ${code}: ${output}`))
    })
  })

  const credentials = { email: 'packed@example.com', password: 'correct horse battery staple' }
  const post = (path: string) =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials) })
  t.equal((await post('/v1/auth/register')).status, 201)
  const login = await post('/v1/auth/login')
  t.equal(login.status, 200)
  const { access_token: token } = (await login.json()) as { access_token: string }

  writeFileSync(
    join(dir, 'verify.mjs'),
    `
import { createVerifier } from 'tollgate/verifier'
const [issuer, token] = process.argv.slice(2)
const verifier = createVerifier({ issuer, audience: 'tollgate', jwksUrl: issuer + '/.well-known/jwks.json' })
const claims = await verifier.verify(token).catch((error) => ({ error: error.code }))
console.log(JSON.stringify(claims))
verifier.close()
`,
  )
  const claims = JSON.parse(execFileSync(process.execPath, ['verify.mjs', baseUrl, token], { cwd: dir, encoding: 'utf8' })) as { sub?: string; scope?: string }
  t.ok(claims.sub, 'the access token verifies against the running service\'s JWKS')
  t.equal(claims.scope, 'cart')

  child.kill('SIGTERM')
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0, 'exits 0 on SIGTERM')
})
