import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { rotateSigningKeys } from '../../helpers/keys.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

async function userSession() {
  const user = await t.app.db.prisma.user.create({ data: { email: `lv-${randomUUID()}@example.test`, passwordHash: 'x' } })
  const session = await t.app.db.prisma.session.create({
    data: {
      userId: user.id,
      clientId: 'tollgate-web',
      scope: 'cart',
      idleExpiresAt: new Date(Date.now() + 86_400_000),
      absoluteExpiresAt: new Date(Date.now() + 86_400_000),
    },
  })
  const issued = await t.app.accessTokens.issue({ subject: user.id, clientId: 'tollgate-web', scopes: ['cart'], sessionId: session.id })
  return { user, session, issued, authorization: `Bearer ${issued.token}` }
}

const cart = (authorization: string) => t.app.inject({ url: '/v1/cart/items', headers: { authorization } })

function expectInvalidToken(response: Awaited<ReturnType<typeof cart>>) {
  expect(response.statusCode).toBe(401)
  expect(response.json().code).toBe('invalid_token')
  expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
}

describe("tollgate's own routes verify with the shipped verifier, fed locally", () => {
  it('rejects the access tokens of a revoked session within REVOCATIONS_MAX_AGE_SECONDS', async () => {
    const { session, authorization } = await userSession()
    expect((await cart(authorization)).statusCode).toBe(200)
    await t.app.db.prisma.session.update({ where: { id: session.id }, data: { revokedAt: new Date(), revokedReason: 'logout' } })
    await vi.waitFor(async () => expectInvalidToken(await cart(authorization)), {
      timeout: t.config.REVOCATIONS_MAX_AGE_SECONDS * 1000,
      interval: 100,
    })
  })

  it('rejects an access token revoked through app.revocations on the next request, and only that one', async () => {
    const first = await userSession()
    const second = await userSession()
    await t.app.revocations.revokeAccessToken({
      jti: first.issued.claims.jti,
      sessionId: first.session.id,
      expiresAt: new Date(first.issued.claims.exp * 1000),
    })
    expectInvalidToken(await cart(first.authorization))
    expect((await cart(second.authorization)).statusCode).toBe(200)
  })

  it.each([
    { name: 'a tampered token', mutate: (token: string) => token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA') },
    { name: 'an alg=none token', mutate: (token: string) => `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${token.split('.')[1]}.` },
  ])('answers $name with 401 invalid_token', async ({ mutate }) => {
    const { issued } = await userSession()
    expectInvalidToken(await cart(`Bearer ${mutate(issued.token)}`))
  })

  it('keeps accepting tokens of the previous key after a rotation', async () => {
    const { authorization } = await userSession()
    await rotateSigningKeys(t.app)
    expect((await cart(authorization)).statusCode).toBe(200)
    expect((await cart((await userSession()).authorization)).statusCode).toBe(200)
  })
})
