import { EXIT_CONFIG, loadConfig, type Config } from '../config.js'
import { openDatabase, type Database } from '../db/database.js'
import { KeyDecryptionError, loadKeyEncryptionKeys, type KeyEncryptionKeys } from '../services/key-encryption-key.js'

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
  /** The key-encryption keys, for deriving the secrets a command needs. */
  kek: KeyEncryptionKeys
}

/**
 * Runs a command against the service's database with the service's configuration, as the server
 * would see them, and closes the database afterwards. A bad configuration, or a key-encryption key
 * that cannot open the signing keys, is exit code 78.
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
  const db = await openDatabase({ config, log, joinRunningEmbedded: true })
  try {
    return await work({ config, db, kek: loadKeyEncryptionKeys(config, log) })
  } catch (error) {
    if (!(error instanceof KeyDecryptionError)) throw error
    io.stderr(`${error.message}\n`)
    return EXIT_CONFIG
  } finally {
    await db.close()
  }
}

/** Rows as aligned columns (the first row is the header), for the commands' human output. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n'
}
