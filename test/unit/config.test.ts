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
      SIGNING_ALG: 'EdDSA',
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
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['COOKIE_SECURE', { COOKIE_SECURE: 'maybe' }],
    ['REQUEST_TIMEOUT_SECONDS', { REQUEST_TIMEOUT_SECONDS: '0' }],
    ['ARGON2_MEMORY_KIB', { ARGON2_MEMORY_KIB: '1024' }],
    ['KEY_ENCRYPTION_KEY', { KEY_ENCRYPTION_KEY: 'too-short' }],
    ['SESSION_BINDING', { SESSION_BINDING: 'sometimes' }],
    ['SESSION_IDLE_TTL_SECONDS', { SESSION_IDLE_TTL_SECONDS: '100', SESSION_ABSOLUTE_TTL_SECONDS: '50' }],
    ['DATABASE_URL', { NODE_ENV: 'production', KEY_ENCRYPTION_KEY: 'a'.repeat(43) }],
    ['KEY_ENCRYPTION_KEY', { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/tollgate' }],
  ])('names %s when it is bad or missing', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    try {
      loadConfig(env)
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable)
      expect((error as ConfigError).message).toContain(variable)
    }
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
      const [name, value] = line.split(/=(.*)/) as [keyof typeof ENVIRONMENT, string]
      expect(String(defaults[name]).replace(/,/g, ' '), name).toBe(value.replace(/,/g, ' '))
    }
  })
})
