import { parseArgs } from 'node:util'
import { publishLeadSeconds, lifecycleSettings } from '../domain/keys/lifecycle.js'
import { createSigningKeyRepository } from '../repositories/signing-keys.js'
import { createKeySealer, KeyDecryptionError } from '../services/key-encryption-key.js'
import { createSigningKeyService, summarizeKeys, type SigningKeySummary } from '../services/signing-keys.js'
import { processIo, withCliContext, type CliIo } from './context.js'

const USAGE = `usage: tollgate keys <command>

  list [--json]   the signing keys: kid, algorithm, status (next, active, retired) and their dates
  rotate          for every algorithm of SIGNING_ALGORITHMS: promote the next key to active, retire the
                  active one, publish a fresh next key. A next key created less than
                  KEY_REFRESH_INTERVAL_SECONDS ago (a rotation just before) is waited for: every
                  instance must have loaded it first
                  (running instances pick the change up within KEY_REFRESH_INTERVAL_SECONDS)
  rewrap          after KEY_ENCRYPTION_KEY changed (the old one in KEY_ENCRYPTION_KEY_PREVIOUS): seal
                  every signing key again under the new key, so the old one can be dropped
`


const date = (value: Date | null) => (value ? value.toISOString() : '-')

function table(keys: SigningKeySummary[]): string {
  const rows = [
    ['KID', 'ALG', 'STATUS', 'CREATED', 'ACTIVATES', 'RETIRED', 'REMOVE AFTER'],
    ...keys.map((key) => [key.kid, key.alg, key.status, date(key.createdAt), date(key.activatesAt), date(key.retiredAt), date(key.removeAfter)]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n'
}

/** `tollgate keys list|rotate`. Returns the process exit code. */
export async function keysCommand(args: string[], io: CliIo = processIo): Promise<number> {
  const [subcommand, ...rest] = args
  if (subcommand !== 'list' && subcommand !== 'rotate' && subcommand !== 'rewrap') {
    io.stderr(USAGE)
    return 2
  }
  let json: boolean
  try {
    json = Boolean(parseArgs({ args: rest, options: { json: { type: 'boolean' } }, strict: true }).values.json)
  } catch (error) {
    io.stderr(`tollgate keys ${subcommand}: ${(error as Error).message}\n${USAGE}`)
    return 2
  }
  return withCliContext(io, async ({ config, db, kek }) => {
    try {
      const repository = createSigningKeyRepository(db.prisma)
      const service = createSigningKeyService({ repository, config, sealer: createKeySealer(kek) })
      if (subcommand === 'rewrap') {
        const { rewrapped, total } = await service.rewrap()
        io.stdout(
          `${rewrapped.length} of ${total} signing key(s) sealed again under KEY_ENCRYPTION_KEY` +
            (kek.previous ? '; KEY_ENCRYPTION_KEY_PREVIOUS is no longer needed for them\n' : '\n'),
        )
        return 0
      }
      if (subcommand === 'rotate') {
        const promoted = (await repository.list()).filter((key) => key.status === 'next')
        await service.rotate({
          onWait: (seconds) =>
            io.stderr(
              `waiting ${seconds}s until every instance has loaded the next key(s) (they reload every ` +
                `KEY_REFRESH_INTERVAL_SECONDS=${config.KEY_REFRESH_INTERVAL_SECONDS}), so that none meets a token it cannot verify\n`,
            ),
        })
        const after = await repository.list()
        for (const alg of config.SIGNING_ALGORITHMS) {
          const active = after.find((key) => key.alg === alg && key.status === 'active')
          const next = after.find((key) => key.alg === alg && key.status === 'next')
          io.stdout(`${alg} active key: ${active?.kid ?? '-'}\n${alg} next key:   ${next?.kid ?? '-'}, activates ${date(next?.activatesAt ?? null)}\n`)
        }
        const lead = publishLeadSeconds(lifecycleSettings(config))
        if (promoted.some((key) => Date.now() - key.createdAt.getTime() < lead * 1000)) {
          io.stderr(
            `note: the promoted key was published less than ${lead}s ago; verifiers holding an older JWKS ` +
              'refetch it when they meet the new kid\n',
          )
        }
      }
      const keys = summarizeKeys(await repository.list(), new Date())
      io.stdout(json ? `${JSON.stringify(keys, null, 2)}\n` : subcommand === 'list' ? table(keys) : '')
      return 0
    } catch (error) {
      if (error instanceof KeyDecryptionError) throw error
      io.stderr(`tollgate keys ${subcommand}: ${(error as Error).message}\n`)
      return 1
    }
  })
}
