#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { clientsCommand } from './cli/clients.js'
import { keysCommand } from './cli/keys.js'
import { sessionsCommand } from './cli/sessions.js'
import { usersCommand } from './cli/users.js'
import { openDatabase } from './db/database.js'
import { EmbeddedDatabaseInUseError } from './db/embedded-postgres.js'
import { migrate, MigrationError } from './db/migrations.js'
import { EXIT_CONFIG } from './config.js'
import { KeyDecryptionError } from './services/key-encryption-key.js'
import { configOrExit, exitOnConfigError, loadDotEnv, startServer } from './server.js'

const USAGE = `usage: tollgate [command]

  start                      run the service (the default)
  migrate                    apply pending database migrations and exit
  keys list|rotate           show the signing keys, or rotate now
  clients create|list|delete manage OAuth clients (client_credentials)
  users find|show|disable|enable|erase
                             operator controls over accounts (as the /admin/v1 API)
  sessions revoke --user ID|--session ID
                             sign a user out everywhere, or end one session
  help                       this text

Configuration comes from the environment, and from ./.env when it exists (see .env.example).
`

/** The `tollgate` command. Subcommands beyond start and migrate register in COMMANDS. */
export const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  async start() {
    await startServer(configOrExit()).catch((error: unknown) => {
      exitOnConfigError(error)
      throw error
    })
    return -1 // keep running
  },
  async migrate() {
    const config = configOrExit()
    const db = await openDatabase({ config: { ...config, MIGRATE_ON_START: false } })
    try {
      const result = await migrate(db.url, { log: (message) => console.log(message) })
      console.log(result.applied.length ? `applied ${result.applied.length} migration(s)` : 'database is up to date')
      return 0
    } finally {
      await db.close()
    }
  },
  keys: keysCommand,
  clients: clientsCommand,
  users: usersCommand,
  sessions: sessionsCommand,
}

export async function runCli(argv: string[]): Promise<number> {
  const [command = 'start', ...args] = argv
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE)
    return 0
  }
  const run = COMMANDS[command]
  if (!run) {
    process.stderr.write(USAGE)
    return 2
  }
  return run(args)
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  loadDotEnv()
  try {
    const code = await runCli(process.argv.slice(2))
    if (code >= 0) process.exit(code)
  } catch (error) {
    // Expected failures (a locked embedded database, a migration that cannot apply) are one line.
    const known = error instanceof EmbeddedDatabaseInUseError || error instanceof MigrationError
    console.error(known || error instanceof KeyDecryptionError ? (error as Error).message : error)
    process.exit(error instanceof KeyDecryptionError ? EXIT_CONFIG : 1)
  }
}
