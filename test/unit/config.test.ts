import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError, ENVIRONMENT, loadConfig } from '../../src/config.js'

describe('loadConfig', () => {
  it('runs with no environment at all, on the embedded database', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      ISSUER: 'http://localhost:3000',
      DATA_DIR: './.data',
      SIGNING_ALGORITHMS: ['ES256', 'RS256'],
      ACCESS_TOKEN_TTL_SECONDS: 600,
      REFRESH_GRACE_SECONDS: 10,
      DEFAULT_SCOPES: ['cart'],
      embeddedDatabase: true,
    })
  })

  it('converts numbers, booleans and lists', () => {
    const config = loadConfig({ PORT: '4000', COOKIE_SECURE: 'false', ALLOWED_ORIGINS: 'https://a.example, https://b.example' })
    expect(config.PORT).toBe(4000)
    expect(config.COOKIE_SECURE).toBe(false)
    expect(config.ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example'])
    expect(config.ISSUER).toBe('http://localhost:4000')
  })

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['SIGNING_ALG', { SIGNING_ALG: 'HS256' }],
    ['SIGNING_ALG', { SIGNING_ALG: 'EdDSA', SIGNING_ALGORITHMS: 'ES256,EdDSA' }],
    ['SIGNING_ALGORITHMS', { SIGNING_ALGORITHMS: 'HS256' }],
    ['SIGNING_ALGORITHMS', { SIGNING_ALGORITHMS: 'ES256,none' }],
    ['SIGNING_ALGORITHMS', { SIGNING_ALGORITHMS: 'ES256,ES256' }],
    ['SIGNING_ALG_BY_AUDIENCE', { SIGNING_ALG_BY_AUDIENCE: 'orders' }],
    ['SIGNING_ALG_BY_AUDIENCE', { SIGNING_ALG_BY_AUDIENCE: 'orders=HS256' }],
    ['SIGNING_ALG_BY_AUDIENCE', { SIGNING_ALG_BY_AUDIENCE: 'orders=EdDSA' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['COOKIE_SECURE', { COOKIE_SECURE: 'maybe' }],
    ['REQUEST_TIMEOUT_SECONDS', { REQUEST_TIMEOUT_SECONDS: '0' }],
    ['ARGON2_MEMORY_KIB', { ARGON2_MEMORY_KIB: '1024' }],
    ['KEY_ENCRYPTION_KEY', { KEY_ENCRYPTION_KEY: 'too-short' }],
    ['SESSION_BINDING', { SESSION_BINDING: 'sometimes' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes please' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.1, proxy.internal' }],
    ['TRUST_PROXY', { TRUST_PROXY: '-1' }],
    ['SESSION_IDLE_TTL_SECONDS', { SESSION_IDLE_TTL_SECONDS: '100', SESSION_ABSOLUTE_TTL_SECONDS: '50' }],
    ['DATABASE_URL', { NODE_ENV: 'production', KEY_ENCRYPTION_KEY: 'a'.repeat(43), ISSUER: 'https://auth.example' }],
    ['KEY_ENCRYPTION_KEY', { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/tollgate', ISSUER: 'https://auth.example' }],
    ['ISSUER', { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/tollgate', KEY_ENCRYPTION_KEY: 'a'.repeat(43) }],
    ['KEY_ENCRYPTION_KEY_PREVIOUS', { KEY_ENCRYPTION_KEY_PREVIOUS: 'a'.repeat(43) }],
    ['METRICS_PORT', { METRICS_PORT: '-1' }],
    // Admin scopes are for clients only: a first-party (user) token never carries them.
    ['DEFAULT_SCOPES', { DEFAULT_SCOPES: 'cart admin:write' }],
    ['DATABASE_QUERY_TIMEOUT_MS', { DATABASE_QUERY_TIMEOUT_MS: '0' }],
    ['DATABASE_STATEMENT_TIMEOUT_MS', { DATABASE_STATEMENT_TIMEOUT_MS: '3000' }],
    ['DATABASE_STATEMENT_TIMEOUT_MS', { DATABASE_STATEMENT_TIMEOUT_MS: '900', DATABASE_QUERY_TIMEOUT_MS: '800' }],
    ['REFRESH_TIMEOUT_MS', { REFRESH_TIMEOUT_MS: '5001' }],
    ['REFRESH_TIMEOUT_MS', { REFRESH_GRACE_SECONDS: '4', REFRESH_TIMEOUT_MS: '3000' }],
  ])('names %s when it is bad or missing', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    try {
      loadConfig(env)
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable)
      expect((error as ConfigError).message).toContain(variable)
    }
  })

  it.each([
    [{}, ['ES256', 'RS256']],
    [{ SIGNING_ALGORITHMS: 'RS256' }, ['RS256']],
    [{ SIGNING_ALGORITHMS: 'EdDSA, ES256 RS256' }, ['EdDSA', 'ES256', 'RS256']],
    // The deprecated single-algorithm variable keeps working: that algorithm first, the defaults beside it.
    [{ SIGNING_ALG: 'EdDSA' }, ['EdDSA', 'ES256', 'RS256']],
    [{ SIGNING_ALG: 'RS256' }, ['RS256', 'ES256']],
    [{ SIGNING_ALG: 'ES256', SIGNING_ALGORITHMS: 'ES256,EdDSA' }, ['ES256', 'EdDSA']],
  ])('reads the signing algorithms of %j as %j, the default first', (env, algorithms) => {
    const config = loadConfig(env)
    expect(config.SIGNING_ALGORITHMS).toEqual(algorithms)
    expect(config).not.toHaveProperty('SIGNING_ALG')
  })

  it('names every bad variable at once, with what each accepts', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'eighty', SIGNING_ALG: 'HS256', LOG_LEVEL: 'loud', COOKIE_SECURE: 'maybe', KEY_ENCRYPTION_KEY: 'secret-typo' })
      } catch (caught) {
        return caught as ConfigError
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect(error!.problems.map((problem) => problem.variable).sort()).toEqual(['COOKIE_SECURE', 'KEY_ENCRYPTION_KEY', 'LOG_LEVEL', 'PORT', 'SIGNING_ALG'])
    expect(error!.message).toContain('SIGNING_ALG must be one of: ES256, RS256, EdDSA (got "HS256")')
    expect(error!.message).toContain('LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent')
    expect(error!.message).toContain('PORT must be a whole number >= 0 and <= 65535 (got "eighty")')
    expect(error!.message).toContain('openssl rand -base64 32')
    // A mistyped key may be close to a real one: never echoed.
    expect(error!.message).not.toContain('secret-typo')
  })

  it('in production: the metrics listener on 127.0.0.1:9464 and no API reference, unless configured', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/tollgate', KEY_ENCRYPTION_KEY: 'a'.repeat(43), ISSUER: 'https://auth.example/' }
    expect(loadConfig(production)).toMatchObject({ METRICS_PORT: 9464, METRICS_HOST: '127.0.0.1', API_DOCS: false, ISSUER: 'https://auth.example', HOST: '0.0.0.0' })
    expect(loadConfig({ ...production, METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0', API_DOCS: 'true' })).toMatchObject({
      METRICS_PORT: 9100,
      METRICS_HOST: '0.0.0.0',
      API_DOCS: true,
    })
    const development = loadConfig({})
    expect(development.METRICS_PORT).toBeUndefined()
    expect(development.API_DOCS).toBe(true)
    expect(loadConfig({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464)
  })

  it.each([
    [{}, 5000],
    [{ REFRESH_GRACE_SECONDS: '30' }, 5000],
    [{ REFRESH_GRACE_SECONDS: '2' }, 1000],
    [{ REFRESH_GRACE_SECONDS: '0' }, 5000],
    [{ REFRESH_GRACE_SECONDS: '10', REFRESH_TIMEOUT_MS: '2500' }, 2500],
  ])('bounds a refresh at most half the grace window (%j: %i ms)', (env, expected) => {
    expect(loadConfig(env).REFRESH_TIMEOUT_MS).toBe(expected)
  })

  it.each([
    ['false', false],
    ['true', true],
    ['0', false],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, fd00::/8 loopback', ['10.0.0.0/8', 'fd00::/8', 'loopback']],
  ])('reads TRUST_PROXY=%s as a flag, a hop count or a list of proxies', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).TRUST_PROXY).toEqual(expected)
  })

  it('treats empty values as unset, as .env files write them', () => {
    expect(loadConfig({ DATABASE_URL: '', HOST: '' }).embeddedDatabase).toBe(true)
  })
})

describe('.env.example', () => {
  it('lists every variable the service reads, and no other', () => {
    const listed = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => line.split('=')[0])
    expect(listed.sort()).toEqual(Object.keys(ENVIRONMENT).sort())
  })

  it('gives each variable its real default', () => {
    const defaults = loadConfig({})
    const lines = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').split('\n')
    for (const line of lines.filter((l) => /^[A-Z0-9_]+=./.test(l))) {
      const [name, value] = line.split(/=(.*)/) as [keyof typeof defaults, string]
      expect(String(defaults[name]).replace(/,/g, ' '), name).toBe(value.replace(/,/g, ' '))
    }
  })
})
