import { parseArgs } from 'node:util'
import type { Actor } from '../domain/admin/admin.js'
import type { AdminService, AdminUser, UserDetails } from '../services/admin.js'
import { USERS_PAGE_DEFAULT, USERS_PAGE_MAX } from '../routes/admin/schemas.js'
import { withAdminService } from './admin.js'
import { processIo, table, type CliIo } from './context.js'

const USAGE = `usage: tollgate users <command>

  find [--email TEXT] [--id ID] [--limit N] [--cursor C] [--json]
                             users whose email contains TEXT, or with ID, in creation order (--cursor: the next page)
  show ID [--json]           the user, their live sessions and latest security events
  disable ID [--reason TEXT] [--json]
                             the user can no longer log in, refresh or authorize; every session is revoked
  enable ID [--json]         the user can log in again
  erase ID --yes [--json]    deletes the account and everything of it (only session ids and an audit event stay)

Every command is recorded as a security event naming the operating-system user who ran it.
`

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      email: { type: 'string' },
      id: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      reason: { type: 'string' },
      yes: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
}

type Parsed = ReturnType<typeof parse>

const status = (user: AdminUser) => (user.disabledAt ? `disabled ${user.disabledAt}` : 'active')

function userLine(verb: string, user: AdminUser): string {
  return `${verb} user ${user.id} (${user.email}): ${status(user)}\n`
}

function showText(details: UserDetails): string {
  const { user, sessions, events } = details
  const lines = [
    `user      ${user.id}`,
    `email     ${user.email}`,
    `name      ${user.name ?? '-'}`,
    `created   ${user.createdAt}`,
    `status    ${status(user)}`,
    '',
    sessions.length === 0
      ? 'no live sessions\n'
      : table([
          ['SESSION', 'CLIENT', 'CREATED', 'LAST USED', 'IP', 'FLAGGED', 'DEVICE'],
          ...sessions.map((s) => [s.id, s.clientId, s.createdAt, s.lastUsedAt, s.ip ?? '-', s.flagged ? 'yes' : 'no', s.userAgent ?? '-']),
        ]),
    events.length === 0
      ? 'no security events\n'
      : table([
          ['AT', 'EVENT', 'REASON', 'ACTOR', 'IP', 'SESSION'],
          ...events.map((e) => [e.at, e.type, e.reason ?? '-', e.actor ? `${e.actor.kind}:${e.actor.id}` : '-', e.ip ?? '-', e.sessionId ?? '-']),
        ]),
  ]
  return lines.join('\n')
}

/** `tollgate users find|show|disable|enable|erase`. Returns the process exit code. */
export async function usersCommand(args: string[], io: CliIo = processIo): Promise<number> {
  const [subcommand, ...rest] = args
  let parsed: Parsed
  try {
    parsed = parse(rest)
  } catch (error) {
    io.stderr(`tollgate users ${subcommand ?? ''}: ${(error as Error).message}\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const usage = (message: string) => {
    io.stderr(`tollgate users ${subcommand}: ${message}\n${USAGE}`)
    return 2
  }
  const json = (value: unknown) => io.stdout(`${JSON.stringify(value)}\n`)

  if (subcommand === 'find') {
    if (positionals.length > 0) return usage('takes no positional arguments')
    const limit = values.limit === undefined ? USERS_PAGE_DEFAULT : Number(values.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > USERS_PAGE_MAX) return usage(`--limit must be a whole number from 1 to ${USERS_PAGE_MAX}`)
    return withAdminService('users find', io, async (admin, actor) => {
      const page = await admin.findUsers({ email: values.email, id: values.id, cursor: values.cursor, limit }, actor)
      if (values.json) json(page)
      else if (page.users.length === 0) io.stdout('no users\n')
      else {
        io.stdout(table([['ID', 'EMAIL', 'NAME', 'CREATED', 'STATUS'], ...page.users.map((u) => [u.id, u.email, u.name ?? '-', u.createdAt, status(u)])]))
        if (page.nextCursor) io.stdout(`more: tollgate users find ... --cursor ${page.nextCursor}\n`)
      }
      return 0
    })
  }

  const action = subcommand ? ACTIONS[subcommand] : undefined
  if (!action) {
    io.stderr(USAGE)
    return 2
  }
  const [userId] = positionals
  if (!userId || positionals.length > 1) return usage('one user ID is required')
  if (subcommand === 'erase' && !values.yes) return usage(`erasing cannot be undone: add --yes to erase ${userId}`)
  return withAdminService(`users ${subcommand}`, io, (admin, actor) => action({ admin, actor, userId, values, io, json }))
}

type Action = (input: {
  admin: AdminService
  actor: Actor
  userId: string
  values: Parsed['values']
  io: CliIo
  json: (value: unknown) => void
}) => Promise<number>

const ACTIONS: Record<string, Action> = {
  async show({ admin, actor, userId, values, io, json }) {
    const details = await admin.showUser(userId, actor)
    if (values.json) json(details)
    else io.stdout(showText(details))
    return 0
  },
  async disable({ admin, actor, userId, values, io, json }) {
    const user = await admin.disableUser(userId, actor, values.reason)
    if (values.json) json(user)
    else io.stdout(userLine('disabled', user))
    return 0
  },
  async enable({ admin, actor, userId, values, io, json }) {
    const user = await admin.enableUser(userId, actor)
    if (values.json) json(user)
    else io.stdout(userLine('enabled', user))
    return 0
  },
  async erase({ admin, actor, userId, values, io, json }) {
    await admin.eraseUser(userId, actor)
    if (values.json) json({ erased: userId })
    else io.stdout(`erased user ${userId}\n`)
    return 0
  },
}
