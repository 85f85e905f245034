import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keysCommand } from '../../../src/cli/keys.js'
import { PROPAGATION_MARGIN_SECONDS } from '../../../src/domain/keys/lifecycle.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = ''
  let stderr = ''
  const code = await keysCommand(args, {
    env: { NODE_ENV: 'test', SIGNING_ALGORITHMS: 'ES256', KEY_REFRESH_INTERVAL_SECONDS: '1', DATABASE_URL: t.config.DATABASE_URL!, KEY_ENCRYPTION_KEY: t.config.KEY_ENCRYPTION_KEY!, ...env },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  })
  return { code, stdout, stderr }
}

describe('tollgate keys', () => {
  it('list shows every key with its kid, algorithm, status and dates', async () => {
    const { code, stdout } = await run(['list'])
    expect(code).toBe(0)
    const [header, ...rows] = stdout.trim().split('\n')
    expect(header).toMatch(/^KID\s+ALG\s+STATUS\s+CREATED\s+ACTIVATES\s+RETIRED\s+REMOVE AFTER$/)
    const keys = await t.app.signingKeys.list()
    expect(rows).toHaveLength(keys.length)
    for (const key of keys) {
      const row = rows.find((line) => line.startsWith(key.kid))!
      expect(row).toContain(key.status)
      expect(row).toContain(key.alg)
      expect(row).toContain(key.activatesAt.toISOString())
    }
  })

  it('list --json prints the same as JSON, without key material', async () => {
    const { code, stdout } = await run(['list', '--json'])
    expect(code).toBe(0)
    const keys = JSON.parse(stdout) as Array<Record<string, unknown>>
    expect(keys.map((key) => key.status).sort()).toEqual(['active', 'next'])
    for (const key of keys) expect(Object.keys(key).sort()).toEqual(['activatesAt', 'alg', 'createdAt', 'kid', 'published', 'removeAfter', 'retiredAt', 'status'])
  })

  it('rotate promotes the next key; running instances pick it up on their next refresh', async () => {
    const next = (await t.app.signingKeys.list()).find((key) => key.status === 'next')!
    const { code, stdout } = await run(['rotate'])
    expect(code).toBe(0)
    expect(stdout).toContain(`active key: ${next.kid}`)
    await t.app.signingKeys.reload()
    expect(t.app.signingKeys.activeKid()).toBe(next.kid)
    const statuses = (await t.app.signingKeys.list()).map((key) => key.status).sort()
    expect(statuses).toEqual(['active', 'next', 'retired'])
  })

  it('rotate right after a rotation waits until every instance has loaded the new next key', async () => {
    const next = (await t.app.signingKeys.list()).find((key) => key.status === 'next')!
    const started = Date.now()
    const { code, stdout, stderr } = await run(['rotate'])
    expect(code).toBe(0)
    expect(stderr).toMatch(/^waiting \d+s until every instance has loaded the next key/)
    expect(Date.now()).toBeGreaterThanOrEqual(next.createdAt.getTime() + (1 + PROPAGATION_MARGIN_SECONDS) * 1000)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(stdout).toContain(`active key: ${next.kid}`)
  })

  it('rotate refuses to add keys under a key-encryption key the service cannot use', async () => {
    const before = await t.app.signingKeys.list()
    const { code, stderr } = await run(['rotate'], { KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') })
    expect(code).toBe(78)
    expect(stderr).toContain('KEY_ENCRYPTION_KEY')
    expect(await t.app.signingKeys.list()).toEqual(before)
  })

  it.each([[[]], [['frobnicate']], [['list', '--nope']]])('answers usage errors with exit code 2: %j', async (args) => {
    const { code, stderr } = await run(args)
    expect(code).toBe(2)
    expect(stderr).toContain('usage: tollgate keys')
  })
})
