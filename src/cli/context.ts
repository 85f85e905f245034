import { loadConfig, type Config } from '../config.js'
import { openDatabase, type Database } from '../db/database.js'
import { loadKeyEncryptionKey } from '../services/key-encryption-key.js'

/** Where a CLI command reads its environment and writes its output: the process, or a test. */
export interface CliIo {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
}

export const processIo: CliIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}

export interface CliContext {
  config: Config
  db: Database
  /** The key-encryption key, for deriving the secrets a command needs. */
  kek: Buffer
}

/** EX_CONFIG, as the server exits on a bad configuration. */
export const EXIT_CONFIG = 78

/**
 * Runs a command against the service's database with the service's configuration, as the server
 * would see them, and closes the database afterwards. A bad configuration is exit code 78.
 */
export async function withCliContext(io: CliIo, work: (context: CliContext) => Promise<number>): Promise<number> {
  let config: Config
  try {
    config = loadConfig(io.env)
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`)
    return EXIT_CONFIG
  }
  const log = { info: () => {}, warn: (message: string) => io.stderr(`${message}\n`) }
  const db = await openDatabase({ config, log })
  try {
    return await work({ config, db, kek: loadKeyEncryptionKey(config, log) })
  } finally {
    await db.close()
  }
}
