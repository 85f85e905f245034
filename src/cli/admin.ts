import { userInfo } from 'node:os'
import { Registry } from 'prom-client'
import type { Actor } from '../domain/admin/admin.js'
import { ProblemError } from '../errors.js'
import { createAccountStore } from '../repositories/account-store.js'
import { createAdminService, type AdminService } from '../services/admin.js'
import { createSecurityEvents } from '../services/security-events.js'
import { createRevokeSessions } from '../services/sessions/revoke-sessions.js'
import { withCliContext, type CliIo } from './context.js'

/** The operating-system user who ran the command, as operator events name a CLI actor. */
function cliActor(): Actor {
  let name = 'unknown'
  try {
    name = userInfo().username
  } catch {
    // No passwd entry (a container running as an arbitrary uid): the uid will not say more.
  }
  return { kind: 'cli', id: name }
}

/**
 * Runs an operator command with the admin service the API uses, on the service's database. A
 * running instance refuses the revoked sessions' tokens within its revocation refresh (a second),
 * and other services at their next poll of the feed. ProblemErrors are one line on stderr, exit 1.
 */
export async function withAdminService(
  command: string,
  io: CliIo,
  work: (admin: AdminService, actor: Actor) => Promise<number>,
): Promise<number> {
  return withCliContext(io, async ({ db }) => {
    const clock = () => new Date()
    const store = createAccountStore(db.prisma, db.sql)
    const events = createSecurityEvents({ store, registry: new Registry(), clock })
    const admin = createAdminService({
      store,
      sessions: createRevokeSessions({ store, events, clock }),
      events,
      // No local snapshot of the revocation lists to reload: this process serves no requests.
      revocations: { sessionsRevoked: async () => {} },
      clock,
    })
    try {
      return await work(admin, cliActor())
    } catch (error) {
      if (error instanceof ProblemError) {
        io.stderr(`tollgate ${command}: ${error.detail ?? error.title}\n`)
        return 1
      }
      throw error
    }
  })
}
