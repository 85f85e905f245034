import { createHmac, timingSafeEqual } from 'node:crypto'

/** A nonce is good for the step it was made in and the next: 60 to 120 seconds. */
export const DPOP_NONCE_STEP_SECONDS = 60

const stepOf = (now: Date) => Math.floor(now.getTime() / 1000 / DPOP_NONCE_STEP_SECONDS)

function mac(secret: Buffer, step: number): Buffer {
  return createHmac('sha256', secret).update(`dpop-nonce ${step}`).digest().subarray(0, 16)
}

/**
 * RFC 9449 §8 server nonces without server state: the time step and its MAC under a secret every
 * instance derives alike, so a nonce one instance hands out is accepted by all of them.
 */
export function makeDpopNonce(secret: Buffer, now: Date): string {
  const step = stepOf(now)
  return `${step.toString(36)}.${mac(secret, step).toString('base64url')}`
}

/** True for a nonce made with one of `secrets` in the current step or the one before. */
export function isCurrentDpopNonce(nonce: string, secrets: readonly Buffer[], now: Date): boolean {
  const match = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/.exec(nonce)
  if (!match) return false
  const step = Number.parseInt(match[1]!, 36)
  const current = stepOf(now)
  if (step !== current && step !== current - 1) return false
  const given = Buffer.from(match[2]!, 'base64url')
  return secrets.some((secret) => timingSafeEqual(given, mac(secret, step)))
}
