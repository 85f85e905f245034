import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/app.js'

describe('openapi.yaml', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('is exactly the document the routes produce (npm run openapi:generate rewrites it)', () => {
    const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')
    expect(committed).toBe(t.app.swagger({ yaml: true }))
  })

  it('is what GET /openapi.json serves', async () => {
    const served = (await t.app.inject('/openapi.json')).json()
    expect(served).toEqual(t.app.swagger())
  })
})
