import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ENVIRONMENT } from '../../../src/config.js'

// No container engine runs in CI: these check what can be checked without one.
const ROOT = new URL('../../../', import.meta.url)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const compose = parse(readFileSync(new URL('compose.yaml', ROOT), 'utf8'), { merge: true }) as Record<string, any>
const dockerfile = readFileSync(new URL('Dockerfile', ROOT), 'utf8')

describe('compose.yaml', () => {
  it('runs three replicas behind nginx with PostgreSQL and Redis', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'nginx', 'postgres', 'redis', 'tollgate'])
    expect(compose.services.tollgate.deploy.replicas).toBe(3)
    expect(compose.services.tollgate.depends_on.migrate.condition).toBe('service_completed_successfully')
  })

  it('nginx runs the configuration the cluster suite runs, and every mounted file exists', () => {
    const mounts = (compose.services.nginx.volumes as string[]).map((volume) => volume.split(':'))
    expect(mounts).toContainEqual(['./deploy/nginx/tollgate.conf', '/etc/nginx/conf.d/default.conf', 'ro'])
    for (const [source] of mounts) expect(existsSync(new URL(source!, ROOT)), source).toBe(true)
    for (const include of ['servers.conf', 'listen.conf']) expect(existsSync(new URL(`deploy/compose/nginx/${include}`, ROOT))).toBe(true)
  })

  it('sets only variables tollgate reads, the same for every replica and the migration', () => {
    const known = new Set(Object.keys(ENVIRONMENT))
    for (const service of ['tollgate', 'migrate']) {
      expect(Object.keys(compose.services[service].environment).filter((name) => !known.has(name))).toEqual([])
    }
    expect(compose.services.tollgate.environment).toMatchObject(compose.services.migrate.environment)
  })
})

describe('Dockerfile', () => {
  it('ships the production install, runs as a non-root user under tini, with a health check', () => {
    expect(dockerfile).toMatch(/^ && sh deploy\/production-install\.sh \/src \/app$/m)
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK /m)
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m)
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/server\.js"\]$/m)
  })
})
