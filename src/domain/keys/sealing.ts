import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM with the kid as associated data: iv ‖ ciphertext ‖ tag. Binding the kid means a
 * sealed key copied onto another row fails to open instead of signing under the wrong kid.
 */
export function sealPrivateKey(encryptionKey: Buffer, kid: string, plaintext: string): Buffer {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(kid, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()])
}

/** Opens what sealPrivateKey produced; throws when the key, the kid or a byte is wrong. */
export function openPrivateKey(encryptionKey: Buffer, kid: string, sealed: Uint8Array): string {
  const bytes = Buffer.from(sealed)
  if (bytes.length < IV_BYTES + TAG_BYTES + 1) throw new Error(`sealed private key of ${kid} is truncated`)
  const iv = bytes.subarray(0, IV_BYTES)
  const tag = bytes.subarray(bytes.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES })
  decipher.setAAD(Buffer.from(kid, 'utf8'))
  decipher.setAuthTag(tag)
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')
}
