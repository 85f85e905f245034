import type { App } from '../../src/app.js'

/**
 * `tollgate keys rotate` without its wait: the next keys are aged past the propagation delay
 * (as if every instance had loaded them long ago), then promoted.
 */
export async function rotateSigningKeys(app: App) {
  await app.db.prisma.signingKey.updateMany({ where: { status: 'next' }, data: { createdAt: new Date(Date.now() - 3600_000) } })
  return app.signingKeys.maintain({ rotateNow: true })
}
