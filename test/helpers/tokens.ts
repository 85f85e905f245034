import { randomUUID } from 'node:crypto'
import type { App } from '../../src/app.js'

/**
 * A user row and an access token for it, minted directly through the app's issuer: for tests of
 * protected routes that are not about logging in. Tests of login itself go through the API.
 */
export async function userWithAccessToken(app: App, options: { scopes?: string[]; email?: string } = {}) {
  const user = await app.db.prisma.user.create({
    data: { email: options.email ?? `user-${randomUUID()}@example.test`, passwordHash: 'not-a-real-hash' },
  })
  const issued = await app.accessTokens.issue({
    subject: user.id,
    clientId: 'tollgate-web',
    scopes: options.scopes ?? ['cart'],
    sessionId: randomUUID(),
  })
  return { user, token: issued.token, authorization: `Bearer ${issued.token}` }
}
