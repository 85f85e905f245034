import { hkdfSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from '../config.js'
import { openPrivateKey, sealPrivateKey } from '../domain/keys/sealing.js'

const KEY_FILE = 'key-encryption-key'

/**
 * The key-encryption keys (KEK): `current` (KEY_ENCRYPTION_KEY) seals and opens; `previous`
 * (KEY_ENCRYPTION_KEY_PREVIOUS, set only while the KEK is being rotated) opens what was sealed
 * before the rotation, until `tollgate keys rewrap` has sealed it again under `current`.
 */
export interface KeyEncryptionKeys {
  current: Buffer
  previous: Buffer | undefined
}

/**
 * The KEK: 32 bytes from KEY_ENCRYPTION_KEY, or, outside production, created once under DATA_DIR
 * (mode 0600) with a loud warning. It encrypts the signing keys at rest and is the root of the
 * service's other secrets, each derived for one purpose with HKDF.
 */
export function loadKeyEncryptionKeys(
  config: Pick<Config, 'KEY_ENCRYPTION_KEY' | 'KEY_ENCRYPTION_KEY_PREVIOUS' | 'DATA_DIR' | 'NODE_ENV'>,
  log: { warn(message: string): void },
): KeyEncryptionKeys {
  const previous = config.KEY_ENCRYPTION_KEY_PREVIOUS ? decode(config.KEY_ENCRYPTION_KEY_PREVIOUS) : undefined
  if (config.KEY_ENCRYPTION_KEY) return { current: decode(config.KEY_ENCRYPTION_KEY), previous }
  if (config.NODE_ENV === 'production') throw new Error('KEY_ENCRYPTION_KEY is required when NODE_ENV=production')
  const dir = resolve(config.DATA_DIR)
  const file = join(dir, KEY_FILE)
  if (existsSync(file)) {
    log.warn(`KEY_ENCRYPTION_KEY is not set: using the development key in ${file}. Set it in production.`)
    return { current: decode(readFileSync(file, 'utf8').trim()), previous }
  }
  mkdirSync(dir, { recursive: true })
  const key = randomBytes(32)
  writeFileSync(file, `${key.toString('base64url')}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  log.warn(
    `!!! KEY_ENCRYPTION_KEY is not set: created a development key in ${file}. ` +
      'Anyone who can read that file can decrypt the signing keys. Set KEY_ENCRYPTION_KEY in production. !!!',
  )
  return { current: key, previous }
}

function decode(value: string): Buffer {
  const key = Buffer.from(value.replace(/=+$/, ''), 'base64url')
  if (key.length !== 32) throw new Error('KEY_ENCRYPTION_KEY must be 32 bytes, base64url-encoded')
  return key
}

export type SecretPurpose = 'refresh-token-rotation' | 'client-secret-hmac' | 'signing-key-encryption' | 'sign-in-cookie' | 'page-state' | 'dpop-nonce'

/** A 32-byte secret for one purpose, derived from the KEK: no two purposes share key material. */
export function deriveSecret(kek: Buffer, purpose: SecretPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `tollgate ${purpose}`, 32))
}

/**
 * The secret for one purpose under each KEK, the current one's first: create with the first,
 * accept any (during a rotation, what was made under the previous KEK still verifies).
 */
export function deriveSecrets(keys: KeyEncryptionKeys, purpose: SecretPurpose): Buffer[] {
  return [keys.current, ...(keys.previous ? [keys.previous] : [])].map((kek) => deriveSecret(kek, purpose))
}

export class KeyDecryptionError extends Error {
  constructor(kid: string) {
    super(
      `Cannot decrypt signing key ${kid}: KEY_ENCRYPTION_KEY is not the key it was encrypted with. ` +
        'Every instance and the CLI must share one KEY_ENCRYPTION_KEY. If you changed it on purpose, set ' +
        'KEY_ENCRYPTION_KEY_PREVIOUS to the old key, start, and run `tollgate keys rewrap`; otherwise restore the old key.',
    )
    this.name = 'KeyDecryptionError'
  }
}

/** Seals private signing keys under the current KEK, and opens them under the current or the previous one. */
export function createKeySealer(keys: KeyEncryptionKeys) {
  const [current, previous] = deriveSecrets(keys, 'signing-key-encryption') as [Buffer, Buffer | undefined]
  return {
    seal: (kid: string, plaintext: string): Buffer => sealPrivateKey(current, kid, plaintext),
    /** The plaintext, and whether it was sealed under the previous KEK (so a rewrap would seal it again). */
    open(kid: string, sealed: Uint8Array): { plaintext: string; sealedUnderPrevious: boolean } {
      try {
        return { plaintext: openPrivateKey(current, kid, sealed), sealedUnderPrevious: false }
      } catch {
        if (!previous) throw new KeyDecryptionError(kid)
      }
      try {
        return { plaintext: openPrivateKey(previous, kid, sealed), sealedUnderPrevious: true }
      } catch {
        throw new KeyDecryptionError(kid)
      }
    },
  }
}

export type KeySealer = ReturnType<typeof createKeySealer>
