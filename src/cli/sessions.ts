import { parseArgs } from 'node:util'
import { withAdminService } from './admin.js'
import { processIo, type CliIo } from './context.js'

const USAGE = `usage: tollgate sessions <command>

  revoke --session ID [--json]   revokes one session (as its logout would)
  revoke --user ID [--json]      revokes every live session of the user (signs them out everywhere)

Recorded as a security event naming the operating-system user who ran it.
`

/** `tollgate sessions revoke --user ID | --session ID`. Returns the process exit code. */
export async function sessionsCommand(args: string[], io: CliIo = processIo): Promise<number> {
  const [subcommand, ...rest] = args
  if (subcommand !== 'revoke') {
    io.stderr(USAGE)
    return 2
  }
  let values: { user?: string | undefined; session?: string | undefined; json: boolean }
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      options: { user: { type: 'string' }, session: { type: 'string' }, json: { type: 'boolean', default: false } },
    }).values
  } catch (error) {
    io.stderr(`tollgate sessions revoke: ${(error as Error).message}\n${USAGE}`)
    return 2
  }
  if ((values.user === undefined) === (values.session === undefined)) {
    io.stderr(`tollgate sessions revoke: give exactly one of --user and --session\n${USAGE}`)
    return 2
  }
  return withAdminService('sessions revoke', io, async (admin, actor) => {
    if (values.session !== undefined) {
      await admin.revokeSession(values.session, actor)
      io.stdout(values.json ? `${JSON.stringify({ session: values.session, revoked: true })}\n` : `revoked session ${values.session}\n`)
      return 0
    }
    const revoked = await admin.revokeUserSessions(values.user!, actor)
    io.stdout(values.json ? `${JSON.stringify({ user: values.user, revoked })}\n` : `revoked ${revoked} session(s) of user ${values.user}\n`)
    return 0
  })
}
