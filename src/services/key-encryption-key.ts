import { hkdfSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from '../config.js'

const KEY_FILE = 'key-encryption-key'

/**
 * The key-encryption key (KEK): 32 bytes from KEY_ENCRYPTION_KEY, or, outside production, created
 * once under DATA_DIR (mode 0600) with a loud warning. It encrypts the signing keys at rest and
 * is the root of the service's other secrets, each derived for one purpose with HKDF.
 */
export function loadKeyEncryptionKey(
  config: Pick<Config, 'KEY_ENCRYPTION_KEY' | 'DATA_DIR' | 'NODE_ENV'>,
  log: { warn(message: string): void },
): Buffer {
  if (config.KEY_ENCRYPTION_KEY) return decode(config.KEY_ENCRYPTION_KEY)
  if (config.NODE_ENV === 'production') throw new Error('KEY_ENCRYPTION_KEY is required when NODE_ENV=production')
  const dir = resolve(config.DATA_DIR)
  const file = join(dir, KEY_FILE)
  if (existsSync(file)) {
    log.warn(`KEY_ENCRYPTION_KEY is not set: using the development key in ${file}. Set it in production.`)
    return decode(readFileSync(file, 'utf8').trim())
  }
  mkdirSync(dir, { recursive: true })
  const key = randomBytes(32)
  writeFileSync(file, `${key.toString('base64url')}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  log.warn(
    `!!! KEY_ENCRYPTION_KEY is not set: created a development key in ${file}. ` +
      'Anyone who can read that file can decrypt the signing keys. Set KEY_ENCRYPTION_KEY in production. !!!',
  )
  return key
}

function decode(value: string): Buffer {
  const key = Buffer.from(value.replace(/=+$/, ''), 'base64url')
  if (key.length !== 32) throw new Error('KEY_ENCRYPTION_KEY must be 32 bytes, base64url-encoded')
  return key
}

export type SecretPurpose = 'refresh-token-rotation' | 'client-secret-hmac' | 'signing-key-encryption'

/** A 32-byte secret for one purpose, derived from the KEK: no two purposes share key material. */
export function deriveSecret(kek: Buffer, purpose: SecretPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `tollgate ${purpose}`, 32))
}
